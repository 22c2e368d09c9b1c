"""Item catalog: read, validate and align product metadata with an item IdMap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nextbuy.data.columns import id_column, missing_column_message, row_error, text_column
from nextbuy.data.ids import IdMap
from nextbuy.data.readers import read_plain_table
from nextbuy.errors import DataError

#: Descriptive fields every answer carries for an item (null when the catalog lacks them); the
#: one definition that serving, the CLI and the event store's item rows build on.
ITEM_FIELDS = ("name", "brand", "category", "price")
#: Canonical catalog columns, in order; any other columns are kept after them.
CATALOG_COLUMNS = ("item_id", *ITEM_FIELDS, "in_stock")

_TEXT_COLUMNS = ("name", "brand", "category")
_TRUE = ("true", "1", "1.0", "yes", "y", "t")
_FALSE = ("false", "0", "0.0", "no", "n", "f")


def read_catalog(path: str | Path, format: str | None = None) -> pd.DataFrame:
    """Read a catalog file (csv, tsv, parquet, jsonl); only ``item_id`` is required.

    Missing text columns become ``""``, ``price`` NaN and ``in_stock`` True; see
    :func:`normalize_catalog` for the checks.
    """
    path = Path(path)
    raw = read_plain_table(path, format, string_columns=("item_id", *_TEXT_COLUMNS))
    return normalize_catalog(raw, source=str(path))


def normalize_catalog(frame: pd.DataFrame, source: str = "catalog") -> pd.DataFrame:
    """Validate a catalog frame and return it in canonical form.

    ``item_id`` must be present, non-empty and unique (the duplicate's data row is named);
    ``price`` must be numeric (blank is NaN); ``in_stock`` accepts true/false, 1/0, yes/no
    (blank is True). Extra columns are kept after the canonical ones.
    """
    if "item_id" not in frame.columns:
        raise DataError(missing_column_message(source, "item_id", frame.columns))
    ids = id_column(frame["item_id"], source, "item_id")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((ids == ids.iat[pos]).to_numpy())[0])
        raise DataError(
            f"{source}: column 'item_id', data row {pos + 1}: duplicate item {ids.iat[pos]!r} "
            f"(first seen at data row {first + 1}); expected one row per item"
        )
    n = len(frame)
    out = pd.DataFrame({"item_id": ids})
    for col in _TEXT_COLUMNS:
        out[col] = (
            text_column(frame[col]) if col in frame.columns else pd.Series([""] * n, dtype="str")
        )
    out["price"] = _price(frame["price"], source) if "price" in frame.columns else np.nan
    out["price"] = out["price"].astype(np.float64)
    out["in_stock"] = (
        _in_stock(frame["in_stock"], source) if "in_stock" in frame.columns else np.ones(n, bool)
    )
    for col in frame.columns:
        if col not in CATALOG_COLUMNS:
            out[col] = frame[col].reset_index(drop=True)
    return out


def empty_catalog(item_ids: np.ndarray | pd.Series | list[str]) -> pd.DataFrame:
    """A catalog with only defaults for the given IDs (name, brand, category empty)."""
    ids = pd.Series(np.asarray(item_ids, dtype=object), dtype="str")
    n = len(ids)
    blank = pd.Series([""] * n, dtype="str")
    return pd.DataFrame(
        {
            "item_id": ids,
            "name": blank,
            "brand": blank.copy(),
            "category": blank.copy(),
            "price": np.full(n, np.nan),
            "in_stock": np.ones(n, dtype=bool),
        }
    )


def align_catalog(catalog: pd.DataFrame | None, item_map: IdMap) -> pd.DataFrame:
    """One row per item of ``item_map`` in index order, so row ``i`` describes item ``i``.

    Items the catalog does not know get defaults (empty text, NaN price, in stock); catalog
    rows for items outside the map are dropped.
    """
    ids = item_map.ids
    if catalog is None:
        return empty_catalog(ids)
    if "item_id" not in catalog.columns:
        raise DataError(missing_column_message("catalog", "item_id", catalog.columns))
    cat = catalog.drop_duplicates("item_id", keep="first")
    keys = pd.Index(cat["item_id"].astype("str"))
    pos = keys.get_indexer(pd.Index(ids.astype(str)))
    known = pos >= 0
    take = np.where(known, pos, 0)
    out = empty_catalog(ids)
    if len(cat) == 0:
        extra = [c for c in cat.columns if c not in CATALOG_COLUMNS]
        for col in extra:
            out[col] = pd.Series([None] * len(ids), dtype=object)
        return out
    for col in cat.columns:
        if col == "item_id":
            continue
        values = cat[col].to_numpy()[take]
        if col in _TEXT_COLUMNS:
            out[col] = pd.Series(np.where(known, values, ""), dtype="str").fillna("")
        elif col == "price":
            price = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(np.float64)
            out[col] = np.where(known, price, np.nan)
        elif col == "in_stock":
            out[col] = np.where(known, values.astype(bool), True)
        else:  # keep the column's dtype (e.g. nullable Int64 years); unknown items get NA
            series = cat[col].reset_index(drop=True).take(take).reset_index(drop=True)
            out[col] = series if known.all() else series.where(pd.Series(known))
    return out


def _price(series: pd.Series, source: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    text = series.astype("str").str.strip()
    vals = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    blank = (text.isna() | (text == "")).to_numpy(dtype=bool)
    bad = np.isnan(vals) & ~blank
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise row_error(source, "price", pos, "a number (or an empty cell)", series.iat[pos])
    return vals


def _in_stock(series: pd.Series, source: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.fillna(True).to_numpy(dtype=bool)
    text = series.astype("str").str.strip().str.lower().fillna("")
    is_true = text.isin(_TRUE).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE).to_numpy(dtype=bool)
    blank = text.isin(("", "nan")).to_numpy(dtype=bool)
    bad = ~(is_true | is_false | blank)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise row_error(source, "in_stock", pos, "true/false, 1/0 or yes/no", series.iat[pos])
    return ~is_false
