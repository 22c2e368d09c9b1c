"""The recommendation service: an immutable model snapshot per request, swapped atomically."""

from __future__ import annotations

import asyncio
import functools
import itertools
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

from nextbuy.errors import UnsupportedOperation
from nextbuy.models.base import Recommender
from nextbuy.serving import ranking
from nextbuy.serving.catalog import Rules, attach_catalog, extend_scores, item_index
from nextbuy.serving.filters import CatalogFilters
from nextbuy.serving.settings import ServingSettings

if TYPE_CHECKING:
    from nextbuy.artifacts import ModelArtifact
    from nextbuy.serving.cache import AnswerCache
    from nextbuy.serving.catalog import LiveCatalog
    from nextbuy.serving.history import HistoryOverlay, UserHistory

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
    include_out_of_stock: bool = False
    explain: bool = False

    def cache_key(self, user_id: str) -> tuple[Any, ...]:
        """A hashable key of one user's request (lists become tuples)."""
        return (
            user_id,
            self.k,
            self.exclude_seen,
            tuple(self.exclude_item_ids),
            None if self.categories is None else tuple(self.categories),
            None if self.brands is None else tuple(self.brands),
            self.in_stock_only,
            self.include_out_of_stock,
            self.explain,
        )


#: Serial numbers of model snapshots (a catalog change makes a new snapshot too).
_SERIALS = itertools.count(1)


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
    #: Online layer (set when the server records events): catalog changes and new items, and
    #: per-user histories since training. Item arrays above then cover trained items followed
    #: by new items; ``n_items`` stays the model's own item count.
    live: LiveCatalog | None = None
    histories: HistoryOverlay | None = None
    #: Unique per snapshot: cached answers are stamped with it.
    serial: int = field(init=False, default_factory=lambda: next(_SERIALS))

    @property
    def n_total(self) -> int:
        """Items that can be answered: trained plus new."""
        return len(self.item_ids)

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
        prepare: Callable[[ModelState], ModelState] | None = None,
    ) -> None:
        #: Limits the routes check (max_k, max_batch_users) travel with the service, so hot
        #: routes need one dependency, not two.
        self.settings = settings
        self.model_dir = Path(settings.model_dir)
        self.mmap = settings.mmap
        self._on_fallback = on_fallback or (lambda endpoint, n: None)
        self._on_load = on_load or (lambda state: None)
        #: Completes a freshly built snapshot before it is swapped in: the online layer adds
        #: the stored catalog changes and users' histories; without one, the business rules
        #: and the trained catalog's stock flags still apply.
        self._prepare = prepare or functools.partial(
            attach_catalog, rules=Rules.from_settings(settings)
        )
        self._state: ModelState | None = None
        self._reload_lock = threading.Lock()
        self._coalescer = ScoreCoalescer()
        #: Per-user answer cache (set by the app when ``cache_size`` > 0).
        self.cache: AnswerCache | None = None

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
            new = self._prepare(build_state(load_artifact(target, mmap=self.mmap)))
            self._state = new  # the atomic swap: one reference assignment
            self._on_load(new)
            return previous, new

    def update_state(self, change: Callable[[ModelState], ModelState]) -> ModelState:
        """Swap in ``change(current snapshot)`` (catalog updates), serialised with reloads.

        ``change`` builds a new snapshot and must not modify the current one: requests in
        flight keep reading it.
        """
        with self._reload_lock:
            new = change(self.state)
            self._state = new
            return new

    # ------------------------------------------------------------------ recommendations
    def recommend(self, user_id: str, options: Options) -> dict[str, Any]:
        """Top-k items for one user; unknown users get popular items (``fallback``).

        A user with events since training is scored from the updated history (fold-in);
        answers are cached per user until the user's next event or a new snapshot.
        """
        state = self.state
        history = state.histories.get(user_id) if state.histories is not None else None
        key, stamp, cached = self._cached(state, user_id, history, options)
        if cached is not None:
            return cached
        u = state.artifact.user_map.index_of(user_id)
        if history is not None:
            answer = self._rank_history(state, user_id, u, history, options)
        elif u < 0:
            answer = self._fallback(state, user_id, options)
        else:
            scores = _writable(state.model.score(np.array([u], dtype=np.int64)))[0]
            answer = self._rank(state, user_id, u, scores, options)
        return self._remember(key, stamp, answer)

    async def recommend_async(self, user_id: str, options: Options) -> dict[str, Any]:
        """:meth:`recommend` for the event loop: concurrent requests share one scoring call.

        Scoring one user reads every item vector (memory-bound); requests that arrive together
        are scored as one matrix product by :class:`ScoreCoalescer`, which under load costs a
        fraction per user. At low load a request is scored alone, without waiting.
        """
        state = self.state
        histories = state.histories
        if histories is not None and self.settings.sync_reads:
            # several worker processes: the user's event may have reached another one
            await asyncio.to_thread(histories.catch_up)
        history = histories.get(user_id) if histories is not None else None
        key, stamp, cached = self._cached(state, user_id, history, options)
        if cached is not None:
            return cached
        u = state.artifact.user_map.index_of(user_id)
        if history is not None:
            answer = self._rank_history(state, user_id, u, history, options)
        elif u < 0:
            answer = self._fallback(state, user_id, options)
        else:
            scores = await self._coalescer.score(state, u)
            answer = self._rank(state, user_id, u, scores, options)
        return self._remember(key, stamp, answer)

    def _cached(
        self, state: ModelState, user_id: str, history: UserHistory | None, options: Options
    ) -> tuple[Any, Any, dict[str, Any] | None]:
        """(key, stamp, cached answer or None); key is None when caching is off."""
        cache = self.cache
        if cache is None:
            return None, None, None
        key = options.cache_key(user_id)
        stamp = (state.serial, 0 if history is None else history.version)
        return key, stamp, cache.get(key, stamp)

    def _remember(self, key: Any, stamp: Any, answer: dict[str, Any]) -> dict[str, Any]:
        if key is not None and self.cache is not None:
            self.cache.put(key, stamp, answer)
        return answer

    def _fallback(
        self,
        state: ModelState,
        user_id: str,
        options: Options,
        history: np.ndarray | None = None,
    ) -> dict[str, Any]:
        """Popular items passing the filters and rules, minus ``history`` (item indices)."""
        self._on_fallback("recommend", 1)
        ids, scores = ranking.popular(state, options, options.k, history)
        answer = _answer(state, user_id, "fallback", ids, scores)
        if options.explain:
            answer["explain_note"] = "popular items: the model knows nothing of this user yet"
        return answer

    def _rank(
        self, state: ModelState, user_id: str, u: int, scores: np.ndarray, options: Options
    ) -> dict[str, Any]:
        """Filter one user's score row (overwritten in place) and answer its top k."""
        pairs = None
        if options.exclude_seen:
            seen = state.seen_indices[state.seen_indptr[u] : state.seen_indptr[u + 1]]
            seen = ranking.without_repurchasable(state, seen)
            pairs = (np.zeros(len(seen), dtype=np.int64), seen)
        block = extend_scores(state, scores[None, :])
        ids, vals = ranking.rank(state, block, options, options.k, pairs)
        answer = _answer(state, user_id, "personalized", ids[0], vals[0])
        if options.explain:
            _explain(state, answer, state.artifact.seen[u])
        return answer

    def _rank_history(
        self, state: ModelState, user_id: str, u: int, history: UserHistory, options: Options
    ) -> dict[str, Any]:
        """Answer a user with events since training from the up-to-date history.

        Factor models fold the user in against the fixed item factors, EASE and kNN score the
        row itself; new items come from their attributes. A user the model cannot score at
        all (events on unknown items only) gets the popular list minus what they had.
        """
        resolved = history.resolve(state, u)
        exclude = ranking.history_exclusions(state, resolved, options)
        if resolved.row.nnz == 0 and u < 0:
            return self._fallback(state, user_id, options, exclude)
        users = np.full(1, -1, dtype=np.int64)
        raw = state.model.score(users, resolved.row, recalculate_user=True)
        block = extend_scores(state, _writable(raw))
        pairs = (np.zeros(len(exclude), dtype=np.int64), exclude)
        ids, vals = ranking.rank(state, block, options, options.k, pairs)
        answer = _answer(state, user_id, "personalized", ids[0], vals[0])
        if options.explain:
            _explain(state, answer, resolved.row)
        return answer

    def recommend_batch(self, user_ids: Sequence[str], options: Options) -> dict[str, Any]:
        """One answer per user, in order; known users are scored together in chunks.

        Users with events since training are folded in together from their updated histories.
        """
        state = self.state
        users = state.artifact.user_map.index(list(user_ids)).astype(np.int64)
        overlay = state.histories
        histories = [overlay.get(u) for u in user_ids] if overlay is not None else []
        online = np.array([h is not None for h in histories], dtype=bool)
        if not len(online):
            online = np.zeros(len(users), dtype=bool)
        k = min(options.k, state.n_total)
        out_ids = np.full((len(users), k), -1, dtype=np.int64)
        out_scores = np.full((len(users), k), -np.inf, dtype=np.float32)
        personal = (users >= 0) | online
        fast = np.flatnonzero((users >= 0) & ~online)
        for start in range(0, len(fast), BATCH_CHUNK):
            rows = fast[start : start + BATCH_CHUNK]
            scores = extend_scores(state, _writable(state.model.score(users[rows])))
            pairs = None
            if options.exclude_seen:
                r, c = _seen_pairs(state, users[rows])
                if state.live is not None and state.live.repurchasable is not None:
                    keep = ~state.live.repurchasable[c]
                    r, c = r[keep], c[keep]
                pairs = (r, c)
            ids, vals = ranking.rank(state, scores, options, k, pairs)
            out_ids[rows, : ids.shape[1]], out_scores[rows, : ids.shape[1]] = ids, vals
        with_history = np.flatnonzero(online)
        resolved = [
            history.resolve(state, int(users[i]))
            for i, history in enumerate(histories)
            if history is not None
        ]
        excluded = [ranking.history_exclusions(state, r, options) for r in resolved]
        scorable = [j for j, r in enumerate(resolved) if r.row.nnz or users[with_history[j]] >= 0]
        for start in range(0, len(scorable), BATCH_CHUNK):
            chunk = scorable[start : start + BATCH_CHUNK]
            block = sp.csr_matrix(sp.vstack([resolved[j].row for j in chunk]))
            users_of_rows = np.full(len(chunk), -1, dtype=np.int64)
            raw = state.model.score(users_of_rows, block, recalculate_user=True)
            scores = extend_scores(state, _writable(raw))
            lengths = [len(excluded[j]) for j in chunk]
            r = np.repeat(np.arange(len(chunk)), lengths)
            c = np.concatenate([excluded[j] for j in chunk]) if chunk else np.empty(0, np.int64)
            ids, vals = ranking.rank(state, scores, options, k, (r, c.astype(np.int64)))
            rows = with_history[chunk]
            out_ids[rows, : ids.shape[1]], out_scores[rows, : ids.shape[1]] = ids, vals
        for j in sorted(set(range(len(resolved))) - set(scorable)):  # events on unknown items only
            i = with_history[j]
            personal[i] = False
            ids, vals = ranking.popular(state, options, k, excluded[j])
            out_ids[i, : len(ids)], out_scores[i, : len(ids)] = ids, vals
        strangers = (users < 0) & ~online
        if strangers.any():
            ids, vals = ranking.popular(state, options, k)
            out_ids[strangers, : len(ids)] = ids
            out_scores[strangers, : len(ids)] = vals
        n_fallback = int((~personal).sum())
        if n_fallback:
            self._on_fallback("recommend_batch", n_fallback)
        results = [
            _answer(
                state,
                user_id,
                "personalized" if personal[i] else "fallback",
                out_ids[i],
                out_scores[i],
            )
            for i, user_id in enumerate(user_ids)
        ]
        return {"model_version": state.version, "results": results}

    def popular(self, options: Options) -> dict[str, Any]:
        """The most popular items passing the filters and rules."""
        state = self.state
        ids, scores = ranking.popular(state, options, options.k)
        return {"model_version": state.version, "items": _items(state, ids, scores)}

    # ------------------------------------------------------------------ items
    def item(self, item_id: str) -> dict[str, Any]:
        """Catalog fields, extra attributes and training popularity of one item."""
        state = self.state
        i = _item_index(state, item_id)
        attributes: dict[str, Any] = {}
        in_stock = None
        catalog = state.artifact.catalog
        if catalog is not None and len(catalog) == state.n_items and i < state.n_items:
            row = catalog.iloc[i]
            for column, value in row.items():
                if column in ITEM_FIELDS or column == "item_id":
                    continue
                value = _plain(value)
                if column == "in_stock":
                    in_stock = None if value is None else bool(state.filters.in_stock[i])
                else:
                    attributes[str(column)] = value
        live = state.live
        if live is not None and (i >= state.n_items or item_id in live.stored):
            in_stock = bool(state.filters.in_stock[i])  # type: ignore[index]
        return {
            "item_id": item_id,
            **state.item_info[i],
            "in_stock": in_stock,
            "hidden": bool(live is not None and live.hidden[i]),
            "deleted": bool(live is not None and live.deleted[i]),
            "new": i >= state.n_items,
            "attributes": attributes,
            "n_users": int(state.counts[i]),
            "popularity_rank": int(state.popular_rank[i]),
            "model_version": state.version,
        }

    def similar(self, item_id: str, k: int, include_out_of_stock: bool = False) -> dict[str, Any]:
        """Items most similar to ``item_id``: cosine of item vectors when the model has them.

        Unit vectors are precomputed at load, so this is one matrix-vector product and a
        top-k; models without vectors answer with their own ``similar_items``. New items take
        part through their predicted vectors (vector models), or, asked about themselves in a
        model without vectors, through their attribute weights over trained items. Hidden,
        deleted and (unless asked for) out-of-stock items are left out.
        """
        state = self.state
        i = _item_index(state, item_id)
        n, live = state.n_items, state.live
        blocked = None
        if live is not None:
            blocked = live.blocked if include_out_of_stock else live.blocked_stock
        if i >= n and live is not None and not live.scorable[i - n]:
            empty = np.empty(0, np.int64)
            return _similar_answer(state, item_id, "attributes", empty, empty.astype(np.float32))
        new_unit = None if live is None else live.new_unit
        if state.unit_vectors is not None and (i < n or new_unit is not None):
            if i < n:
                query = state.unit_vectors[i]
            else:
                assert new_unit is not None
                query = new_unit[i - n]
            sims = state.unit_vectors @ query
            if state.vector_ok is not None:
                sims[~state.vector_ok] = -np.inf
            if live is not None and live.new_unit is not None and live.n_new:
                sims = np.concatenate([sims, live.new_unit @ query])
            method = "cosine"
        elif i >= n and live is not None and live.new_weights is not None:
            sims = np.full(state.n_total, -np.inf, dtype=np.float32)
            sims[:n] = live.new_weights[i - n]
            method = "attributes"
        else:  # item-kNN, EASE, popularity: the model's own item-item similarity
            extra = 0 if blocked is None else len(blocked)
            try:
                ids, vals = state.model.similar_items(np.array([i], dtype=np.int64), k + extra)
            except UnsupportedOperation:
                raise NoSimilarityError(state.model.name) from None
            keep = (ids[0] >= 0) & np.isfinite(vals[0])
            if blocked is not None and extra:
                keep &= ~np.isin(ids[0], blocked)
            ids, vals = ids[0][keep][:k], vals[0][keep][:k]
            return _similar_answer(state, item_id, "model", ids, vals)
        sims = sims.astype(np.float32)  # a private copy: masked below
        sims[i] = -np.inf
        if blocked is not None and len(blocked):
            sims[blocked] = -np.inf
        ids, vals = _top_row(sims, k)
        return _similar_answer(state, item_id, method, ids, vals)

    # ------------------------------------------------------------------ predictions
    def predict(self, user_id: str, item_id: str) -> dict[str, Any]:
        """Rating (explicit models, clipped to the data's scale) or score of one pair."""
        state = self.state
        i = _item_index(state, item_id)
        u = state.artifact.user_map.index_of(user_id)
        history = state.histories.get(user_id) if state.histories is not None else None
        value = math.nan
        if history is not None or i >= state.n_items:
            row = self._score_row(state, u, history)
            value = math.nan if row is None else float(row[i])
        elif u >= 0:
            raw = state.model.predict(np.array([u], dtype=np.int64), np.array([i], dtype=np.int64))
            value = float(np.asarray(raw, dtype=np.float64).ravel()[0])
        strategy = "personalized"
        if not math.isfinite(value):
            strategy = "fallback"
            self._on_fallback("predict", 1)
            if i >= state.n_items:  # a new item nobody can be scored for: the overall mean
                value = float(np.mean(state.item_means)) if state.predicts_ratings else 0.0
            else:
                value = float(
                    state.item_means[i] if state.predicts_ratings else state.popularity[i]
                )
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

    def _score_row(
        self, state: ModelState, u: int, history: UserHistory | None
    ) -> np.ndarray | None:
        """One user's scores over every item (trained and new), None when nothing is known."""
        if history is not None:
            row = history.resolve(state, u).row
            if row.nnz == 0 and u < 0:
                return None
            raw = state.model.score(np.full(1, -1, dtype=np.int64), row, recalculate_user=True)
        elif u >= 0:
            raw = state.model.score(np.array([u], dtype=np.int64))
        else:
            return None
        return extend_scores(state, _writable(raw))[0]

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
    """Index of a trained or new item; unknown IDs raise :class:`UnknownItemError` (404)."""
    i = item_index(state, item_id)
    if i < 0:
        raise UnknownItemError(item_id)
    return i


def _explain(state: ModelState, answer: dict[str, Any], history: sp.csr_matrix) -> None:
    """Add ``because`` (the past items that contributed most) to every item of ``answer``."""
    from nextbuy.serving.catalog import item_indices
    from nextbuy.serving.reasons import reasons

    items = answer["recommendations"]
    ids = item_indices(state, [item["item_id"] for item in items])
    because, note = reasons(state, sp.csr_matrix(history), ids)
    for item, why in zip(items, because, strict=True):
        item["because"] = why
    if note is not None:
        answer["explain_note"] = note


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
