"""NextBuy: product recommendations from interaction exports, trained in one command and served fast."""

__version__ = "0.1.0"
