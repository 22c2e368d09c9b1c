"""Data: readers, ID maps, interactions, splits, catalog and the synthetic shop."""

from nextbuy.data.catalog import CATALOG_COLUMNS, align_catalog, read_catalog
from nextbuy.data.columns import DEFAULT_EVENT_WEIGHTS, ColumnMap
from nextbuy.data.dataset import Dataset
from nextbuy.data.describe import describe
from nextbuy.data.fetch import MOVIELENS, fetch_movielens
from nextbuy.data.filters import filter_min_counts
from nextbuy.data.ids import IdMap
from nextbuy.data.interactions import Interactions
from nextbuy.data.movielens import read_movielens
from nextbuy.data.retail import read_retail
from nextbuy.data.sources import read_interactions, read_table
from nextbuy.data.split import (
    split,
    split_by_user,
    split_leave_last,
    split_random,
    split_temporal,
)
from nextbuy.data.synthetic import Shop, generate_shop, write_shop

__all__ = [
    "CATALOG_COLUMNS",
    "DEFAULT_EVENT_WEIGHTS",
    "MOVIELENS",
    "ColumnMap",
    "Dataset",
    "IdMap",
    "Interactions",
    "Shop",
    "align_catalog",
    "describe",
    "fetch_movielens",
    "filter_min_counts",
    "generate_shop",
    "read_catalog",
    "read_interactions",
    "read_movielens",
    "read_retail",
    "read_table",
    "split",
    "split_by_user",
    "split_leave_last",
    "split_random",
    "split_temporal",
    "write_shop",
]
