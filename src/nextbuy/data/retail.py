"""Transaction logs in the UCI Online Retail layout, netted into implicit (customer, product) data.

Rules, in order:

1. Column names of Online Retail II are accepted too (Invoice, Price, Customer ID).
2. Rows without a CustomerID are dropped (anonymous sales cannot be personalized);
   IDs such as ``17850.0`` (a float column in Excel exports) become ``"17850"``.
3. Non-product lines are dropped: postage, fees, discounts, manual adjustments and
   samples (StockCode in :data:`NON_PRODUCT_CODES`).
4. Cancellations are netted: an invoice starting with ``C`` always subtracts its quantity
   (it is negative in the source); other negative quantities (corrections) subtract too.
   Quantities are summed per (customer, StockCode) and only pairs whose net quantity is
   positive are kept: a product bought twice and returned once is one net purchase, a
   product bought and fully returned is no interaction at all.
5. ``value`` is the net quantity, ``timestamp`` the last purchase (not cancellation) date,
   ``event`` is ``purchase``. InvoiceDate may be ISO 8601 or the UCI export's
   month-first ``12/1/2010 8:26``; naive times are taken as UTC.

The catalog comes from the same rows (with or without a customer): name is the most
frequent description of the StockCode, price its median positive UnitPrice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nextbuy.data.catalog import normalize_catalog
from nextbuy.data.columns import epoch_seconds, missing_column_message, numeric_column, text_column
from nextbuy.data.dataset import Dataset
from nextbuy.data.feedback import IMPLICIT
from nextbuy.data.readers import read_plain_table
from nextbuy.errors import DataError

#: StockCodes that are not products (postage, fees, discounts, adjustments, samples, tests).
NON_PRODUCT_CODES = frozenset(
    {
        "POST", "DOT", "C2", "M", "m", "D", "S", "B", "CRUK", "PADS", "AMAZONFEE",
        "BANK CHARGES", "ADJUST", "ADJUST2", "TEST001", "TEST002",
    }
)  # fmt: skip

#: How retail data is read, in the words ``train`` and ``data describe`` print.
RETAIL_FEEDBACK = (
    f"{IMPLICIT} from Online Retail transactions: net quantity per customer and product "
    "(cancellations netted; rows without a customer and non-product codes dropped)"
)
#: The retail reader's own columns for each canonical field (column options may name these).
RETAIL_COLUMNS = {
    "user": ("CustomerID", "Customer ID"),
    "item": ("StockCode",),
    "value": ("Quantity",),
    "time": ("InvoiceDate",),
}

_ALIASES = {"Invoice": "InvoiceNo", "Price": "UnitPrice", "Customer ID": "CustomerID"}
_REQUIRED = ("InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "CustomerID")
_TEXT = ("InvoiceNo", "Invoice", "StockCode", "Description", "CustomerID", "Customer ID",
         "InvoiceDate", "Country")  # fmt: skip
_DATE_FORMATS = ("ISO8601", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M")


def read_retail(path: str | Path) -> Dataset:
    """Read an Online Retail transaction file (csv, tsv, parquet; xlsx with openpyxl).

    Returns an implicit Dataset of net purchases with a catalog; see the module docstring
    for the cleaning and netting rules.
    """
    path = Path(path)
    source = str(path)
    fmt = "retail" if path.suffix.lower() in (".csv", ".gz", ".txt") else None
    raw = read_plain_table(path, fmt, string_columns=_TEXT)
    raw = raw.rename(columns={k: v for k, v in _ALIASES.items() if v not in raw.columns})
    for col in _REQUIRED:
        if col not in raw.columns:
            raise DataError(missing_column_message(source, col, raw.columns))
    if len(raw) == 0:
        raise DataError(f"{source}: no data rows (found only the header)")

    quantity = numeric_column(raw["Quantity"], source, "Quantity")
    stamps = epoch_seconds(raw["InvoiceDate"], source, "InvoiceDate", formats=_DATE_FORMATS)
    invoice = text_column(raw["InvoiceNo"], strip=True)
    code = text_column(raw["StockCode"], strip=True)
    customer = text_column(raw["CustomerID"], strip=True).str.replace(r"\.0+$", "", regex=True)
    cancelled = invoice.str.upper().str.startswith("C").to_numpy(dtype=bool)
    quantity = np.where(cancelled, -np.abs(quantity), quantity)
    product = ~code.isin(NON_PRODUCT_CODES).to_numpy() & (code != "").to_numpy(dtype=bool)

    catalog = _catalog(raw, code, quantity, product, source)
    keep = product & (customer != "").to_numpy(dtype=bool)
    if not keep.any():
        raise DataError(
            f"{source}: no product rows with a CustomerID (rows without a customer and "
            "non-product codes such as POST are dropped)"
        )
    bought = quantity > 0
    rows = pd.DataFrame(
        {
            "user_id": customer[keep].to_numpy(),
            "item_id": code[keep].to_numpy(),
            "quantity": quantity[keep],
            "last": np.where(bought, stamps, np.iinfo(np.int64).min)[keep],
        }
    )
    pairs = rows.groupby(["user_id", "item_id"], sort=True, as_index=False).agg(
        value=("quantity", "sum"), timestamp=("last", "max")
    )
    pairs = pairs[pairs["value"] > 0].reset_index(drop=True)
    if len(pairs) == 0:
        raise DataError(f"{source}: every purchase is cancelled out; no net purchases remain")
    frame = pd.DataFrame(
        {
            "user_id": pairs["user_id"].astype("str"),
            "item_id": pairs["item_id"].astype("str"),
            "value": pairs["value"].to_numpy(dtype=np.float64),
            "timestamp": pairs["timestamp"].to_numpy(dtype=np.int64),
            "event": pd.Series(["purchase"] * len(pairs), dtype="str"),
        }
    )
    return Dataset(frame, False, source, catalog=catalog, feedback=RETAIL_FEEDBACK)


def is_retail_header(columns: Sequence[str]) -> bool:
    """True for an Online Retail header (StockCode, an invoice and a customer column)."""
    cols = set(columns)
    return (
        "StockCode" in cols
        and bool(cols & {"InvoiceNo", "Invoice"})
        and bool(cols & {"CustomerID", "Customer ID"})
    )


def _catalog(
    raw: pd.DataFrame, code: pd.Series, quantity: np.ndarray, product: np.ndarray, source: str
) -> pd.DataFrame:
    """Name = most frequent description per StockCode, price = median positive UnitPrice."""
    codes = code[product]
    items = pd.DataFrame({"item_id": pd.unique(codes.to_numpy())})
    if "Description" in raw.columns:
        desc = pd.DataFrame(
            {
                "item_id": codes.to_numpy(),
                "name": text_column(raw["Description"], strip=True)[product],
            }
        )
        desc = desc[desc["name"] != ""]
        counts = desc.groupby(["item_id", "name"], sort=False).size().reset_index(name="n")
        counts = counts.sort_values(["item_id", "n", "name"], ascending=[True, False, True])
        top = counts.drop_duplicates("item_id")[["item_id", "name"]]
        items = items.merge(top, on="item_id", how="left")
    if "UnitPrice" in raw.columns:
        price = pd.to_numeric(raw["UnitPrice"], errors="coerce").to_numpy(dtype=np.float64)
        ok = product & (quantity > 0) & (price > 0)
        prices = pd.DataFrame({"item_id": code[ok].to_numpy(), "price": price[ok]})
        median = prices.groupby("item_id", sort=False)["price"].median().reset_index()
        items = items.merge(median, on="item_id", how="left")
    return normalize_catalog(items, source)
