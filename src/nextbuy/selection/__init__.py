"""Model selection (``--model auto``): families and settings searched on validation."""

from nextbuy.selection.auto import Selection, select
from nextbuy.selection.budget import parse_budget

__all__ = ["Selection", "parse_budget", "select"]
