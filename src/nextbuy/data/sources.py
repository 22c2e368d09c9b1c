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
from nextbuy.data.movielens import is_movielens_header, read_movielens
from nextbuy.data.readers import peek_columns, read_plain_table, resolve_format
from nextbuy.data.retail import is_retail_header, read_retail

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
    transaction data (implicit, cancellations netted). Otherwise the value is, in order:
    ``columns.value``; a ``rating`` column (explicit); a ``value`` column; the event weight of
    an event column; else 1.0. Event types missing from the weight table weigh 1.0 with the
    default table, but are an error when ``event_weights`` is given (they are likely typos).
    Errors name the file, the column and the first bad data row (1-based, header excluded).
    """
    path = Path(path)
    fmt = resolve_format(path, format)
    if fmt not in DATASET_READERS and columns == ColumnMap():
        header = peek_columns(path, fmt)
        fmt = next((name for detect, name in HEADER_DETECTORS if detect(header)), fmt)
    reader = DATASET_READERS.get(fmt)
    if reader is not None:
        return reader(path)
    string_cols = [columns.user, columns.item, columns.event or "event"]
    raw = read_plain_table(path, fmt, string_columns=string_cols)
    frame, explicit = canonical_frame(raw, columns, str(path), event_weights)
    return Dataset(frame=frame, explicit=explicit, source=str(path))


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
