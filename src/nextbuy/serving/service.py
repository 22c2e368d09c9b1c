"""The recommendation service: answers every read from the current snapshot, swapped atomically.

The service owns the snapshot's lifecycle (load, reload and announce, catalog swaps), the
answer cache and the request coalescer; the work itself lives in one module per job:
:mod:`~.recommending`, :mod:`~.similarity`, :mod:`~.prediction`, :mod:`~.answers`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nextbuy.errors import NextBuyError
from nextbuy.parallel import default_workers
from nextbuy.serving import answers, ranking, recommending, reloads
from nextbuy.serving.approximate import attach_retrieval
from nextbuy.serving.catalog import attach_catalog, require_item
from nextbuy.serving.coalescer import RankCoalescer, Ranked, ScoreCoalescer
from nextbuy.serving.errors import NotReadyError, ReloadError, StoreUnavailableError
from nextbuy.serving.live import Rules
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.prediction import predict
from nextbuy.serving.scoring import score_rows
from nextbuy.serving.settings import ServingSettings
from nextbuy.serving.similarity import cosine_rows, has_vector, similar
from nextbuy.serving.snapshot import Snapshot, build_snapshot

if TYPE_CHECKING:
    from nextbuy.serving.cache import AnswerCache
    from nextbuy.serving.history import UserHistory

logger = logging.getLogger("nextbuy.serving")


@dataclass(frozen=True, slots=True)
class _Request:
    """One single-user request up to its scoring step (shared by the sync and async paths)."""

    snapshot: Snapshot
    options: RecommendOptions
    key: Any  # cache key (None: caching off)
    stamp: Any  # what a cached answer must have been stored with
    plan: recommending.Plan | None  # None: answered from the cache
    cached: dict[str, Any] | None


class RecommendationService:
    """Answers every read endpoint from the current :class:`Snapshot`; reloads swap it.

    ``load`` builds a new snapshot off to the side (in the caller's thread) and then replaces
    one reference: requests already running keep the snapshot they started with.
    """

    def __init__(
        self,
        settings: ServingSettings,
        on_fallback: Callable[[str, int], None] | None = None,
        on_load: Callable[[Snapshot], None] | None = None,
        prepare: Callable[[Snapshot], Snapshot] | None = None,
        on_reload: Callable[[str], None] | None = None,
    ) -> None:
        #: Limits the routes check (max_k, max_batch_users) travel with the service, so hot
        #: routes need one dependency, not two.
        self.settings = settings
        self.model_dir = Path(settings.model_dir)
        self.mmap = settings.mmap
        self._on_fallback = on_fallback or (lambda endpoint, n: None)
        self._on_load = on_load or (lambda snapshot: None)
        self._on_reload = on_reload or (lambda outcome: None)
        #: Completes a freshly built snapshot before it is swapped in: the online layer adds
        #: the stored catalog changes and users' histories; without one, the business rules
        #: and the trained catalog's stock flags still apply.
        self._prepare = prepare or functools.partial(
            attach_catalog, rules=Rules.from_settings(settings)
        )
        self._snapshot: Snapshot | None = None
        self._reload_lock = threading.Lock()
        self._coalescer = RankCoalescer()
        self._cosines = ScoreCoalescer(score=cosine_rows)
        #: Per-user answer cache (set by the app when ``cache_size`` > 0).
        self.cache: AnswerCache | None = None
        #: Brings this worker up to date before a personal answer (several workers; set by
        #: the app to the online layer's ``before_read``, which never raises).
        self.before_read: Callable[[], None] | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def ready(self) -> bool:
        """True once a model is loaded."""
        return self._snapshot is not None

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot to answer one request from (take it once per request)."""
        snapshot = self._snapshot
        if snapshot is None:
            raise NotReadyError("no model loaded yet")
        return snapshot

    def load(
        self,
        path: Path | None = None,
        force: bool = False,
        prepare: Callable[[Snapshot], Snapshot] | None = None,
    ) -> tuple[Snapshot | None, Snapshot]:
        """Load ``path`` (default: the model dir, following LATEST) and swap it in.

        Returns (previous snapshot, new snapshot); the version already served is kept unless
        ``force``, after checking its files still match their checksums. The model is served
        from a private, verified copy (:mod:`nextbuy.pinning`), so nothing done to the folder
        afterwards reaches answers. Raises ``ArtifactError`` (or ``StoreUnavailableError``
        from ``prepare``) and keeps serving the old snapshot when the version cannot be
        loaded. Loads are serialised by a lock; reads never wait for it.
        """
        from nextbuy.artifacts import resolve_version_dir
        from nextbuy.errors import ArtifactError
        from nextbuy.pinning import changed_files, load_pinned

        with self._reload_lock:
            target = resolve_version_dir(path or self.model_dir)
            previous = self._snapshot
            if previous is not None and not force and previous.artifact.path == target:
                changed = changed_files(target, previous.artifact.manifest)
                if changed:
                    raise ArtifactError(
                        f"{target}: {', '.join(changed)} changed on disk since it was loaded "
                        "(checksum mismatch); the verified copy loaded then keeps serving"
                    )
                return previous, previous
            artifact = load_pinned(target, mmap=self.mmap, workdir=self.settings.pin_dir)
            settings = self.settings
            built = attach_retrieval(
                build_snapshot(artifact), settings.retrieval, settings.ann_nprobe
            )
            if built.neighbours is not None and built.unit_vectors is not None:
                built.neighbours.fill(built.unit_vectors, built.vector_off)
            RankCoalescer.prefix(built)  # the norm prefix now, not in a request's turn
            new = (prepare or self._prepare)(built)
            self._snapshot = new  # the atomic swap: one reference assignment
            self._on_load(new)
            return previous, new

    def refresh(self) -> Snapshot:
        """Rebuild the served snapshot from its (already verified) artifact with ``prepare``:
        the store's state after it was unreachable at load time."""
        with self._reload_lock:
            served = self.snapshot  # same model: its retrieval and kept neighbours carry over
            rebuilt = build_snapshot(served.artifact)
            new = self._prepare(
                dataclasses.replace(
                    rebuilt,
                    retriever=served.retriever,
                    neighbours=served.neighbours,
                    norm_prefix=served.norm_prefix,
                )
            )
            self._snapshot = new
            return new

    def reload(self) -> dict[str, Any]:
        """Serve the version LATEST names and tell sibling workers (``ReloadResponse``).

        A version that cannot be loaded raises :class:`ReloadError`; the old one keeps serving.
        """
        start = time.perf_counter()
        before = self.snapshot.version if self.ready else None
        try:
            previous, new = self.load()
        except NextBuyError as exc:
            self._on_reload("failed")
            raise ReloadError(f"reload failed, still serving {before}: {exc}") from None
        except StoreUnavailableError as exc:  # 503 with Retry-After: the store, not the model
            self._on_reload("failed")
            raise StoreUnavailableError(f"reload failed, still serving {before}: {exc}") from None
        reloads.announce(self.settings.reload_signal, new.artifact.path)
        changed = previous is not new
        self._on_reload("loaded" if changed else "unchanged")
        return {
            "previous_version": None if previous is None else previous.version,
            "version": new.version,
            "changed": changed,
            "seconds": round(time.perf_counter() - start, 4),
        }

    def follow_reloads(self, stop: threading.Event) -> None:
        """Load what sibling workers announce (a daemon thread; see :mod:`.reloads`)."""
        signal = self.settings.reload_signal
        if signal is not None:
            reloads.follow(signal, stop, self._switch)

    def _switch(self, target: Path) -> None:
        if self.ready and self.snapshot.artifact.path != target:
            try:
                self.load(target)
            except (NextBuyError, StoreUnavailableError) as exc:
                logger.error("could not follow the reload to %s: %s", target, exc)

    def update_snapshot(self, change: Callable[[Snapshot], Snapshot]) -> Snapshot:
        """Swap in ``change(current snapshot)`` (catalog updates), serialised with reloads.

        ``change`` builds a new snapshot and must not modify the current one: requests in
        flight keep reading it.
        """
        with self._reload_lock:
            new = change(self.snapshot)
            self._snapshot = new
            return new

    # ------------------------------------------------------------------ recommendations
    def recommend(self, user_id: str, options: RecommendOptions) -> dict[str, Any]:
        """Top-k items for one user; unknown users get popular items (``fallback``).

        A user with events since training is scored from the updated history (fold-in);
        answers are cached per user until the user's next event or a new snapshot.
        """
        request = self._begin(user_id, options)
        if request.plan is None or request.plan.fallback or request.snapshot.retriever is not None:
            return self._end(request, None)  # cached, fallback, or answered by the ANN index
        return self._end(request, score_rows(request.snapshot, request.plan.rows)[0])

    async def recommend_async(self, user_id: str, options: RecommendOptions) -> dict[str, Any]:
        """:meth:`recommend` for the event loop: concurrent requests share one scoring call
        and one ranking call (:class:`~.coalescer.RankCoalescer`); only that step differs."""
        if self.before_read is not None and self.settings.sync_reads:
            # several worker processes: the user's event (or a catalog change) may have
            # reached another one; a store that is down is not waited for (stale answer)
            await asyncio.to_thread(self.before_read)
        request = self._begin(user_id, options)
        plan = request.plan
        if plan is None or plan.fallback or request.snapshot.retriever is not None:
            return self._end(request, None)  # cached, fallback, or answered by the ANN index
        if plan.resolved is None:
            found = await self._coalescer.rank(request.snapshot, request.options, plan.user,
                                               plan.exclude)  # fmt: skip
            return self._end(request, None, found)
        return self._end(request, score_rows(request.snapshot, plan.rows)[0])

    def _begin(self, user_id: str, options: RecommendOptions) -> _Request:
        """Take the snapshot, look in the cache, plan the answer."""
        snapshot = self.snapshot
        history = self._history(snapshot, user_id)
        key = stamp = cached = None
        if self.cache is not None:
            key = options.cache_key(user_id)
            stamp = (snapshot.serial, 0 if history is None else history.version)
            cached = self.cache.get(key, stamp)
        if cached is not None:
            return _Request(snapshot, options, key, stamp, None, cached)
        plan = recommending.plan(snapshot, user_id, history, options)
        return _Request(snapshot, options, key, stamp, plan, None)

    def _end(
        self, request: _Request, scores: np.ndarray | None, ranked: Ranked | None = None
    ) -> dict[str, Any]:
        """Finish a planned answer from its scores (or its ranked items), count a fallback,
        remember it."""
        if request.plan is None:
            assert request.cached is not None
            return request.cached
        plan, options = request.plan, request.options
        answer = recommending.finish(request.snapshot, plan, options, scores, ranked)
        if answer["strategy"] == "fallback":
            self._on_fallback("recommend", 1)
        if request.key is not None and self.cache is not None:
            self.cache.put(request.key, request.stamp, answer)
        return answer

    def recommend_batch(self, user_ids: Sequence[str], options: RecommendOptions) -> dict[str, Any]:
        """One answer per user, in order; known users are scored together in chunks.

        Users with events since training are folded in together from their updated histories.
        """
        if self.before_read is not None and self.settings.sync_reads:
            self.before_read()  # the batch route runs in a worker thread
        answer = recommending.recommend_batch(self.snapshot, user_ids, options)
        n_fallback = sum(result["strategy"] == "fallback" for result in answer["results"])
        if n_fallback:
            self._on_fallback("recommend_batch", n_fallback)
        return answer

    def recommend_batch_arrays(
        self, user_ids: Sequence[str], options: RecommendOptions, workers: int | None = None
    ) -> tuple[Snapshot, recommending.BatchArrays]:
        """:meth:`recommend_batch` as arrays, on ``workers`` threads (default: every core),
        with the snapshot they index (offline batch files: no per-item Python work)."""
        snapshot = self.snapshot
        found = recommending.batch_arrays(
            snapshot, user_ids, options, default_workers() if workers is None else workers
        )
        n_fallback = int((~found.personal).sum())
        if n_fallback:
            self._on_fallback("recommend_batch", n_fallback)
        return snapshot, found

    def recommend_what_if(
        self, user_id: str, events: Sequence[tuple[str, str, float]], options: RecommendOptions
    ) -> dict[str, Any]:
        """The answer ``user_id`` would get after extra ``(item_id, event, value)`` events.

        They are folded in exactly like stored events (same plan and scoring path), but stored
        nowhere: no event store, no history overlay, no cache, no fallback count.
        """
        from nextbuy.serving.history import UserHistory

        snapshot = self.snapshot
        current = self._history(snapshot, user_id) or UserHistory()
        now = int(time.time())
        rows = [(1 << 62, item, kind, float(value), now) for item, kind, value in events]
        purchases = frozenset(self.settings.purchase_events)
        history = current.updated(rows, self.settings.event_weights, purchases)
        plan = recommending.plan(snapshot, user_id, history, options)
        scores = (
            None
            if plan.fallback or snapshot.retriever is not None
            else score_rows(snapshot, plan.rows)[0]
        )
        return recommending.finish(snapshot, plan, options, scores)

    def recommend_session(
        self, item_ids: Sequence[str], options: RecommendOptions, label: str
    ) -> dict[str, Any]:
        """Top-k items for an anonymous session's items, oldest first (nothing is stored)."""
        answer = recommending.recommend_session(self.snapshot, item_ids, options, label)
        if answer["strategy"] == "fallback":
            self._on_fallback("recommend_session", 1)
        return answer

    def popular(self, options: RecommendOptions) -> dict[str, Any]:
        """The most popular items passing the filters and rules."""
        snapshot = self.snapshot
        return answers.popular(snapshot, *ranking.popular(snapshot, options, options.k))

    # ------------------------------------------------------------------ items and predictions
    def item(self, item_id: str) -> dict[str, Any]:
        """Catalog fields, extra attributes and training popularity of one item."""
        snapshot = self.snapshot
        return answers.item_detail(snapshot, item_id, require_item(snapshot, item_id))

    def similar(self, item_id: str, k: int, include_out_of_stock: bool = False) -> dict[str, Any]:
        """Items most similar to ``item_id`` (see :func:`.similarity.similar`)."""
        return similar(self.snapshot, item_id, k, include_out_of_stock)

    async def similar_async(
        self, item_id: str, k: int, include_out_of_stock: bool = False
    ) -> dict[str, Any]:
        """:meth:`similar` for the event loop: concurrent cosine requests share one matrix
        product (the item vectors are read once for all of them); items asked about before
        answer from their kept neighbours without one."""
        snapshot = self.snapshot
        i = require_item(snapshot, item_id)
        if not has_vector(snapshot, i) or snapshot.neighbours_hold(i, k):
            return similar(snapshot, item_id, k, include_out_of_stock)
        cosine = await self._cosines.score(snapshot, i)
        return similar(snapshot, item_id, k, include_out_of_stock, cosine)

    def predict(self, user_id: str, item_id: str) -> dict[str, Any]:
        """Rating (explicit models, clipped to the data's scale) or score of one pair."""
        snapshot = self.snapshot
        answer = predict(snapshot, user_id, item_id, self._history(snapshot, user_id))
        if answer["strategy"] == "fallback":
            self._on_fallback("predict", 1)
        return answer

    def model_card(self) -> dict[str, Any]:
        """What is served: algorithm, version, dates, parameters, metrics, sizes."""
        return answers.model_card(self.snapshot)

    @staticmethod
    def _history(snapshot: Snapshot, user_id: str) -> UserHistory | None:
        return snapshot.histories.get(user_id) if snapshot.histories is not None else None
