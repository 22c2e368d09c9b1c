"""Each trained item's nearest neighbours by cosine, kept once computed: ``/similar`` without a
product over the catalog.

An item's cosine ranking over the trained items depends on the model alone (not on stock,
hidden items or new items), so its top :data:`WIDTH` entries are kept in a table the first
time the item is asked about and reused by every snapshot of that model version. A request
drops the blocked entries of the kept list; when at least ``k`` remain (or the list already
holds every finite score) the answer is exact: any trained item outside the list scores below
all of it. New items with vectors are scored against the query and merged in. Otherwise the
caller computes the full cosine row (the exact path).
"""

from __future__ import annotations

import numpy as np

from nextbuy.retrieval import topk

#: Neighbours kept per item: covers the default ``k`` of 10 with room for blocked entries.
WIDTH = 32
#: Catalogs larger than this keep no table (``WIDTH`` x 8 bytes per item: 25.6 MB at 100,000).
MAX_ITEMS = 100_000
#: Tables are filled for every item at load when the all-pairs product costs at most this many
#: multiply-adds (items^2 x factors; 20,000 items x 64 factors: 2.0 s with the top-k, 2-core
#: machine at load 2.8),
#: and as items are asked about above it.
FILL_AT_LOAD = 20_000**2 * 64
#: Items per block of the fill at load (a block's cosine rows: 20 MB at 20,000 items).
_FILL_BLOCK = 256


class NeighbourTable:
    """Top-:data:`WIDTH` cosine neighbours per trained item, filled as items are asked about.

    The only mutable part of a snapshot: rows are written before their ``filled`` flag, and a
    row written twice gets the same values, so readers never see a half-written list.
    """

    def __init__(self, n_items: int, width: int = WIDTH) -> None:
        self.width = width
        self.ids = np.empty((n_items, width), dtype=np.int32)  # -1 past the finite entries
        self.scores = np.empty((n_items, width), dtype=np.float32)
        self.filled = np.zeros(n_items, dtype=bool)

    @classmethod
    def for_catalog(cls, unit: np.ndarray | None) -> NeighbourTable | None:
        """A table for these unit vectors, None without vectors or above :data:`MAX_ITEMS`."""
        if unit is None or not 0 < len(unit) <= MAX_ITEMS:
            return None
        return cls(len(unit), min(WIDTH, len(unit)))

    def fill(self, unit: np.ndarray, off: np.ndarray | None) -> bool:
        """Fill every row now when the catalog is small enough (:data:`FILL_AT_LOAD`), in blocks
        of cosine rows; ``off``: the items with a zero vector. True when filled."""
        n, d = unit.shape
        if n * n * d > FILL_AT_LOAD:
            return False
        for start in range(0, n, _FILL_BLOCK):
            block = np.asarray(unit[start : start + _FILL_BLOCK] @ unit.T, dtype=np.float32)
            rows = np.arange(len(block))
            block[rows, start + rows] = -np.inf  # the item itself
            if off is not None:
                block[:, off] = -np.inf
            ids, vals = topk(block, self.width, block=_FILL_BLOCK)
            self.ids[start : start + len(block)] = np.where(np.isfinite(vals), ids, -1)
            self.scores[start : start + len(block)] = vals
        self.filled[:] = True
        return True

    def put(self, i: int, sims: np.ndarray) -> None:
        """Keep the top of item ``i``'s cosine row over the trained items (``sims``: the item
        itself and zero vectors already at ``-inf``)."""
        ids, vals = topk(sims[None, :], self.width)
        self.ids[i] = np.where(np.isfinite(vals[0]), ids[0], -1)
        self.scores[i] = vals[0]
        self.filled[i] = True

    def lookup(
        self, i: int, k: int, blocked: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Item ``i``'s ``k`` best unblocked neighbours as (ids, scores), or None when the kept
        list cannot say (not filled yet, ``k`` above the width, too many entries blocked).

        ``blocked`` is sorted (``np.flatnonzero``), so membership is one ``searchsorted``.
        """
        if k > self.width or not self.filled[i]:
            return None
        ids, vals = self.ids[i], self.scores[i]
        keep = ids >= 0
        complete = not keep.all()  # padding: every finite score of the row is in the list
        if blocked is not None and len(blocked):
            at = np.minimum(np.searchsorted(blocked, ids), len(blocked) - 1)
            keep &= blocked[at] != ids
        if not complete and int(keep.sum()) < k:
            return None
        return ids[keep][:k].astype(np.int64), vals[keep][:k]
