"""Catalog filters as precomputed integer codes and masks, so a request never loops over items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

_TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "in stock", "in_stock", "available"})


def match_key(value: str) -> str:
    """Matching key of a category or brand: case and surrounding spaces do not matter."""
    return value.strip().casefold()


def _codes(catalog: pd.DataFrame, column: str, n_items: int) -> tuple[np.ndarray, dict[str, int]]:
    """Integer code per item (-1 where unknown) and the key -> code lookup of one column."""
    if column not in catalog.columns:
        return np.full(n_items, -1, dtype=np.int32), {}
    keys = catalog[column].astype("string").str.strip().str.casefold()
    codes, uniques = pd.factorize(keys, use_na_sentinel=True)
    return codes.astype(np.int32), {str(u): i for i, u in enumerate(uniques)}


def _stock(catalog: pd.DataFrame, n_items: int) -> np.ndarray | None:
    """In-stock flag per item; unknown stock counts as in stock (None: no stock column)."""
    if "in_stock" not in catalog.columns:
        return None
    col = catalog["in_stock"]
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
        return np.where(np.isnan(values), True, values != 0)
    text = col.astype("string").str.strip().str.casefold()
    known = text.notna().to_numpy()
    yes = text.isin(_TRUE_WORDS).fillna(False).to_numpy(dtype=bool)
    return np.where(known, yes, True)


@dataclass(frozen=True)
class CatalogFilters:
    """Category and brand codes plus the stock mask, built once per loaded model."""

    n_items: int
    category_codes: np.ndarray
    category_lookup: dict[str, int]
    brand_codes: np.ndarray
    brand_lookup: dict[str, int]
    in_stock: np.ndarray | None

    @classmethod
    def from_catalog(cls, catalog: pd.DataFrame | None, n_items: int) -> CatalogFilters:
        """Index a catalog with one row per item in index order (None: no catalog)."""
        if catalog is None or len(catalog) != n_items:
            catalog = pd.DataFrame(index=range(n_items))
        cat_codes, cat_lookup = _codes(catalog, "category", n_items)
        brand_codes, brand_lookup = _codes(catalog, "brand", n_items)
        stock = _stock(catalog, n_items)
        return cls(n_items, cat_codes, cat_lookup, brand_codes, brand_lookup, stock)

    def allowed(
        self,
        categories: Sequence[str] | None = None,
        brands: Sequence[str] | None = None,
        in_stock_only: bool = False,
    ) -> np.ndarray | None:
        """Boolean mask of the items that pass every filter; None when nothing restricts."""
        mask: np.ndarray | None = None
        for values, codes, lookup in (
            (categories, self.category_codes, self.category_lookup),
            (brands, self.brand_codes, self.brand_lookup),
        ):
            if not values:  # None or [] means no restriction
                continue
            part = _any_of(
                codes, [lookup[k] for k in {match_key(v) for v in values} if k in lookup]
            )
            mask = part if mask is None else mask & part
        if in_stock_only and self.in_stock is not None:
            mask = self.in_stock if mask is None else mask & self.in_stock
        return mask


def _any_of(codes: np.ndarray, wanted: list[int]) -> np.ndarray:
    """Mask of items whose code is one of ``wanted`` (all False when ``wanted`` is empty)."""
    if not wanted:
        return np.zeros(len(codes), dtype=bool)
    if len(wanted) == 1:
        return codes == wanted[0]
    return np.isin(codes, np.asarray(wanted, dtype=np.int32))
