"""Recommendations for one user or a batch: plan who is scored from what, rank, answer.

A single request is planned (:func:`plan`), scored through
:func:`~nextbuy.serving.scoring.score_rows` (directly, or coalesced with other requests by the
service) and finished (:func:`finish`); a batch scores its users in chunks through the same
function. Users the model cannot score get the popular list (``strategy: "fallback"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from nextbuy.models.sequences import session_row
from nextbuy.parallel import cache_rows, map_chunks
from nextbuy.serving import answers, approximate, ranking
from nextbuy.serving.catalog import item_indices
from nextbuy.serving.history import UserHistory
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.reasons import reasons
from nextbuy.serving.scoring import Resolved, resolve, score_rows
from nextbuy.serving.snapshot import Snapshot

#: Most users scored together in a batch chunk (fewer for long rows: ``parallel.cache_rows``).
BATCH_CHUNK = 256
FALLBACK_NOTE = "popular items: the model knows nothing of this user yet"


@dataclass(frozen=True, slots=True)
class Plan:
    """What one user's answer needs: the model row to score (if any) and what to leave out.

    ``resolved`` is set for users with events since training (scored from that history);
    other known users are scored from their training row, by index.
    """

    user_id: str
    user: int  # index in the model, -1 when unknown
    resolved: Resolved | None
    exclude: np.ndarray | None  # item indices ruled out by the user's history
    fallback: bool

    @property
    def rows(self) -> np.ndarray | sp.csr_matrix:
        """What :func:`score_rows` scores for this user."""
        return np.array([self.user], dtype=np.int64) if self.resolved is None else self.resolved.row


def plan(
    snapshot: Snapshot, user_id: str, history: UserHistory | None, options: RecommendOptions
) -> Plan:
    """How to answer ``user_id``: from training, from the history since, or the fallback."""
    user = snapshot.artifact.user_map.index_of(user_id)
    if history is not None:
        resolved = resolve(history, snapshot, user)
        excluded = ranking.history_exclusions(snapshot, resolved, options)
        # events on unknown items only: nothing to score, the popular list minus what they had
        return Plan(user_id, user, resolved, excluded, resolved.row.nnz == 0 and user < 0)
    if user < 0:
        return Plan(user_id, user, None, None, True)
    seen = ranking.seen_items(snapshot, user) if options.exclude_seen else None
    return Plan(user_id, user, None, seen, False)


def finish(
    snapshot: Snapshot,
    plan: Plan,
    options: RecommendOptions,
    scores: np.ndarray | None,
    ranked: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """The answer of a planned request from its score row (overwritten; None for fallbacks),
    or from its items ranked already (``ranked``: ids and scores, as :func:`ranking.rank`
    gives one row of them).

    With approximate retrieval (``snapshot.retriever``) ``scores`` is None for personal
    answers too: the index answers, or the exact row is scored here when it cannot.
    """
    found = ranked
    if found is None and not plan.fallback and scores is None and snapshot.retriever is not None:
        row = None if plan.resolved is None else plan.resolved.row
        found = approximate.recommend(snapshot, plan.user, row, plan.exclude, options)
        if found is None:
            scores = score_rows(snapshot, plan.rows)[0]
    if plan.fallback or (scores is None and found is None):
        ids, vals = ranking.popular(snapshot, options, options.k, plan.exclude)
        answer = answers.recommendation(snapshot, plan.user_id, "fallback", ids, vals)
        if options.explain:
            answer["explain_note"] = FALLBACK_NOTE
        return answer
    if found is not None:
        ids, vals = found[0][None, :], found[1][None, :]
    else:
        assert scores is not None
        pairs = None
        if plan.exclude is not None:
            pairs = (np.zeros(len(plan.exclude), dtype=np.int64), plan.exclude)
        ids, vals = ranking.rank(snapshot, scores[None, :], options, options.k, pairs)
    answer = answers.recommendation(snapshot, plan.user_id, "personalized", ids[0], vals[0])
    if options.explain:
        history = snapshot.artifact.seen[plan.user] if plan.resolved is None else plan.resolved.row
        _explain(snapshot, answer, history)
    return answer


@dataclass(frozen=True)
class BatchArrays:
    """A batch's answers as arrays: item indices and scores ``[n_users, k]`` (-1 / -inf
    padded) and whether each user was scored (``personalized``) or got the fallback."""

    ids: np.ndarray
    scores: np.ndarray
    personal: np.ndarray


def recommend_batch(
    snapshot: Snapshot, user_ids: Sequence[str], options: RecommendOptions, workers: int = 1
) -> dict[str, Any]:
    """One answer per user, in order (``BatchRecommendResponse``); known users are scored
    together in chunks, users with events since training from their updated histories."""
    found = batch_arrays(snapshot, user_ids, options, workers)
    results = [
        answers.recommendation(
            snapshot,
            user_id,
            "personalized" if found.personal[i] else "fallback",
            found.ids[i],
            found.scores[i],
        )
        for i, user_id in enumerate(user_ids)
    ]
    return {"model_version": snapshot.version, "results": results}


def batch_arrays(
    snapshot: Snapshot, user_ids: Sequence[str], options: RecommendOptions, workers: int = 1
) -> BatchArrays:
    """The answers of :func:`recommend_batch` as arrays (no per-item Python work); trained
    users' chunks run on ``workers`` threads (:func:`nextbuy.parallel.map_chunks`)."""
    users = snapshot.artifact.user_map.index(list(user_ids)).astype(np.int64)
    overlay = snapshot.histories
    histories = [overlay.get(u) for u in user_ids] if overlay is not None else []
    online = np.array([h is not None for h in histories], dtype=bool)
    if not len(online):
        online = np.zeros(len(users), dtype=bool)
    k = min(options.k, snapshot.n_total)
    out_ids = np.full((len(users), k), -1, dtype=np.int64)
    out_scores = np.full((len(users), k), -np.inf, dtype=np.float32)

    def put(rows: np.ndarray, ids: np.ndarray, vals: np.ndarray) -> None:
        out_ids[rows, : ids.shape[-1]], out_scores[rows, : ids.shape[-1]] = ids, vals

    personal = (users >= 0) | online
    trained = np.flatnonzero((users >= 0) & ~online)

    def score_chunk(start: int, stop: int) -> None:
        rows = trained[start:stop]
        scores = score_rows(snapshot, users[rows])
        pairs = ranking.seen_pairs(snapshot, users[rows]) if options.exclude_seen else None
        put(rows, *ranking.rank(snapshot, scores, options, k, pairs))

    map_chunks(score_chunk, len(trained), cache_rows(snapshot.n_total, BATCH_CHUNK), workers)
    with_history = np.flatnonzero(online)
    plans = [plan(snapshot, user_ids[i], histories[i], options) for i in with_history.tolist()]
    scorable = [j for j, p in enumerate(plans) if not p.fallback]
    for start in range(0, len(scorable), BATCH_CHUNK):
        chunk = [plans[j] for j in scorable[start : start + BATCH_CHUNK]]
        block = sp.csr_matrix(sp.vstack([p.rows for p in chunk]))
        excluded = [p.exclude if p.exclude is not None else np.empty(0, np.int64) for p in chunk]
        r = np.repeat(np.arange(len(chunk)), [len(e) for e in excluded])
        c = np.concatenate(excluded).astype(np.int64)
        ids, vals = ranking.rank(snapshot, score_rows(snapshot, block), options, k, (r, c))
        put(with_history[scorable[start : start + BATCH_CHUNK]], ids, vals)
    for j, p in enumerate(plans):  # events on unknown items only
        if p.fallback:
            personal[with_history[j]] = False
            put(with_history[j : j + 1], *ranking.popular(snapshot, options, k, p.exclude))
    strangers = np.flatnonzero((users < 0) & ~online)
    if len(strangers):
        put(strangers, *ranking.popular(snapshot, options, k))
    # the answers drop non-finite scores: the arrays say so with -1 as well
    out_ids[~np.isfinite(out_scores)] = -1
    return BatchArrays(out_ids, out_scores, personal)


def _explain(snapshot: Snapshot, answer: dict[str, Any], history: sp.csr_matrix) -> None:
    """Add ``because`` (the past items that contributed most) to every item of ``answer``."""
    recommended = answer["recommendations"]
    ids = item_indices(snapshot, [item["item_id"] for item in recommended])
    because, note = reasons(snapshot, sp.csr_matrix(history), ids)
    for item, why in zip(recommended, because, strict=True):
        item["because"] = why
    if note is not None:
        answer["explain_note"] = note


def recommend_session(
    snapshot: Snapshot, item_ids: Sequence[str], options: RecommendOptions, label: str
) -> dict[str, Any]:
    """The answer for an anonymous session's items (oldest first), with rules and filters.

    Sequence models read the order (the row lists the items oldest first, each at its latest
    position); the other models fold the items in as one history. Items the session already
    holds are left out like a user's seen items; an empty or all-unknown session gets the
    popular list.
    """
    idx = item_indices(snapshot, list(item_ids))
    known = idx[idx >= 0]
    row = session_row(known[known < snapshot.n_items], snapshot.n_items)
    if snapshot.predicts_ratings:  # a session item counts as a top rating, not a 1-star one
        row.data[:] = float(getattr(snapshot.model, "rating_max_", 1.0))
    resolved = Resolved(row, np.unique(known), np.empty(0, dtype=np.int64))
    excluded = ranking.history_exclusions(snapshot, resolved, options)
    session = Plan(label, -1, resolved, excluded, row.nnz == 0)
    scores = None if session.fallback else score_rows(snapshot, row)[0]
    return finish(snapshot, session, options, scores)
