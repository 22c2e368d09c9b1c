"""Small table I/O for the CLI's batch outputs and ID lists: csv or parquet by extension."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nextbuy.errors import DataError
from nextbuy.fsio import atomic_path


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as csv or parquet (by extension) atomically: temp file, then rename."""
    path = Path(path)
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if suffix not in (".csv", ".parquet", ".csv.gz"):
        raise DataError(f"{path}: output must end in .csv, .csv.gz or .parquet")
    with atomic_path(path, suffix=suffix) as tmp:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)


def read_id_list(path: Path, column: str) -> list[str]:
    """IDs from a file with a ``column`` header, or one ID per line without a header."""
    from nextbuy.data.sources import read_table

    path = Path(path)
    if path.suffix in (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson"):
        frame = read_table(path, dtype=str)
        if column in frame.columns:
            ids = frame[column]
        elif len(frame.columns) == 1 and path.suffix in (".csv", ".tsv"):
            ids = pd.concat([pd.Series([frame.columns[0]]), frame.iloc[:, 0]])
        else:
            raise DataError(f"{path}: expected a column {column!r}, found {list(frame.columns)}")
    else:
        try:
            ids = pd.Series(Path(path).read_text().split())
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror})") from exc
    ids = ids.astype(str).str.strip()
    if ids.eq("").any():
        raise DataError(f"{path}: column {column!r}: empty ID at row {int(ids.eq('').idxmax())}")
    if ids.empty:
        raise DataError(f"{path}: no IDs")
    return ids.tolist()


def read_pairs(path: Path) -> pd.DataFrame:
    """(user_id, item_id) rows as strings, validated."""
    from nextbuy.data.sources import read_table

    frame = read_table(Path(path), dtype=str)
    missing = [c for c in ("user_id", "item_id") if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; found {list(frame.columns)}"
        )
    frame = frame[["user_id", "item_id"]].astype(str)
    if frame.empty:
        raise DataError(f"{path}: no rows")
    return frame.reset_index(drop=True)
