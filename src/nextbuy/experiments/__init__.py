"""A/B tests: experiment definitions, sticky assignment, attribution and per-variant statistics.

The SQL lives in :mod:`nextbuy.store.experiments`; this package holds the logic.
"""
