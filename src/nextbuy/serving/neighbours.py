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
