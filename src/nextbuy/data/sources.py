"""Read interaction files (CSV, Parquet, JSONL, MovieLens, retail) into Datasets.

One way through: the format (given, or from the path) picks a dataset reader; without column
options the header may pick one (retail, MovieLens CSV); anything else is a generic table whose
columns :func:`~nextbuy.data.columns.canonical_frame` validates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pandas as pd

from nextbuy.data.columns import DEFAULT_EVENT_WEIGHTS, ColumnMap, canonical_frame, event_values
from nextbuy.data.dataset import Dataset
from nextbuy.data.feedback import feedback_line
from nextbuy.data.movielens import is_movielens_header, read_movielens
from nextbuy.data.readers import (
    peek_columns,
    read_plain_table,
    release_arrow_memory,
    resolve_format,
)
from nextbuy.data.retail import RETAIL_COLUMNS, is_retail_header, read_retail
from nextbuy.errors import DataError

# DEFAULT_EVENT_WEIGHTS, ColumnMap, Dataset and event_values are re-exported for callers
# that import them from here (they live in columns.py and dataset.py).
__all__ = [
    "DEFAULT_EVENT_WEIGHTS",
    "ColumnMap",
    "Dataset",
    "event_values",
    "read_interactions",
    "read_table",
]

#: Readers of the formats with a layout of their own (not a table of canonical columns).
DATASET_READERS: dict[str, Callable[[Path], Dataset]] = {
    "movielens": read_movielens,
    "retail": read_retail,
}
#: Header tests, in order, that send a table without column options to a dataset reader.
HEADER_DETECTORS: tuple[tuple[Callable[[Sequence[str]], bool], str], ...] = (
    (is_retail_header, "retail"),
    (is_movielens_header, "movielens"),
)


def read_interactions(
    path: str | Path,
    columns: ColumnMap = ColumnMap(),
    format: str | None = None,
    event_weights: dict[str, float] | None = None,
) -> Dataset:
    """Read interactions from a file or MovieLens folder into a canonical :class:`Dataset`.

    Detection: a folder (or ``u.data``/``ratings.dat``, or a CSV with ``userId,movieId``) is
    MovieLens (explicit); ``format="retail"`` or a header with InvoiceNo/StockCode/CustomerID is
    transaction data (implicit, cancellations netted); column options on such a file must name
    its own columns (CustomerID, StockCode, Quantity, InvoiceDate), else it is an error rather
    than a silent plain-table read. Otherwise the value is, in order: ``columns.value``
    (ratings when ``columns.explicit`` or called ``rating``); a ``rating`` column (explicit);
    a ``value`` column; the event weight of an event column; else 1.0. Event types missing
    from the weight table weigh 1.0 with the default table, but are an error when
    ``event_weights`` is given (they are likely typos).
    Errors name the file, the column and the first bad data row (1-based, header excluded).
    """
    path = Path(path)
    fmt = resolve_format(path, format)
    if fmt not in DATASET_READERS and (columns == ColumnMap() or format is None):
        header = peek_columns(path, fmt)
        detected = next((name for detect, name in HEADER_DETECTORS if detect(header)), None)
        if detected is not None and columns == ColumnMap():
            fmt = detected
        elif detected == "retail":  # column options on a retail export: honour both, or say so
            _check_retail_columns(path, columns, detected=True)
            fmt = "retail"
    elif fmt == "retail":
        _check_retail_columns(path, columns, detected=False)
    reader = DATASET_READERS.get(fmt)
    if reader is not None:
        return reader(path)
    string_cols = [columns.user, columns.item, columns.event or "event"]
    event = columns.event or "event"
    taken = {
        columns.user,
        columns.item,
        columns.value,
        columns.time,
        "value",
        "rating",
        "timestamp",
    }
    dictionary = [] if event in taken else [event]  # few distinct values: decode each once
    raw = read_plain_table(path, fmt, string_columns=string_cols, dictionary_columns=dictionary)
    frame, choice = canonical_frame(raw, columns, str(path), event_weights)
    del raw  # the canonical frame holds what is needed (Arrow strings are shared, not copied)
    release_arrow_memory()
    scale = columns.scale if choice.explicit else None
    feedback = feedback_line(choice, frame["value"].to_numpy(), scale)
    return Dataset(frame, choice.explicit, str(path), feedback=feedback, rating_scale=scale)


def _check_retail_columns(path: Path, columns: ColumnMap, detected: bool) -> None:
    """Column options on Online Retail data must name the retail reader's own columns.

    Those are honoured (the reader uses them anyway); any other mapping would silently turn
    off the cleaning and netting, so it is an error that says which way to go.
    """
    named = {
        "user": None if columns.user == "user_id" else columns.user,
        "item": None if columns.item == "item_id" else columns.item,
        "value": columns.value,
        "time": columns.time,
    }
    foreign = [
        f"{field} column {col!r}"
        for field, col in named.items()
        if col is not None and col not in RETAIL_COLUMNS[field]
    ]
    if columns.event is not None:
        foreign.append(f"event column {columns.event!r}")
    if columns.explicit:
        foreign.append("explicit ratings")
    if not foreign:
        return
    how = "looks like Online Retail transactions" if detected else "is read as --format retail"
    raise DataError(
        f"{path}: {how} (InvoiceNo, StockCode, CustomerID, Quantity, InvoiceDate), which "
        f"nets cancellations per customer and product, but the options ask for "
        f"{', '.join(foreign)}; drop those options to read it as retail data, or pass "
        "--format csv to read it as a plain table with your columns"
    )


def read_table(
    path: str | Path,
    format: str | None = None,
    *,
    string_columns: Iterable[str] = (),
    dtype: type | str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a table as it is, by extension (.csv .tsv .parquet .jsonl/.ndjson, optionally .gz).

    ``format`` overrides the extension (csv, tsv, parquet, jsonl, xlsx, movielens, retail); a
    MovieLens folder or ratings file gives its canonical frame. Columns named in
    ``string_columns`` are read as text so IDs such as ``"007"`` keep their zeros; ``dtype=str``
    reads every column as text. CSV goes through pyarrow (multi-threaded); other columns get
    inferred types.
    """
    path = Path(path)
    if resolve_format(path, format) == "movielens":
        return read_movielens(path).frame
    return read_plain_table(
        path, format, string_columns=string_columns, dtype=dtype, delimiter=delimiter,
        encoding=encoding,
    )  # fmt: skip
