"""The recommendation service: an immutable model snapshot per request, swapped atomically."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from nextbuy.models.base import Recommender
from nextbuy.serving.filters import CatalogFilters
from nextbuy.serving.settings import ServingSettings

if TYPE_CHECKING:
    from nextbuy.artifacts import ModelArtifact

#: Catalog fields every recommended item carries (null when the catalog lacks them).
ITEM_FIELDS = ("name", "brand", "category", "price")
#: Users scored together in a batch: bounds the dense score block to 256 x n_items floats.
BATCH_CHUNK = 256


class UnknownItemError(LookupError):
    """The item ID is not in the served model; the message says so in a sentence."""

    def __init__(self, item_id: str) -> None:
        super().__init__(
            f"unknown item {item_id!r}: it is not in the catalog of the model being served"
        )


class NoSimilarityError(LookupError):
    """The served model has neither item vectors nor an item-item similarity."""

    def __init__(self, model: str) -> None:
        super().__init__(f"model {model!r} has no item similarity; serve als, bpr, mf, ease or knn")


class NotReadyError(RuntimeError):
    """No model is loaded yet."""


@dataclass(frozen=True)
class Options:
    """What one recommendation request asks for, already validated."""

    k: int = 10
    exclude_seen: bool = True
    exclude_item_ids: Sequence[str] = ()
    categories: Sequence[str] | None = None
    brands: Sequence[str] | None = None
    in_stock_only: bool = False


@dataclass(frozen=True, eq=False)
class ModelState:
    """One loaded model and everything precomputed for serving it; never mutated after build.

    Requests take a reference once and use only it, so a reload that swaps the service's
    reference never changes the model under a request in flight.
    """

    artifact: ModelArtifact
    model: Recommender
    version: str
    name: str
    n_users: int
    n_items: int
    seen_indptr: np.ndarray
    seen_indices: np.ndarray
    popularity: np.ndarray  # float32 share of training users per item
    counts: np.ndarray  # int64 training users per item
    popular_order: np.ndarray  # int32 item indices, most popular first
    popular_rank: np.ndarray  # int32 1-based rank of each item in popular_order
    item_ids: np.ndarray  # object array of str, index order
    item_info: list[dict[str, Any]]  # catalog fields per item (ITEM_FIELDS)
    filters: CatalogFilters
    unit_vectors: np.ndarray | None  # L2-normalised item vectors for cosine similarity
    vector_ok: np.ndarray | None  # items with a non-zero vector
    predicts_ratings: bool
    rating_range: tuple[float, float] | None
    loaded_at: str = field(default_factory=lambda: _utcnow())

    @cached_property
    def item_means(self) -> np.ndarray:
        """Mean training value per item (global mean where an item has none): rating fallback."""
        seen = self.artifact.seen
        sums = np.bincount(seen.indices, weights=seen.data, minlength=self.n_items)
        overall = float(seen.data.mean()) if seen.nnz else 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(self.counts > 0, sums / self.counts, overall)
        return means


def build_state(artifact: ModelArtifact) -> ModelState:
    """Precompute popularity, catalog records, filter codes and unit vectors of an artifact."""
    model = artifact.model
    seen = sp.csr_matrix(artifact.seen)
    n_users, n_items = len(artifact.user_map), len(artifact.item_map)
    counts = np.bincount(seen.indices, minlength=n_items).astype(np.int64)[:n_items]
    order = np.argsort(-counts, kind="stable").astype(np.int32)
    rank = np.empty(n_items, dtype=np.int32)
    rank[order] = np.arange(1, n_items + 1, dtype=np.int32)
    catalog = artifact.catalog
    unit, ok = _unit_vectors(model, n_items)
    return ModelState(
        artifact=artifact,
        model=model,
        version=str(artifact.version),
        name=str(artifact.name),
        n_users=n_users,
        n_items=n_items,
        seen_indptr=np.asarray(seen.indptr, dtype=np.int64),
        seen_indices=np.asarray(seen.indices, dtype=np.int32),
        popularity=(counts / max(seen.shape[0], 1)).astype(np.float32),
        counts=counts,
        popular_order=order,
        popular_rank=rank,
        item_ids=np.asarray(artifact.item_map.ids, dtype=object),
        item_info=_item_records(catalog, n_items),
        filters=CatalogFilters.from_catalog(catalog, n_items),
        unit_vectors=unit,
        vector_ok=ok,
        predicts_ratings=bool(type(model).predicts_ratings),
        rating_range=_rating_range(artifact.manifest, seen) if model.predicts_ratings else None,
    )


class RecommendationService:
    """Answers every read endpoint from the current :class:`ModelState`; reloads swap it.

    ``load`` builds a new state off to the side (in the caller's thread) and then replaces
    one reference: requests already running keep the snapshot they started with.
    """

    def __init__(
        self,
        settings: ServingSettings,
        on_fallback: Callable[[str, int], None] | None = None,
        on_load: Callable[[ModelState], None] | None = None,
    ) -> None:
        #: Limits the routes check (max_k, max_batch_users) travel with the service, so hot
        #: routes need one dependency, not two.
        self.settings = settings
        self.model_dir = Path(settings.model_dir)
        self.mmap = settings.mmap
        self._on_fallback = on_fallback or (lambda endpoint, n: None)
        self._on_load = on_load or (lambda state: None)
        self._state: ModelState | None = None
        self._reload_lock = threading.Lock()
        self._coalescer = ScoreCoalescer()

    # ------------------------------------------------------------------ lifecycle
    @property
    def ready(self) -> bool:
        """True once a model is loaded."""
        return self._state is not None

    @property
    def state(self) -> ModelState:
        """The snapshot to answer one request from (take it once per request)."""
        state = self._state
        if state is None:
            raise NotReadyError("no model loaded yet")
        return state

    def load(
        self, path: Path | None = None, force: bool = False
    ) -> tuple[ModelState | None, ModelState]:
        """Load ``path`` (default: the model dir, following LATEST) and swap it in.

        Returns (previous state, new state); the version already served is kept unless
        ``force``. Raises ``ArtifactError`` and keeps serving the old state when the artifact
        cannot be loaded. Loads are serialised by a lock; reads never wait for it.
        """
        from nextbuy.artifacts import load_artifact, resolve_version_dir

        with self._reload_lock:
            target = resolve_version_dir(path or self.model_dir)
            previous = self._state
            if previous is not None and not force and previous.artifact.path == target:
                return previous, previous
            new = build_state(load_artifact(target, mmap=self.mmap))
            self._state = new  # the atomic swap: one reference assignment
            self._on_load(new)
            return previous, new

    # ------------------------------------------------------------------ recommendations
    def recommend(self, user_id: str, options: Options) -> dict[str, Any]:
        """Top-k items for one user; unknown users get popular items (``fallback``)."""
        state = self.state
        u = state.artifact.user_map.index_of(user_id)
        if u < 0:
            return self._fallback(state, user_id, options)
        scores = _writable(state.model.score(np.array([u], dtype=np.int64)))[0]
        return self._rank(state, user_id, u, scores, options)

    async def recommend_async(self, user_id: str, options: Options) -> dict[str, Any]:
        """:meth:`recommend` for the event loop: concurrent requests share one scoring call.

        Scoring one user reads every item vector (memory-bound); requests that arrive together
        are scored as one matrix product by :class:`ScoreCoalescer`, which under load costs a
        fraction per user. At low load a request is scored alone, without waiting.
        """
        state = self.state
        u = state.artifact.user_map.index_of(user_id)
        if u < 0:
            return self._fallback(state, user_id, options)
        scores = await self._coalescer.score(state, u)
        return self._rank(state, user_id, u, scores, options)

    def _fallback(self, state: ModelState, user_id: str, options: Options) -> dict[str, Any]:
        self._on_fallback("recommend", 1)
        allowed = state.filters.allowed(options.categories, options.brands, options.in_stock_only)
        excluded = _excluded(state, options.exclude_item_ids)
        ids, scores = _popular(state, options.k, allowed, excluded)
        return _answer(state, user_id, "fallback", ids, scores)

    def _rank(
        self, state: ModelState, user_id: str, u: int, scores: np.ndarray, options: Options
    ) -> dict[str, Any]:
        """Filter one user's score row (overwritten in place) and answer its top k."""
        allowed = state.filters.allowed(options.categories, options.brands, options.in_stock_only)
        excluded = _excluded(state, options.exclude_item_ids)
        if options.exclude_seen:
            scores[state.seen_indices[state.seen_indptr[u] : state.seen_indptr[u + 1]]] = -np.inf
        if excluded is not None:
            scores[excluded] = -np.inf
        if allowed is None:
            ids, vals = _top_row(scores, options.k)
        else:
            # Rank only the allowed items: a row that is mostly -inf slows argpartition 10x.
            candidates = np.flatnonzero(allowed)
            ids, vals = _top_row(scores[candidates], options.k)
            ids = candidates[ids]
        return _answer(state, user_id, "personalized", ids, vals)

    def recommend_batch(self, user_ids: Sequence[str], options: Options) -> dict[str, Any]:
        """One answer per user, in order; known users are scored together in chunks."""
        state = self.state
        users = state.artifact.user_map.index(list(user_ids)).astype(np.int64)
        allowed = state.filters.allowed(options.categories, options.brands, options.in_stock_only)
        excluded = _excluded(state, options.exclude_item_ids)
        known = np.flatnonzero(users >= 0)
        candidates = None if allowed is None else np.flatnonzero(allowed)
        k = min(options.k, state.n_items)
        out_ids = np.full((len(users), k), -1, dtype=np.int32)
        out_scores = np.full((len(users), k), -np.inf, dtype=np.float32)
        for start in range(0, len(known), BATCH_CHUNK):
            rows = known[start : start + BATCH_CHUNK]
            scores = _writable(state.model.score(users[rows]))
            if excluded is not None:
                scores[:, excluded] = -np.inf
            if options.exclude_seen:
                r, c = _seen_pairs(state, users[rows])
                scores[r, c] = -np.inf
            if candidates is None:
                ids, vals = _top_rows(scores, k)
            else:
                ids, vals = _top_rows(scores[:, candidates], k)
                ids = candidates[ids]
            out_ids[rows, : ids.shape[1]], out_scores[rows, : ids.shape[1]] = ids, vals
        n_unknown = len(users) - len(known)
        if n_unknown:
            self._on_fallback("recommend_batch", n_unknown)
            ids, scores = _popular(state, k, allowed, excluded)
            unknown = users < 0
            out_ids[unknown, : len(ids)] = ids
            out_scores[unknown, : len(ids)] = scores
        results = [
            _answer(
                state,
                user_id,
                "personalized" if users[i] >= 0 else "fallback",
                out_ids[i],
                out_scores[i],
            )
            for i, user_id in enumerate(user_ids)
        ]
        return {"model_version": state.version, "results": results}

    def popular(self, options: Options) -> dict[str, Any]:
        """The most popular items passing the filters."""
        state = self.state
        allowed = state.filters.allowed(options.categories, options.brands, options.in_stock_only)
        excluded = _excluded(state, options.exclude_item_ids)
        ids, scores = _popular(state, options.k, allowed, excluded)
        return {"model_version": state.version, "items": _items(state, ids, scores)}

    # ------------------------------------------------------------------ items
    def item(self, item_id: str) -> dict[str, Any]:
        """Catalog fields, extra attributes and training popularity of one item."""
        state = self.state
        i = _item_index(state, item_id)
        attributes: dict[str, Any] = {}
        in_stock = None
        catalog = state.artifact.catalog
        if catalog is not None and len(catalog) == state.n_items:
            row = catalog.iloc[i]
            for column, value in row.items():
                if column in ITEM_FIELDS or column == "item_id":
                    continue
                value = _plain(value)
                if column == "in_stock":
                    in_stock = None if value is None else bool(state.filters.in_stock[i])
                else:
                    attributes[str(column)] = value
        return {
            "item_id": item_id,
            **state.item_info[i],
            "in_stock": in_stock,
            "attributes": attributes,
            "n_users": int(state.counts[i]),
            "popularity_rank": int(state.popular_rank[i]),
            "model_version": state.version,
        }

    def similar(self, item_id: str, k: int) -> dict[str, Any]:
        """Items most similar to ``item_id``: cosine of item vectors when the model has them.

        Unit vectors are precomputed at load, so this is one matrix-vector product and a
        top-k; models without vectors answer with their own ``similar_items``.
        """
        state = self.state
        i = _item_index(state, item_id)
        if state.unit_vectors is not None:
            sims = state.unit_vectors @ state.unit_vectors[i]
            if state.vector_ok is not None:
                sims[~state.vector_ok] = -np.inf
            method = "cosine"
        else:  # item-kNN, EASE, popularity: the model's own item-item similarity
            try:
                ids, vals = state.model.similar_items(np.array([i], dtype=np.int64), k)
            except NotImplementedError:
                raise NoSimilarityError(state.model.name) from None
            keep = (ids[0] >= 0) & np.isfinite(vals[0])
            return _similar_answer(state, item_id, "model", ids[0][keep], vals[0][keep])
        sims[i] = -np.inf
        ids, vals = _top_row(sims.astype(np.float32, copy=False), k)
        return _similar_answer(state, item_id, method, ids, vals)

    # ------------------------------------------------------------------ predictions
    def predict(self, user_id: str, item_id: str) -> dict[str, Any]:
        """Rating (explicit models, clipped to the data's scale) or score of one pair."""
        state = self.state
        i = _item_index(state, item_id)
        u = state.artifact.user_map.index_of(user_id)
        value = math.nan
        if u >= 0:
            raw = state.model.predict(np.array([u], dtype=np.int64), np.array([i], dtype=np.int64))
            value = float(np.asarray(raw, dtype=np.float64).ravel()[0])
        strategy = "personalized"
        if not math.isfinite(value):
            strategy = "fallback"
            self._on_fallback("predict", 1)
            value = float(state.item_means[i] if state.predicts_ratings else state.popularity[i])
        clipped = False
        if state.predicts_ratings and state.rating_range is not None:
            low, high = state.rating_range
            clipped = not (low <= value <= high)
            value = min(max(value, low), high)
        return {
            "user_id": user_id,
            "item_id": item_id,
            "prediction": round(value, 6),
            "kind": "rating" if state.predicts_ratings else "score",
            "strategy": strategy,
            "rating_range": state.rating_range,
            "clipped": clipped,
            "model_version": state.version,
        }

    # ------------------------------------------------------------------ model card
    def model_card(self) -> dict[str, Any]:
        """What is served: algorithm, version, dates, parameters, metrics, sizes."""
        state = self.state
        manifest = state.artifact.manifest
        return {
            "name": state.name,
            "model": str(manifest.get("model", state.model.name)),
            "version": state.version,
            "trained_at": manifest.get("created_at"),
            "loaded_at": state.loaded_at,
            "params": dict(manifest.get("params", state.model.params)),
            "metrics": dict(manifest.get("metrics") or {}),
            "n_users": state.n_users,
            "n_items": state.n_items,
            "explicit": bool(manifest.get("explicit", False)),
            "predicts_ratings": state.predicts_ratings,
            "rating_range": _rating_range(manifest, state.artifact.seen),
            "path": str(state.artifact.path),
        }


class ScoreCoalescer:
    """Collects single-user scoring requests made in one event-loop turn and scores them at once.

    ``score`` returns a future; the first request of a turn schedules ``_flush`` with
    ``call_soon``, which runs after every request already queued in that turn has reached its
    own ``score`` call. Requests are grouped by model snapshot, so a reload in between never
    mixes versions. Runs on the event loop only (no locks needed).
    """

    def __init__(self, max_batch: int = 64) -> None:
        self.max_batch = max_batch
        self._pending: dict[int, tuple[ModelState, list[int], list[asyncio.Future[np.ndarray]]]]
        self._pending = {}
        self._scheduled = False

    def score(self, state: ModelState, user: int) -> asyncio.Future[np.ndarray]:
        """A future resolving to ``user``'s writable float32 score row."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        _, users, futures = self._pending.setdefault(id(state), (state, [], []))
        users.append(user)
        futures.append(future)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        self._scheduled = False
        for state, users, futures in pending.values():
            for start in range(0, len(users), self.max_batch):
                chunk = futures[start : start + self.max_batch]
                try:
                    block = state.model.score(np.asarray(users[start : start + self.max_batch]))
                    rows = _writable(block)
                except Exception as exc:  # every waiting request gets the error, not a hang
                    for future in chunk:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for row, future in zip(rows, chunk, strict=True):
                    if not future.done():  # a cancelled request (client gone) is skipped
                        future.set_result(row)


# ---------------------------------------------------------------------- helpers
def _utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value from a pandas cell (NaN/NA -> None, numpy -> Python)."""
    if value is None or (not isinstance(value, (str, bytes, list, dict)) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


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


def _rating_range(manifest: dict[str, Any], seen: sp.csr_matrix) -> tuple[float, float] | None:
    """The rating scale: the manifest's when it has one, else the training data's min and max."""
    if not manifest.get("explicit", False) and "rating_range" not in manifest:
        return None
    stored = manifest.get("rating_range")
    if isinstance(stored, (list, tuple)) and len(stored) == 2:
        return (float(stored[0]), float(stored[1]))
    if seen.nnz == 0:
        return None
    return (float(seen.data.min()), float(seen.data.max()))


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


def _item_index(state: ModelState, item_id: str) -> int:
    i = state.artifact.item_map.index_of(item_id)
    if i < 0:
        raise UnknownItemError(item_id)
    return i


def _excluded(state: ModelState, item_ids: Sequence[str]) -> np.ndarray | None:
    """Indices of known items among ``item_ids`` (None when there are none)."""
    if not item_ids:
        return None
    idx = state.artifact.item_map.index(list(item_ids))
    idx = idx[idx >= 0]
    return idx if len(idx) else None


def _seen_pairs(state: ModelState, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row position, item) pairs of the training rows of ``users``, without scipy indexing."""
    starts = state.seen_indptr[users]
    lengths = state.seen_indptr[users + 1] - starts
    total = int(lengths.sum())
    rows = np.repeat(np.arange(len(users)), lengths)
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return rows, state.seen_indices[np.repeat(starts, lengths) + offsets]


def _writable(scores: np.ndarray) -> np.ndarray:
    """Scores as a float32 array this request may overwrite (copied only when it must be)."""
    scores = np.asarray(scores)
    if scores.dtype != np.float32 or not scores.flags.writeable:
        scores = scores.astype(np.float32)
    return scores


def _top_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k of a 2-D block, best first (argpartition at n - k: no negated copy)."""
    n = scores.shape[1]
    k = min(k, n)
    if k < n:
        part = np.argpartition(scores, n - k, axis=1)[:, n - k :]
    else:
        part = np.broadcast_to(np.arange(n), scores.shape).copy()
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)


def _top_row(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of one score row, best first, without -inf/NaN entries (argpartition + sort k)."""
    n = scores.shape[0]
    k = min(k, n)
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    part = np.argpartition(scores, n - k)[n - k :] if k < n else np.arange(n)
    vals = scores[part]
    order = np.argsort(-vals, kind="stable")
    ids, vals = part[order], vals[order]
    keep = np.isfinite(vals)
    return ids[keep], vals[keep]


def _popular(
    state: ModelState, k: int, allowed: np.ndarray | None, excluded: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The k most popular items passing ``allowed`` and not in ``excluded``."""
    order = state.popular_order
    if allowed is not None:
        order = order[allowed[order]]
    if excluded is not None:
        head = order[: k + len(excluded)]
        order = head[~np.isin(head, excluded)]
    ids = order[:k]
    return ids, state.popularity[ids]


def _items(state: ModelState, ids: np.ndarray, scores: np.ndarray) -> list[dict[str, Any]]:
    """Response items for index and score arrays (k entries: the only per-item Python work)."""
    keep = np.asarray(ids) >= 0
    ids = np.asarray(ids)[keep]
    values = np.round(np.asarray(scores, dtype=np.float64)[keep], 6).tolist()
    info = state.item_info
    return [
        {"item_id": item_id, "rank": rank, "score": score, **info[i]}
        for rank, (i, item_id, score) in enumerate(
            zip(ids.tolist(), state.item_ids[ids].tolist(), values, strict=True), start=1
        )
    ]


def _answer(
    state: ModelState, user_id: str, strategy: str, ids: np.ndarray, scores: np.ndarray
) -> dict[str, Any]:
    keep = np.isfinite(scores)
    return {
        "user_id": user_id,
        "model_version": state.version,
        "strategy": strategy,
        "recommendations": _items(state, np.asarray(ids)[keep], np.asarray(scores)[keep]),
    }


def _similar_answer(
    state: ModelState, item_id: str, method: str, ids: np.ndarray, scores: np.ndarray
) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "model_version": state.version,
        "method": method,
        "items": _items(state, ids, scores),
    }
