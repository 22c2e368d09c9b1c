"""Readers that turn interaction files (CSV, Parquet, JSONL, MovieLens, retail) into Datasets."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from nextbuy.data.interactions import Interactions
from nextbuy.errors import DataError

#: Implicit strength of each event type when a file has events but no value column.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "click": 1.0,
    "cart": 3.0,
    "add_to_cart": 3.0,
    "wishlist": 2.0,
    "purchase": 5.0,
    "buy": 5.0,
    "transaction": 5.0,
    "rating": 1.0,
}

#: Formats ``read_table`` and ``read_interactions`` understand (``format=`` values).
FORMATS = ("csv", "tsv", "parquet", "jsonl", "xlsx", "movielens", "retail")

_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".xlsx": "xlsx",
    ".xls": "xlsx",
}
_COMPRESSION_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".xz": "xz"}
_MOVIELENS_FILES = ("u.data", "ratings.dat", "ratings.csv")
# pandas < 3 guesses dates in read_json even with dtype=False (columns named "timestamp")
_NO_DATE_GUESS: dict[str, bool] = (
    {}
    if int(pd.__version__.split(".")[0]) >= 3
    else {"convert_dates": False, "keep_default_dates": False}
)


@dataclass(frozen=True)
class ColumnMap:
    """Which column of the input file holds each canonical field (None: detect or default)."""

    user: str = "user_id"
    item: str = "item_id"
    value: str | None = None
    time: str | None = None
    event: str | None = None


@dataclass
class Dataset:
    """A canonical interaction frame plus what is known about it.

    ``frame`` has ``user_id`` (str), ``item_id`` (str), ``value`` (float64), ``timestamp``
    (int64 epoch seconds, 0 if unknown) and optionally ``event`` (str); raw rows are kept, so
    duplicated pairs are still there (``Interactions.from_frame`` aggregates them).
    """

    frame: pd.DataFrame
    explicit: bool
    source: str
    catalog: pd.DataFrame | None = None

    def to_interactions(self, **kw: Any) -> Interactions:
        """Index the frame: ``Interactions.from_frame(frame, explicit=..., source=..., **kw)``."""
        return Interactions.from_frame(self.frame, explicit=self.explicit, source=self.source, **kw)

    def __len__(self) -> int:
        return len(self.frame)


# --------------------------------------------------------------------------- public readers
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
    source = str(path)
    fmt = _resolve_format(path, format)
    if fmt == "movielens":
        from nextbuy.data.movielens import read_movielens

        return read_movielens(path)
    if fmt == "retail":
        from nextbuy.data.retail import read_retail

        return read_retail(path)
    if columns == ColumnMap():
        header = _peek_columns(path, fmt)
        if _is_retail_header(header):
            from nextbuy.data.retail import read_retail

            return read_retail(path)
        if "userId" in header and "movieId" in header and "user_id" not in header:
            from nextbuy.data.movielens import read_movielens

            return read_movielens(path)

    string_cols = [columns.user, columns.item, columns.event or "event"]
    raw = read_table(path, fmt, string_columns=string_cols)
    frame, explicit = canonical_frame(raw, columns, source, event_weights)
    return Dataset(frame=frame, explicit=explicit, source=source)


def canonical_frame(
    raw: pd.DataFrame,
    columns: ColumnMap = ColumnMap(),
    source: str = "interactions",
    event_weights: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, bool]:
    """Validate a raw table and build the canonical frame; returns ``(frame, explicit)``.

    See :func:`read_interactions` for how value, time and events are chosen.
    """
    found = list(raw.columns)
    wanted = [columns.user, columns.item, columns.value, columns.time, columns.event]
    for col in (c for c in wanted if c is not None):
        if col not in raw.columns:
            raise DataError(missing_column_message(source, col, found))
    if len(raw) == 0:
        raise DataError(f"{source}: no data rows (found only the header: {', '.join(found)})")

    out = pd.DataFrame(
        {
            "user_id": id_column(raw[columns.user], source, columns.user),
            "item_id": id_column(raw[columns.item], source, columns.item),
        }
    )
    event_col = columns.event or ("event" if "event" in raw.columns else None)
    events = event_column(raw[event_col], source, event_col) if event_col else None

    explicit = False
    if columns.value is not None:
        value_col: str | None = columns.value
        explicit = columns.value == "rating"
    elif "rating" in raw.columns:
        value_col, explicit = "rating", True
    elif "value" in raw.columns:
        value_col = "value"
    else:
        value_col = None

    if value_col is not None:
        out["value"] = numeric_column(raw[value_col], source, value_col)
    elif events is not None:
        out["value"] = event_values(events, source, str(event_col), event_weights)
    else:
        out["value"] = np.ones(len(raw), dtype=np.float64)

    time_col = columns.time or ("timestamp" if "timestamp" in raw.columns else None)
    if time_col is not None:
        out["timestamp"] = epoch_seconds(raw[time_col], source, time_col)
    else:
        out["timestamp"] = np.zeros(len(raw), dtype=np.int64)
    if events is not None:
        out["event"] = events
    return out, explicit


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

    ``format`` overrides the extension (csv, tsv, parquet, jsonl, xlsx, movielens, retail).
    Columns named in ``string_columns`` are read as text so IDs such as ``"007"`` keep their
    zeros; ``dtype=str`` reads every column as text. CSV goes through pyarrow
    (multi-threaded); other columns get inferred types.
    """
    path = Path(path)
    fmt = _resolve_format(path, format)
    if fmt == "movielens":
        from nextbuy.data.movielens import read_movielens

        return read_movielens(path).frame
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    all_text = dtype is not None
    if all_text and dtype not in (str, "str", "string", object):
        raise DataError(f"read_table: dtype must be str (read every column as text), got {dtype!r}")
    strings = list(string_columns)
    if fmt in ("csv", "tsv", "retail"):
        sep = "\t" if fmt == "tsv" else delimiter
        if all_text:
            strings += _peek_columns(path, "tsv" if fmt == "tsv" else "csv")
        return _read_csv(path, sep, strings, encoding)
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(path)
        except (OSError, pa.ArrowException, ValueError) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    elif fmt == "jsonl":
        frame = _read_jsonl(path)
    else:  # xlsx
        frame = _read_excel(path, strings)
    if all_text:
        frame = frame.apply(lambda col: col.where(col.isna(), col.astype("str")).astype("str"))
    return frame


# --------------------------------------------------------------------------- format helpers
def _resolve_format(path: Path, format: str | None) -> str:
    """The reader to use for ``path``: the given format, or one inferred from the path."""
    if format is not None:
        fmt = format.lower()
        if fmt not in FORMATS:
            raise DataError(f"unknown format {format!r}: expected one of {', '.join(FORMATS)}")
        return fmt
    if path.is_dir():
        if any((path / name).is_file() for name in _MOVIELENS_FILES) or _single_movielens_subdir(
            path
        ):
            return "movielens"
        raise DataError(
            f"{path}: a folder is read as MovieLens and needs one of {', '.join(_MOVIELENS_FILES)}"
        )
    if path.name in ("u.data", "ratings.dat"):
        return "movielens"
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffixes[-1]]
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    raise DataError(
        f"{path}: cannot tell the format from the extension; use .csv, .tsv, .parquet, .jsonl "
        f"(optionally .gz) or pass format= one of {', '.join(FORMATS)}"
    )


def _single_movielens_subdir(path: Path) -> Path | None:
    """The one sub-folder holding MovieLens files (an extracted zip such as ``ml-100k/``)."""
    subdirs = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(subdirs) == 1 and any((subdirs[0] / n).is_file() for n in _MOVIELENS_FILES):
        return subdirs[0]
    return None


def _open_text(path: Path, encoding: str = "utf-8"):  # noqa: ANN202 - a text stream
    """Open a possibly gzip-compressed file as text (for peeking at the header)."""
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding=encoding, errors="replace")
    return path.open(encoding=encoding, errors="replace")


def _first_line(path: Path) -> str:
    try:
        with _open_text(path) as fh:
            return fh.readline().rstrip("\r\n").lstrip("\ufeff")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None


def _sniff_delimiter(header: str) -> str:
    """Comma unless the header has none and has another usual separator."""
    if "," in header:
        return ","
    counts = {d: header.count(d) for d in ("\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _peek_columns(path: Path, fmt: str) -> list[str]:
    """Column names of a table without reading it (empty list if not cheaply known)."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if fmt in ("csv", "tsv"):
        header = _first_line(path)
        sep = "\t" if fmt == "tsv" else _sniff_delimiter(header)
        return [c.strip().strip('"') for c in header.split(sep)]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    if fmt == "jsonl":
        try:
            first = json.loads(_first_line(path) or "{}")
        except json.JSONDecodeError:
            return []
        return list(first) if isinstance(first, dict) else []
    return []


def _is_retail_header(columns: Sequence[str]) -> bool:
    cols = set(columns)
    return (
        "StockCode" in cols
        and bool(cols & {"InvoiceNo", "Invoice"})
        and bool(cols & {"CustomerID", "Customer ID"})
    )


def _read_csv(
    path: Path, delimiter: str | None, strings: list[str], encoding: str | None
) -> pd.DataFrame:
    """CSV/TSV through pyarrow; string columns stay text, blank lines are skipped."""
    sep = delimiter or _sniff_delimiter(_first_line(path))
    convert = pv.ConvertOptions(
        column_types={c: pa.string() for c in strings}, strings_can_be_null=False
    )
    parse = pv.ParseOptions(delimiter=sep)

    def read(enc: str) -> pa.Table:
        return pv.read_csv(
            path, read_options=pv.ReadOptions(encoding=enc), parse_options=parse,
            convert_options=convert,
        )  # fmt: skip

    try:
        try:
            table = read(encoding or "utf8")
        except pa.ArrowInvalid as exc:
            if encoding is not None or "UTF8" not in str(exc).upper().replace("-", ""):
                raise
            table = read("latin-1")  # not UTF-8: latin-1 decodes any byte sequence
    except pa.ArrowInvalid as exc:
        msg = str(exc).splitlines()[0]
        if "Empty CSV file" in msg:
            raise DataError(
                f"{path}: the file is empty (expected a header row and data rows)"
            ) from None
        raise DataError(f"{path}: cannot parse as {_sep_name(sep)}-separated text: {msg}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    return table.to_pandas(date_as_object=False)


def _sep_name(sep: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(sep, repr(sep))


def _read_jsonl(path: Path) -> pd.DataFrame:
    """JSON Lines: one object per line; strings stay strings, dates are not guessed."""
    try:
        return pd.read_json(path, lines=True, dtype=False, **_NO_DATE_GUESS)
    except ValueError as exc:
        if path.stat().st_size == 0:
            raise DataError(
                f"{path}: the file is empty (expected one JSON object per line)"
            ) from None
        raise DataError(f"{path}: not JSON Lines ({exc})") from None


def _read_excel(path: Path, strings: list[str]) -> pd.DataFrame:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise DataError(
            f"{path}: reading .xlsx needs openpyxl (pip install openpyxl); "
            "or save the sheet as CSV and read that"
        ) from None
    return pd.read_excel(path, dtype=dict.fromkeys(strings, str))


# --------------------------------------------------------------------------- column validation
def missing_column_message(source: str, column: str, found: Iterable[str]) -> str:
    """One-line message for a missing column, listing the columns that are there."""
    return f"{source}: missing column {column!r} (found: {', '.join(map(str, found))})"


def row_error(source: str, column: str, pos: int, expected: str, got: object = None) -> DataError:
    """DataError naming the file, the column and the 1-based data row.

    Data rows are counted from 1 after the header; blank lines are not counted.
    """
    if got is None or (isinstance(got, float) and np.isnan(got)) or got is pd.NA:
        shown = "an empty value"
    else:
        text = str(got)
        shown = repr(text if len(text) <= 40 else text[:37] + "...")
    where = f"{source}: column {column!r}, data row {pos + 1}"
    return DataError(f"{where}: expected {expected}, got {shown}")


def id_column(series: pd.Series, source: str, column: str) -> pd.Series:
    """IDs as strings, never re-formatted (``"007"`` stays); empty or missing IDs are an error.

    Integral floats (from a numeric column with gaps, e.g. ``17850.0``) become ``"17850"``.
    """
    s = series
    if pd.api.types.is_float_dtype(s.dtype):
        vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(vals)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise row_error(source, column, pos, "a non-empty ID", s.iat[pos])
        if np.all(vals == np.floor(vals)):
            s = pd.Series(vals.astype(np.int64), index=s.index)
    if not isinstance(s.dtype, pd.StringDtype):
        s = s.astype("str")
    empty = s.isna().to_numpy() | (s.str.strip() == "").to_numpy(dtype=bool, na_value=True)
    if empty.any():
        pos = int(np.flatnonzero(empty)[0])
        raise row_error(source, column, pos, "a non-empty ID", None)
    return s.reset_index(drop=True)


def numeric_column(series: pd.Series, source: str, column: str) -> np.ndarray:
    """Float64 values; text that is not a number, empty cells, NaN and inf are errors."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64)
    if pd.api.types.is_numeric_dtype(series.dtype):
        vals = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        vals = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(vals)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raw = series.iat[pos]
        missing = raw is None or raw is pd.NA or (isinstance(raw, str) and not raw.strip())
        if not missing and isinstance(raw, float) and np.isnan(raw):
            missing = True
        is_number = not missing and (
            not np.isnan(vals[pos]) or str(raw).strip().lower() in ("nan", "-nan")
        )
        expected = "a finite number" if is_number else "a number"
        raise row_error(source, column, pos, expected, None if missing else raw)
    return vals


def epoch_seconds(
    series: pd.Series,
    source: str,
    column: str,
    formats: Sequence[str] = ("ISO8601",),
) -> np.ndarray:
    """Int64 UTC epoch seconds from numbers or date-time text (naive times are taken as UTC).

    Numbers are seconds, unless their magnitude says milliseconds (>= 1e11), microseconds
    (>= 1e14) or nanoseconds (>= 1e17). Text is tried against ``formats`` in order
    (``"ISO8601"`` or strftime patterns); what parses under none is an error.
    """
    expected = "epoch seconds or an ISO 8601 date-time"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        dt = series
        if dt.dt.tz is None:
            dt = dt.dt.tz_localize("UTC")
        return _datetimes_to_seconds(dt, source, column, series, expected)
    if pd.api.types.is_bool_dtype(series.dtype):
        raise row_error(source, column, 0, expected, series.iat[0])
    if pd.api.types.is_numeric_dtype(series.dtype):
        vals = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return _numbers_to_seconds(vals, source, column, series, expected)

    text = series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
    nums = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    is_num = np.isfinite(nums)
    if is_num.all():
        return _numbers_to_seconds(nums, source, column, series, expected)
    out = np.zeros(len(series), dtype=np.int64)
    if is_num.any():
        out[is_num] = _numbers_to_seconds(nums[is_num], source, column, series, expected)
    todo = np.flatnonzero(~is_num)
    for fmt in formats:
        if len(todo) == 0:
            break
        part = text.iloc[todo]
        kwargs: dict[str, Any] = {"format": fmt}
        parsed = pd.to_datetime(part, utc=True, errors="coerce", **kwargs)
        ok = parsed.notna().to_numpy()
        if ok.any():
            out[todo[ok]] = _datetimes_to_seconds(parsed[ok], source, column, series, expected)
        todo = todo[~ok]
    if len(todo):
        pos = int(todo[0])
        raw = series.iat[pos]
        blank = raw is None or raw is pd.NA or (isinstance(raw, str) and not raw.strip())
        raise row_error(source, column, pos, expected, None if blank else raw)
    return out


def _numbers_to_seconds(
    vals: np.ndarray, source: str, column: str, series: pd.Series, expected: str
) -> np.ndarray:
    bad = ~np.isfinite(vals)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise row_error(source, column, pos, expected, series.iat[pos])
    if len(vals) == 0:
        return vals.astype(np.int64)
    scale = float(np.median(np.abs(vals)))
    divisor = 1e9 if scale >= 1e17 else 1e6 if scale >= 1e14 else 1e3 if scale >= 1e11 else 1.0
    if divisor != 1.0:
        vals = vals / divisor
    return np.floor(vals).astype(np.int64)


def _datetimes_to_seconds(
    dt: pd.Series, source: str, column: str, series: pd.Series, expected: str
) -> np.ndarray:
    nat = dt.isna().to_numpy()
    if nat.any():
        pos = int(np.flatnonzero(nat)[0])
        raise row_error(source, column, pos, expected, series.iat[pos])
    secs = (dt - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return secs.to_numpy(dtype=np.int64)


def event_column(series: pd.Series, source: str, column: str) -> pd.Series:
    """Event types as lower-case stripped strings; empty cells are an error."""
    s = series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
    s = s.str.strip().str.lower()
    empty = s.isna().to_numpy() | (s == "").to_numpy(dtype=bool, na_value=True)
    if empty.any():
        pos = int(np.flatnonzero(empty)[0])
        raise row_error(source, column, pos, "an event type such as view or purchase", None)
    return s.reset_index(drop=True)


def event_values(
    events: pd.Series,
    source: str,
    column: str,
    event_weights: dict[str, float] | None = None,
) -> np.ndarray:
    """Weight of each event; unknown types weigh 1.0 with the defaults, else are an error."""
    weights = {**DEFAULT_EVENT_WEIGHTS, **(event_weights or {})}
    codes, uniques = _factorize(events)
    w = np.array([weights.get(str(u), np.nan) for u in uniques], dtype=np.float64)
    unknown = np.isnan(w)
    if unknown.any():
        if event_weights is not None:
            first = int(np.flatnonzero(unknown[codes])[0])
            known = ", ".join(sorted(weights))
            expected = f"a known event type ({known})"
            raise row_error(source, column, first, expected, events.iat[first])
        w[unknown] = 1.0
    return w[codes]


def _factorize(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques) of a string column; pyarrow dictionary encoding when possible (fast)."""
    try:
        encoded = pc.dictionary_encode(pa.chunked_array(pa.array(series))).combine_chunks()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    except (pa.ArrowException, TypeError):
        codes, uniques = pd.factorize(series)
        return codes.astype(np.int64), np.asarray(uniques, dtype=object)
