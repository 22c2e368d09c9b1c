"""Table files as they are: format resolution, header sniffing, CSV/TSV/JSONL/Parquet/Excel."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pv

from nextbuy.errors import DataError

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
MOVIELENS_FILES = ("u.data", "ratings.dat", "ratings.csv")
# pandas < 3 guesses dates in read_json even with dtype=False (columns named "timestamp")
_NO_DATE_GUESS: dict[str, bool] = (
    {}
    if int(pd.__version__.split(".")[0]) >= 3
    else {"convert_dates": False, "keep_default_dates": False}
)


def read_plain_table(
    path: str | Path,
    format: str | None = None,
    *,
    string_columns: Iterable[str] = (),
    dtype: type | str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    dictionary_columns: Iterable[str] = (),
) -> pd.DataFrame:
    """Read a table as it is, by extension (.csv .tsv .parquet .jsonl/.ndjson, optionally .gz).

    ``format`` overrides the extension (csv, tsv, parquet, jsonl, xlsx, retail); MovieLens
    folders and ratings files are datasets (``sources.read_table`` reads those). Columns named
    in ``string_columns`` are read as text so IDs such as ``"007"`` keep their zeros;
    ``dtype=str`` reads every column as text. CSV goes through pyarrow (multi-threaded); other
    columns get inferred types. Parquet text columns named in ``dictionary_columns`` come as
    pandas categoricals (decoded once per distinct value: event types).
    """
    path = Path(path)
    fmt = resolve_format(path, format)
    if fmt == "movielens":
        raise DataError(
            f"{path}: MovieLens ratings are a dataset, not a plain table; "
            "read them with read_movielens or read_interactions"
        )
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    all_text = dtype is not None
    if all_text and dtype not in (str, "str", "string", object):
        raise DataError(f"read_table: dtype must be str (read every column as text), got {dtype!r}")
    strings = list(string_columns)
    if fmt in ("csv", "tsv", "retail"):
        sep = "\t" if fmt == "tsv" else delimiter
        if all_text:
            strings += peek_columns(path, "tsv" if fmt == "tsv" else "csv")
        frame = _read_csv(path, sep, strings, encoding)
        release_arrow_memory()
        return frame
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(path, **_parquet_dictionary(path, dictionary_columns))
        except (OSError, pa.ArrowException, ValueError) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    elif fmt == "jsonl":
        frame = _read_jsonl(path)
    else:  # xlsx
        frame = _read_excel(path, strings)
    if all_text:
        frame = frame.apply(lambda col: col.where(col.isna(), col.astype("str")).astype("str"))
    release_arrow_memory()
    return frame


def _parquet_dictionary(path: Path, columns: Iterable[str]) -> dict[str, list[str]]:
    """``read_dictionary=`` for the text columns of ``columns`` that the file has (none asked:
    no keyword, the file's schema is not read)."""
    wanted = set(columns)
    if not wanted:
        return {}
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    text = [
        f.name
        for f in schema
        if f.name in wanted and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    return {"read_dictionary": text} if text else {}


def release_arrow_memory() -> None:
    """Hand the memory Arrow's allocator keeps after a read back to the system.

    Decoding a file frees its buffers into Arrow's pool (mimalloc/jemalloc), which keeps
    them; numpy and pandas allocate elsewhere, so without this the next steps of data
    preparation stack on top (about 65 MiB of 2M-interaction Parquet).
    """
    pa.default_memory_pool().release_unused()


# --------------------------------------------------------------------------- format helpers
def resolve_format(path: Path, format: str | None) -> str:
    """The reader to use for ``path``: the given format, or one inferred from the path."""
    if format is not None:
        fmt = format.lower()
        if fmt not in FORMATS:
            raise DataError(f"unknown format {format!r}: expected one of {', '.join(FORMATS)}")
        return fmt
    if path.is_dir():
        if any((path / name).is_file() for name in MOVIELENS_FILES) or _single_movielens_subdir(
            path
        ):
            return "movielens"
        raise DataError(
            f"{path}: a folder is read as MovieLens and needs one of {', '.join(MOVIELENS_FILES)}"
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
    if len(subdirs) == 1 and any((subdirs[0] / n).is_file() for n in MOVIELENS_FILES):
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


def peek_columns(path: Path, fmt: str) -> list[str]:
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
            raise empty_file_error(path, "a header row and data rows") from None
        raise DataError(f"{path}: cannot parse as {_sep_name(sep)}-separated text: {msg}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    return table.to_pandas(date_as_object=False)


def empty_file_error(path: Path, expected: str) -> DataError:
    """The error for a file without any content, saying what it should hold."""
    return DataError(f"{path}: the file is empty (expected {expected})")


def _sep_name(sep: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(sep, repr(sep))


def _read_jsonl(path: Path) -> pd.DataFrame:
    """JSON Lines: one object per line; strings stay strings, dates are not guessed."""
    try:
        return pd.read_json(path, lines=True, dtype=False, **_NO_DATE_GUESS)
    except ValueError as exc:
        if path.stat().st_size == 0:
            raise empty_file_error(path, "one JSON object per line") from None
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
