"""Recommendation models behind one interface (see :mod:`nextbuy.models.base`)."""

from nextbuy.models.base import Recommender
from nextbuy.models.capabilities import Explains
from nextbuy.models.registry import available, create, get

__all__ = ["Explains", "Recommender", "available", "create", "get"]
