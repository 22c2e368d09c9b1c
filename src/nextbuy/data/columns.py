"""Column validation: raw table columns into the canonical interaction columns, with errors
that name the file, the column and the first bad data row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nextbuy.data.feedback import ValueChoice, choose_value
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
    "addtocart": 3.0,  # Retailrocket's spelling
    "rating": 1.0,
}


@dataclass(frozen=True)
class ColumnMap:
    """Which column of the input file holds each canonical field (None: detect or default)."""

    user: str = "user_id"
    item: str = "item_id"
    value: str | None = None
    time: str | None = None
    event: str | None = None
    #: True: the value column holds ratings; False: implicit strengths; None: by its name.
    explicit: bool | None = None
    #: (low, high) of the ratings; values outside are an error. None: the data's own range.
    scale: tuple[float, float] | None = None


def canonical_frame(
    raw: pd.DataFrame,
    columns: ColumnMap = ColumnMap(),
    source: str = "interactions",
    event_weights: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, ValueChoice]:
    """Validate a raw table and build the canonical frame; returns ``(frame, value choice)``.

    See :func:`read_interactions` for how value, time and events are chosen, and
    :func:`~nextbuy.data.feedback.choose_value` for ratings against implicit strengths.
    """
    found = list(raw.columns)
    wanted = [columns.user, columns.item, columns.value, columns.time, columns.event]
    for col in (c for c in wanted if c is not None):
        if col not in raw.columns:
            raise DataError(missing_column_message(source, col, found))
    if len(raw) == 0:
        raise DataError(f"{source}: no data rows (found only the header: {', '.join(found)})")

    # the columns are gathered first and framed once without copies (setting them one by
    # one copies each array: 0.3 s and a column's bytes at 10M rows)
    out: dict[str, Any] = {
        "user_id": id_column(raw[columns.user], source, columns.user),
        "item_id": id_column(raw[columns.item], source, columns.item),
    }
    event_col = columns.event or ("event" if "event" in raw.columns else None)
    events = event_column(raw[event_col], source, event_col) if event_col else None

    choice = choose_value(columns.value, columns.explicit, found, event_col, source)
    value_col = choice.column
    if value_col is not None:
        out["value"] = numeric_column(raw[value_col], source, value_col)
        if choice.explicit and columns.scale is not None:
            check_scale(out["value"], columns.scale, source, value_col, raw[value_col])
    elif events is not None:
        out["value"] = event_values(events, source, str(event_col), event_weights)
        choice = replace(choice, reason=event_reason(str(event_col), events, event_weights))
    else:
        out["value"] = np.ones(len(raw), dtype=np.float64)

    time_col = columns.time or ("timestamp" if "timestamp" in raw.columns else None)
    if time_col is not None:
        out["timestamp"] = epoch_seconds(raw[time_col], source, time_col)
    else:
        out["timestamp"] = np.zeros(len(raw), dtype=np.int64)
    if events is not None:
        out["event"] = events
    return pd.DataFrame(out, copy=False), choice


def check_scale(
    values: np.ndarray, scale: tuple[float, float], source: str, column: str, raw: pd.Series
) -> None:
    """Every rating inside ``scale``; the first one outside is an error naming its row."""
    lo, hi = scale
    outside = (values < lo) | (values > hi)
    if outside.any():
        pos = int(np.flatnonzero(outside)[0])
        err = row_error(source, column, pos, f"a rating from {lo:g} to {hi:g}", raw.iat[pos])
        n = int(outside.sum())
        raise DataError(
            f"{err} ({n:,} of {len(values):,} rows are outside the --rating-scale; remove them "
            "from the file or widen the scale)"
        )


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
    empty = blank_text(s)
    if empty.any():
        pos = int(np.flatnonzero(empty)[0])
        raise row_error(source, column, pos, "a non-empty ID", None)
    return s.reset_index(drop=True)


def blank_text(s: pd.Series) -> np.ndarray:
    """Mask of missing, empty and whitespace-only strings: ``s.str.strip() == ""`` (or NA),
    computed in Arrow without building a stripped copy of the column."""
    try:
        arr = arrow_text(s)
    except (pa.ArrowException, TypeError, ValueError):
        stripped = (s.str.strip() == "").to_numpy(dtype=bool, na_value=True)
        return s.isna().to_numpy() | stripped
    # byte length (from the offsets) rather than utf8_length (decodes every string): 0 either way
    blank = pc.or_(pc.utf8_is_space(arr), pc.equal(pc.binary_length(arr), 0))
    if arr.null_count:
        blank = pc.or_(pc.is_null(arr), pc.fill_null(blank, True))
    return np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)


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
    if pd.api.types.is_integer_dtype(series.dtype) and isinstance(series.dtype, np.dtype):
        seconds = _integer_seconds(series.to_numpy())
        if seconds is not None:
            return seconds
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


def _integer_seconds(ints: np.ndarray) -> np.ndarray | None:
    """Whole epoch seconds as int64 with one float temporary (not five): what
    :func:`_numbers_to_seconds` gives, or None where its float path may differ (values past
    2**53, milliseconds and finer), which then runs as before."""
    if len(ints) == 0:
        return None
    low, high = ints.min(), ints.max()
    if low < -(2**53) or high > 2**53:
        return None
    if low > -1e11 and high < 1e11:  # every magnitude, hence the median, says seconds
        return ints.astype(np.int64, copy=False)  # int64 already: the column itself
    magnitude = ints.astype(np.float64)
    np.abs(magnitude, out=magnitude)
    scale = float(np.median(magnitude, overwrite_input=True))
    del magnitude
    if scale >= 1e11:
        return None
    return ints.astype(np.int64, copy=False)  # exact: every value fits a float64 (floor = itself)


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


def text_column(series: pd.Series, strip: bool = False) -> pd.Series:
    """Text with missing values as empty strings (and stripped with ``strip``), index reset."""
    s = series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
    s = s.fillna("")
    return (s.str.strip() if strip else s).reset_index(drop=True)


def event_column(series: pd.Series, source: str, column: str) -> pd.Series:
    """Event types as a categorical of lower-case stripped strings; empty cells are an error.

    Cleaned once per distinct type (Arrow dictionary), not once per row, and kept as codes
    into the few types (10M rows: 10 MB of codes, not 130 MB of strings hashed again later);
    pandas' string methods where Arrow cannot take the column (missing cells: the error
    names the row).
    """
    found = categorical_text(series)
    if found is None:  # a Parquet dictionary column gives its codes without hashing
        s = series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
        found = arrow_factorize(s)
    if found is not None:
        codes, kinds = found
        cleaned = pc.utf8_lower(pc.utf8_trim_whitespace(kinds))  # pandas' strip() and lower()
        blank = pc.equal(cleaned, "").to_numpy(zero_copy_only=False)
        if not blank.any():
            return _categorical(codes, np.asarray(cleaned.to_pylist(), dtype=object))
    s = series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
    s = s.str.strip().str.lower()
    empty = s.isna().to_numpy() | (s == "").to_numpy(dtype=bool, na_value=True)
    if empty.any():
        pos = int(np.flatnonzero(empty)[0])
        raise row_error(source, column, pos, "an event type such as view or purchase", None)
    return s.reset_index(drop=True).astype("category")


def _categorical(codes: np.ndarray, kinds: np.ndarray) -> pd.Series:
    """A categorical Series of ``kinds[codes]`` with sorted distinct categories (types that
    differ only before cleaning, such as "View" and "view", become one)."""
    categories, inverse = np.unique(kinds.astype(str), return_inverse=True)
    small = np.int8 if len(categories) <= 127 else np.int32
    return pd.Series(
        pd.Categorical.from_codes(
            inverse.astype(small)[codes], categories=pd.Index(categories, dtype="str")
        )
    )


def event_reason(column: str, events: pd.Series, event_weights: dict[str, float] | None) -> str:
    """How events were weighed, in words: ``event weights of column 'event': view 1, ...``,
    naming the types the weight table does not know (they weigh 1 with the defaults)."""
    weights = {**DEFAULT_EVENT_WEIGHTS, **(event_weights or {})}
    counts = events.value_counts()
    known = [f"{kind} {weights[kind]:g}" for kind in counts.index if kind in weights]
    unknown = [str(kind) for kind in counts.index if kind not in weights]
    text = f"event weights of column {column!r}: {', '.join(known) or 'none known'}"
    if unknown:
        text += (
            f"; unknown types weigh 1: {', '.join(unknown[:5])}"
            f"{' ...' if len(unknown) > 5 else ''} (--event-weights TYPE=W,... sets them)"
        )
    return text


def event_values(
    events: pd.Series,
    source: str,
    column: str,
    event_weights: dict[str, float] | None = None,
) -> np.ndarray:
    """Weight of each event; unknown types weigh 1.0 with the defaults, else are an error."""
    weights = {**DEFAULT_EVENT_WEIGHTS, **(event_weights or {})}
    codes, uniques = factorize(events)
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


def arrow_text(s: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A text column as Arrow strings: pandas' own Arrow data as it is (``large_string``
    since pandas 3: no copy), anything else converted to ``string`` (raises if not text)."""
    arr = pa.array(s)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr
    return pa.array(s, type=pa.string())


def categorical_text(s: pd.Series) -> tuple[np.ndarray, pa.Array] | None:
    """(codes, categories as Arrow strings) of a categorical text column without missing
    cells (what :func:`arrow_factorize` gives, without hashing); None for anything else."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return None
    codes = s.cat.codes.to_numpy()
    categories = s.cat.categories
    if (codes < 0).any() or not pd.api.types.is_string_dtype(categories.dtype):
        return None
    try:
        kinds = arrow_text(pd.Series(categories))
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if isinstance(kinds, pa.ChunkedArray):
        kinds = kinds.combine_chunks()
    return codes, kinds


def arrow_factorize(ids: pd.Series) -> tuple[np.ndarray, pa.Array] | None:
    """(codes int32, distinct values as an Arrow string array, first-seen order) of a text
    column by Arrow dictionary encoding (one hash pass, codes without a copy); None when
    Arrow cannot take the values or one is missing."""
    try:
        text = arrow_text(ids)
        if isinstance(text, pa.ChunkedArray):
            # one array first: encoding chunk by chunk hands every chunk a dictionary of all
            # values so far, which the combine then unifies (10M rows: 1.0 s -> 0.7 s a column)
            text = text.combine_chunks()
        encoded = pc.dictionary_encode(text)
        del text
    except (pa.ArrowException, TypeError, ValueError, ArithmeticError, AttributeError):
        return None
    if encoded.null_count:
        return None
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    return codes.astype(np.int32, copy=False), encoded.dictionary


def factorize(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques as object array of str) of a text column: a categorical's own codes
    and categories (no hashing), else int32 codes in first-seen order.

    :func:`arrow_factorize` where it can (fast); pandas otherwise. int32 codes: half the
    memory of int64 on 10M-row files.
    """
    found = categorical_text(ids) or arrow_factorize(ids)
    if found is not None:
        return found[0], np.asarray(found[1].to_pylist(), dtype=object)
    codes, uniques = pd.factorize(ids.astype(str), sort=False)
    return codes.astype(np.int32), np.asarray(uniques, dtype=object)
