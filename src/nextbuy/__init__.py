"""NextBuy: product recommendations from interaction exports, trained and served fast."""

__version__ = "0.1.0"
