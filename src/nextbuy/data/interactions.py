"""Interactions: user-item events mapped to dense indices, with weighting and CSR views."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from nextbuy.data.columns import arrow_factorize, factorize
from nextbuy.data.ids import IdMap
from nextbuy.data.pairs import aggregated_csr, duplicated, sort_pairs
from nextbuy.data.readers import release_arrow_memory
from nextbuy.errors import DataError
from nextbuy.parallel import default_workers

#: Rows from which the two ID columns are encoded on two threads (below, a thread costs more).
_PARALLEL_ROWS = 100_000


@dataclass(frozen=True)
class Interactions:
    """One row per distinct (user, item) pair, indexed through ``user_map`` / ``item_map``.

    ``explicit`` marks rating data (value = rating; duplicates keep the latest by timestamp);
    otherwise values are implicit strengths (duplicates summed), see DESIGN section 2.
    """

    user_map: IdMap
    item_map: IdMap
    users: np.ndarray  # int32, one per row
    items: np.ndarray  # int32, one per row
    values: np.ndarray  # float32
    timestamps: np.ndarray  # int64 seconds (0 where unknown)
    explicit: bool = False
    events: np.ndarray | None = None  # object array of event types of the latest event, optional
    rating_scale: tuple[float, float] | None = None  # given scale of explicit ratings
    _csr: list = field(default_factory=list, repr=False, compare=False)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        explicit: bool = False,
        user_map: IdMap | None = None,
        item_map: IdMap | None = None,
        unknown: Literal["raise", "drop"] = "raise",
        source: str = "interactions",
        rating_scale: tuple[float, float] | None = None,
    ) -> Interactions:
        """Build from a canonical frame (user_id, item_id, value[, timestamp, event]).

        Duplicated pairs aggregate: explicit keeps the latest rating, implicit sums values.
        With given maps, rows whose IDs are unknown raise (``unknown="raise"``) or are dropped.
        ``rating_scale`` (explicit data) is the range predictions are clipped to, when the
        data's own min and max do not span the scale.
        """
        missing = [c for c in ("user_id", "item_id", "value") if c not in frame.columns]
        if missing:
            raise DataError(f"{source}: missing column(s) {', '.join(missing)}")
        n_rows = len(frame)
        # factorize each ID column once (both at once on large frames: Arrow hashes without
        # the GIL); everything after works on integer codes
        threads = 2 if n_rows >= _PARALLEL_ROWS else 1
        with ThreadPoolExecutor(max_workers=min(default_workers(), threads)) as pool:
            encoding_users = pool.submit(_encode, frame["user_id"], user_map)
            i_codes, imap = _encode(frame["item_id"], item_map)
            u_codes, umap = encoding_users.result()
        values = frame["value"].to_numpy(dtype=np.float64)
        stamps = (
            frame["timestamp"].to_numpy(dtype=np.int64)
            if "timestamp" in frame.columns
            else np.zeros(n_rows, dtype=np.int64)
        )
        # event types as codes into their few distinct strings (not one Python str per row)
        kinds = factorize(frame["event"]) if "event" in frame.columns else None
        events = None if kinds is None else _small_codes(kinds[0], len(kinds[1]))
        release_arrow_memory()  # the hash tables of the encodings, before the arrays below
        bad = (u_codes < 0) | (i_codes < 0)
        if bad.any():
            if unknown == "raise":
                row = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"{source}: unknown user or item ID at row {row} "
                    f"(user {frame['user_id'].iat[row]!r}, item {frame['item_id'].iat[row]!r})"
                )
            keep = ~bad
            u_codes, i_codes, values, stamps = (
                u_codes[keep],
                i_codes[keep],
                values[keep],
                stamps[keep],
            )
            events = None if events is None else events[keep]
        u_codes, i_codes, values, stamps, events, csr = _aggregate(
            u_codes, i_codes, values, stamps, events, (len(umap), len(imap)), explicit
        )
        return cls(
            user_map=umap,
            item_map=imap,
            users=u_codes,
            items=i_codes,
            values=values,
            timestamps=stamps,
            explicit=explicit,
            events=None if kinds is None or events is None else kinds[1][events],
            rating_scale=rating_scale if explicit else None,
            _csr=[] if csr is None else [csr],
        )

    @classmethod
    def from_csr(
        cls,
        matrix: sp.spmatrix,
        *,
        user_map: IdMap | None = None,
        item_map: IdMap | None = None,
        explicit: bool = False,
    ) -> Interactions:
        """Build from a users x items sparse matrix (IDs default to the indices as strings)."""
        coo = sp.coo_matrix(matrix)
        n_users, n_items = coo.shape
        umap = user_map or IdMap([str(x) for x in range(n_users)])
        imap = item_map or IdMap([str(x) for x in range(n_items)])
        return cls(
            user_map=umap,
            item_map=imap,
            users=coo.row.astype(np.int32),
            items=coo.col.astype(np.int32),
            values=coo.data.astype(np.float32),
            timestamps=np.zeros(coo.nnz, dtype=np.int64),
            explicit=explicit,
        )

    # ----------------------------------------------------------------- views
    @property
    def n_users(self) -> int:
        return len(self.user_map)

    @property
    def n_items(self) -> int:
        return len(self.item_map)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_users, self.n_items)

    def __len__(self) -> int:
        return int(self.users.shape[0])

    @property
    def csr(self) -> sp.csr_matrix:
        """Users x items CSR of the values (float32, sorted indices); computed once."""
        if not self._csr:
            m = sp.csr_matrix(
                (self.values, (self.users, self.items)), shape=self.shape, dtype=np.float32
            )
            m.sum_duplicates()
            m.sort_indices()
            self._csr.append(m)
        return self._csr[0]

    def binary_csr(self) -> sp.csr_matrix:
        """The CSR with every stored value set to 1."""
        m = self.csr.copy()
        m.data[:] = 1.0
        return m

    def to_frame(self) -> pd.DataFrame:
        """Canonical frame with string IDs."""
        df = pd.DataFrame(
            {
                "user_id": self.user_map.to_ids(self.users),
                "item_id": self.item_map.to_ids(self.items),
                "value": self.values,
                "timestamp": self.timestamps,
            }
        )
        if self.events is not None:
            df["event"] = self.events
        return df

    def subset(self, mask: np.ndarray) -> Interactions:
        """Rows selected by a boolean mask or index array; ID maps are kept unchanged."""
        return replace(
            self,
            users=self.users[mask],
            items=self.items[mask],
            values=self.values[mask],
            timestamps=self.timestamps[mask],
            events=None if self.events is None else self.events[mask],
            _csr=[],
        )

    def with_maps(self, user_map: IdMap, item_map: IdMap) -> Interactions:
        """Re-index onto other maps (e.g. a model's); rows with unknown IDs are dropped."""
        u = user_map.index(self.user_map.to_ids(self.users))
        i = item_map.index(self.item_map.to_ids(self.items))
        keep = (u >= 0) & (i >= 0)
        return replace(
            self.subset(keep),
            user_map=user_map,
            item_map=item_map,
            users=u[keep],
            items=i[keep],
        )

    @property
    def rating_range(self) -> tuple[float, float]:
        """The given rating scale, else (min, max) of the values; clips explicit predictions."""
        if self.rating_scale is not None:
            return self.rating_scale
        if len(self) == 0:
            return (0.0, 0.0)
        return (float(self.values.min()), float(self.values.max()))


def _encode(ids: pd.Series, id_map: IdMap | None) -> tuple[np.ndarray, IdMap]:
    """Dense int32 codes of an ID column (-1 where unknown to a given map) and the map used.

    Hashes the strings once (Arrow dictionary encoding); a new map is built from the sorted
    uniques, so indices do not depend on row order.
    """
    if id_map is None:
        found = arrow_factorize(ids)
        if found is not None and not _has_nul(found[1]):
            # Arrow sorts UTF-8 bytes: code point order, numpy's order of str without NULs
            codes, distinct = found
            order = pc.sort_indices(distinct).to_numpy()
            remap = np.empty(len(distinct), dtype=np.int32)
            remap[order] = np.arange(len(distinct), dtype=np.int32)
            return remap[codes], IdMap.from_distinct(distinct.take(order))
    codes, uniques = factorize(ids)
    if id_map is None:
        order = np.argsort(uniques.astype(str), kind="stable")
        id_map = IdMap(uniques[order])
        remap = np.empty(len(uniques), dtype=np.int32)
        remap[order] = np.arange(len(uniques), dtype=np.int32)
    else:
        remap = id_map.index(uniques).astype(np.int32, copy=False)
    return remap[codes] if len(codes) else codes, id_map


def _small_codes(codes: np.ndarray, n_distinct: int) -> np.ndarray:
    """Codes as int8 when they fit (event types: a quarter of int32's bytes per row)."""
    return codes.astype(np.int8) if n_distinct <= 127 else codes


def _has_nul(values: pa.Array) -> bool:
    """True when a string holds a NUL character (numpy's str order ignores trailing NULs)."""
    return bool(pc.any(pc.match_substring(values, "\x00")).as_py())


def _aggregate(
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    stamps: np.ndarray,
    events: np.ndarray | None,
    shape: tuple[int, int],
    explicit: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, sp.csr_matrix | None]:
    """One row per (user, item): the latest rating for explicit data, summed values for implicit.

    Implicit rows keep the latest timestamp and the event of the latest event (``events``:
    any per-row array, e.g. codes). Duplicates are found from the pairs in CSR order
    (:mod:`nextbuy.data.pairs`), and only the duplicated rows are sorted by time. Returns int32
    users and items, float32 values (sums in float64), and their CSR laid out from the same
    sort (None without scipy's routines: ``Interactions.csr`` builds it).
    """
    n_items = shape[1]
    pairs = sort_pairs(users, items, shape)
    dup = duplicated(users, items, shape, pairs)
    users, items = users.astype(np.int32, copy=False), items.astype(np.int32, copy=False)
    if not dup.any():
        values = values.astype(np.float32)
        csr = None if pairs is None else aggregated_csr(pairs, values, dup, values[:0])
        return users, items, values, stamps, events, csr
    rows = np.flatnonzero(dup)
    key = users[rows].astype(np.int64) * max(n_items, 1) + items[rows]
    order = rows[np.lexsort((stamps[rows], key))]  # by pair, then time: last = latest
    del key
    sorted_key = users[order].astype(np.int64) * max(n_items, 1) + items[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = sorted_key[1:] != sorted_key[:-1]
    latest = order[last]
    if explicit:
        merged = values[latest]
    else:
        starts = np.flatnonzero(np.r_[True, last[:-1]])
        merged = np.add.reduceat(values[order], starts)
    # the rows without duplicates, then the latest row of each duplicated pair: one index
    # array (int32 below 2**31 rows) taken from each column, not a mask, a take and a concat
    idx = np.int32 if len(users) < 2**31 - 1 else np.int64
    keep = np.concatenate([np.flatnonzero(~dup).astype(idx), latest.astype(idx)])

    def kept(column: np.ndarray) -> np.ndarray:
        """``column`` at the kept rows."""
        return column.take(keep)

    merged = merged.astype(np.float32)
    csr = None if pairs is None else aggregated_csr(pairs, values, dup, merged)
    del pairs
    summed = np.concatenate([values[~dup].astype(np.float32), merged])
    return (
        kept(users),
        kept(items),
        summed,
        kept(stamps),
        None if events is None else kept(events),
        csr,
    )
