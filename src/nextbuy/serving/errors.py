"""Errors the service raises for callers to act on; ``app`` maps each to its HTTP status."""

from __future__ import annotations


class UnknownItemError(LookupError):
    """The item ID is not in the served model (404); the message says so in a sentence."""

    def __init__(self, item_id: str) -> None:
        super().__init__(
            f"unknown item {item_id!r}: it is not in the catalog of the model being served"
        )


class NoSimilarityError(LookupError):
    """The served model has neither item vectors nor an item-item similarity (404)."""

    def __init__(self, model: str) -> None:
        super().__init__(f"model {model!r} has no item similarity; serve als, bpr, mf, ease or knn")


class NotReadyError(RuntimeError):
    """No model is loaded yet (503)."""


class StoreUnavailableError(RuntimeError):
    """The event store is off or unreachable; the message says what to do (503)."""


class ReloadError(RuntimeError):
    """A reload failed and the previous version keeps serving; the message names both (409)."""
