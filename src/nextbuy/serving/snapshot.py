"""The served model snapshot: one loaded artifact and everything precomputed to serve it.

A :class:`Snapshot` is immutable: requests take one reference and use only it, so a reload
or a catalog change (each builds a new snapshot and swaps one reference) never changes the
model under a request in flight. Every serving helper reads a snapshot; none is imported here.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from nextbuy.data.catalog import ITEM_FIELDS
from nextbuy.models.base import Recommender
from nextbuy.serving.filters import CatalogFilters
from nextbuy.serving.neighbours import NeighbourTable
from nextbuy.serving.oncecell import OnceCell

if TYPE_CHECKING:
    from nextbuy.artifacts import ModelArtifact
    from nextbuy.serving.history import HistoryOverlay
    from nextbuy.serving.live import LiveCatalog

#: Serial numbers of snapshots (a catalog change makes a new snapshot too).
_SERIALS = itertools.count(1)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One loaded model and everything precomputed for serving it; never mutated after build."""

    artifact: ModelArtifact
    model: Recommender
    version: str
    name: str
    n_users: int
    n_items: int
    seen_indptr: np.ndarray
    seen_indices: np.ndarray
    popularity: np.ndarray  # float32 share of training users per item (decayed: trending)
    counts: np.ndarray  # int64 training users per item
    popular_order: np.ndarray  # int32 item indices, most popular (or trending) first
    popular_rank: np.ndarray  # int32 1-based rank of each item in popular_order
    item_ids: np.ndarray  # object array of str, index order
    item_info: list[dict[str, Any]]  # catalog fields per item (ITEM_FIELDS)
    filters: CatalogFilters
    unit_vectors: np.ndarray | None  # L2-normalised item vectors for cosine similarity
    vector_ok: np.ndarray | None  # items with a non-zero vector
    predicts_ratings: bool
    rating_range: tuple[float, float] | None
    loaded_at: str = field(default_factory=lambda: utcnow())
    #: Online layer (set when the server records events): catalog changes and new items,
    #: per-user histories since training. Item arrays above then cover
    #: trained items followed by new items; ``n_items`` stays the model's own item count.
    live: LiveCatalog | None = None
    histories: HistoryOverlay | None = None
    #: Approximate retrieval (``serving.approximate.Retriever``), None: every item is scored.
    retriever: Any = None
    #: Kept cosine neighbours of trained items (``serving.neighbours``), shared by every
    #: snapshot of this model version; None without vectors or for very large catalogs.
    neighbours: NeighbourTable | None = None
    #: The norm prefix of the model's items (``serving.pruning``), shared like ``neighbours``.
    norm_prefix: OnceCell[Any] = field(default_factory=OnceCell)
    #: Unique per snapshot: cached answers are stamped with it.
    serial: int = field(init=False, default_factory=lambda: next(_SERIALS))

    @property
    def n_total(self) -> int:
        """Items that can be answered: trained plus new."""
        return len(self.item_ids)

    def neighbours_hold(self, i: int, k: int) -> bool:
        """True when trained item ``i``'s kept neighbours may answer ``k`` without a product."""
        table = self.neighbours
        return table is not None and i < self.n_items and k <= table.width and table.filled[i]

    @cached_property
    def vector_off(self) -> np.ndarray | None:
        """Indices of the items with a zero vector (never similar), None when there are none:
        one small index array instead of a mask inverted over the catalog per request."""
        return None if self.vector_ok is None else np.flatnonzero(~self.vector_ok)

    @cached_property
    def item_means(self) -> np.ndarray:
        """Mean training value per item (global mean where an item has none): rating fallback."""
        seen = self.artifact.seen
        counts = self.counts[: self.n_items]
        sums = np.bincount(seen.indices, weights=seen.data, minlength=self.n_items)
        overall = float(seen.data.mean()) if seen.nnz else 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, sums / counts, overall)
        return means


def build_snapshot(artifact: ModelArtifact) -> Snapshot:
    """Precompute popularity, catalog records, filter codes and unit vectors of an artifact."""
    model = artifact.model
    seen = sp.csr_matrix(artifact.seen)
    n_users, n_items = len(artifact.user_map), len(artifact.item_map)
    counts = np.bincount(seen.indices, minlength=n_items).astype(np.int64)[:n_items]
    # the fallback list: trending scores when the training data had timestamps, else counts
    ranked = counts if artifact.fallback is None else np.asarray(artifact.fallback, np.float64)
    order = np.argsort(-ranked, kind="stable").astype(np.int32)
    rank = np.empty(n_items, dtype=np.int32)
    rank[order] = np.arange(1, n_items + 1, dtype=np.int32)
    catalog = artifact.catalog
    unit, ok = _unit_vectors(model, n_items)
    return Snapshot(
        artifact=artifact,
        model=model,
        version=str(artifact.version),
        name=str(artifact.name),
        n_users=n_users,
        n_items=n_items,
        seen_indptr=np.asarray(seen.indptr, dtype=np.int64),
        seen_indices=np.asarray(seen.indices, dtype=np.int32),
        popularity=(ranked / max(seen.shape[0], 1)).astype(np.float32),
        counts=counts,
        popular_order=order,
        popular_rank=rank,
        item_ids=np.asarray(artifact.item_map.ids, dtype=object),
        item_info=_item_records(catalog, n_items),
        filters=CatalogFilters.from_catalog(catalog, n_items),
        unit_vectors=unit,
        vector_ok=ok,
        neighbours=NeighbourTable.for_catalog(unit),
        predicts_ratings=bool(type(model).predicts_ratings),
        rating_range=rating_range(artifact.manifest, seen) if model.predicts_ratings else None,
    )


def rating_range(manifest: dict[str, Any], seen: sp.csr_matrix) -> tuple[float, float] | None:
    """The rating scale: the manifest's when it has one, else the training data's min and max."""
    if not manifest.get("explicit", False) and "rating_range" not in manifest:
        return None
    stored = manifest.get("rating_range")
    if isinstance(stored, (list, tuple)) and len(stored) == 2:
        return (float(stored[0]), float(stored[1]))
    if seen.nnz == 0:
        return None
    return (float(seen.data.min()), float(seen.data.max()))


def utcnow() -> str:
    """Now, UTC, ISO 8601 to the second (``2024-05-01T12:00:00Z``)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _item_records(catalog: pd.DataFrame | None, n_items: int) -> list[dict[str, Any]]:
    """The ITEM_FIELDS of each item as a dict (built once per load, reused by every answer)."""
    columns: dict[str, list[Any]] = {}
    for name in ITEM_FIELDS:
        if catalog is None or name not in catalog.columns or len(catalog) != n_items:
            columns[name] = [None] * n_items
            continue
        col = catalog[name]
        if name == "price":
            values = pd.to_numeric(col, errors="coerce").astype("float64")
            columns[name] = [None if math.isnan(v) else v for v in values.tolist()]
        else:
            text = col.astype("string")
            columns[name] = [None if v is pd.NA else v for v in text.tolist()]
    rows = zip(*columns.values(), strict=True)
    return [dict(zip(ITEM_FIELDS, values, strict=True)) for values in rows]


def _unit_vectors(model: Recommender, n_items: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """L2-normalised item vectors (and the non-zero mask), or (None, None) without vectors."""
    try:
        vectors = model.item_vectors()
    except Exception:  # a model without usable vectors falls back to its own similarity
        return None, None
    if vectors is None or len(vectors) != n_items:
        return None, None
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1)
    ok = norms > 0
    unit = np.ascontiguousarray(vectors / np.maximum(norms, 1e-12)[:, None], dtype=np.float32)
    return unit, None if ok.all() else ok
