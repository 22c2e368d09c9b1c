"""IdMap: a stable two-way map between string IDs and dense int32 indices."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from nextbuy.errors import DataError


class IdMap:
    """Maps string IDs to dense indices 0..n-1 and back; unknown IDs are reported, never invented.

    IDs are kept as strings end to end: ``"007"`` and ``"7"`` are different IDs.
    """

    __slots__ = ("_index",)

    def __init__(self, ids: Iterable[str] | np.ndarray | pd.Index) -> None:
        values = ids if hasattr(ids, "__len__") else list(ids)
        index = pd.Index(np.asarray(values, dtype=object))
        if not index.is_unique:
            dup = index[index.duplicated()][0]
            raise DataError(f"IdMap: duplicate ID {dup!r}")
        self._index = index

    @classmethod
    def from_distinct(cls, ids: pa.Array) -> IdMap:
        """A map over an Arrow string array already known to hold distinct values (an Arrow
        dictionary): no Python objects built, no uniqueness check; equal to ``IdMap(ids)``."""
        new = cls.__new__(cls)
        new._index = pd.Index(ids.to_pandas())
        return new

    @property
    def ids(self) -> np.ndarray:
        """The IDs in index order (object array of str)."""
        return self._index.to_numpy()

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and self._index.equals(other._index)

    def __hash__(self) -> int:  # pragma: no cover - maps are not used as dict keys
        return id(self)

    def __repr__(self) -> str:
        return f"IdMap(n={len(self)})"

    def index(self, ids: Iterable[str] | np.ndarray | pd.Series | str) -> np.ndarray:
        """Indices of ``ids`` as int32, -1 where an ID is unknown."""
        if isinstance(ids, str):
            ids = [ids]
        arr = np.asarray(ids, dtype=object) if not isinstance(ids, pd.Series) else ids.to_numpy()
        return self._index.get_indexer(arr).astype(np.int32, copy=False)

    def index_of(self, item_id: str) -> int:
        """Index of one ID, -1 if unknown."""
        try:
            loc = self._index.get_loc(item_id)
        except KeyError:
            return -1
        return int(loc) if isinstance(loc, (int, np.integer)) else -1

    def to_ids(self, indices: np.ndarray | Iterable[int]) -> np.ndarray:
        """IDs for dense indices (object array); raises IndexError for an out-of-range index."""
        return self.ids[np.asarray(indices, dtype=np.int64)]

    def to_frame(self, column: str = "id") -> pd.DataFrame:
        """The map as a two-column frame: ``index`` (int32) and ``column`` (str)."""
        return pd.DataFrame(
            {"index": np.arange(len(self), dtype=np.int32), column: self.ids.astype(str)}
        )

    def save(self, path: Path, column: str = "id") -> None:
        """Write the map to a parquet file."""
        self.to_frame(column).to_parquet(path, index=False)

    @classmethod
    def load(cls, path: Path, column: str = "id") -> IdMap:
        """Read a map written by :meth:`save`, checking that indices are 0..n-1 in order."""
        frame = pd.read_parquet(path)
        if column not in frame.columns or "index" not in frame.columns:
            raise DataError(f"{path}: expected columns 'index' and {column!r}")
        if not np.array_equal(frame["index"].to_numpy(), np.arange(len(frame))):
            raise DataError(f"{path}: column 'index' must be 0..n-1 in order")
        return cls(frame[column].astype(str).to_numpy(dtype=object))
