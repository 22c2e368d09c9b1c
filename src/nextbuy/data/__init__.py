"""Data: readers, ID maps, interactions, splits, catalog and the synthetic shop."""

from nextbuy.data.ids import IdMap
from nextbuy.data.interactions import Interactions

__all__ = ["IdMap", "Interactions"]
