"""Any factor model's scores as one dot product, ``score(u, i) = U'[u] . V'[i]``, for Spark.

Factor models differ in their constants and biases (MF adds ``mu + b_u + b_i``); folding
them into two extra columns makes every one a plain dot product that
:mod:`nextbuy.spark.topk` can score. Users a model scores by a fallback row (ALS users
without history: popularity) are flagged. :func:`scoring_factors` checks the export against
the model's own ``score`` on a sample of users, so a model whose formula changes fails
loudly here instead of scoring wrongly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nextbuy.errors import ArtifactError, UnsupportedOperation
from nextbuy.models.base import Recommender

#: ``users(indices) -> (vectors [n, d] float32, no_vector mask [n])``; -1 = unknown user.
UserBlock = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
_ALS_LIKE = ("als", "spark_als", "spark_als_explicit")


@dataclass
class ScoringFactors:
    """Item side ``[n_items, d]``, a user-side function, and the fallback score row."""

    items: np.ndarray
    users: UserBlock
    fallback: np.ndarray


def _biased(model: Any, user_scale: np.ndarray | None, offset: float) -> ScoringFactors:
    """``offset + b_u + b_i + (p_u * scale) . q_i`` as ``[p*s, b_u + offset, 1] . [q, 1, b_i]``."""
    q = np.asarray(model.item_factors_, dtype=np.float32)
    ones = np.ones((len(q), 1), dtype=np.float32)
    items = np.hstack([q, ones, np.asarray(model.item_bias_, dtype=np.float32)[:, None]])
    scale = np.ones(q.shape[1], dtype=np.float32) if user_scale is None else user_scale

    def users(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        known = (idx >= 0) & (idx < model.n_users_)
        safe = np.where(known, idx, 0)
        p = np.asarray(model.user_factors_, dtype=np.float32)[safe] * scale * known[:, None]
        bias = np.where(known, np.asarray(model.user_bias_, dtype=np.float32)[safe], 0.0)
        vec = np.hstack([p, (bias + offset)[:, None], np.ones((len(idx), 1))])
        return vec.astype(np.float32), np.zeros(len(idx), dtype=bool)

    return ScoringFactors(items, users, np.zeros(len(q), dtype=np.float32))


def _export(model: Recommender) -> ScoringFactors:
    m: Any = model
    name = model.name
    if name in _ALS_LIKE or name == "ials":
        get = m.user_vectors if name in _ALS_LIKE else (lambda u: m._user_vectors(u, None))
        fallback = m.item_mean_ if name == "spark_als_explicit" else m.popularity_

        def users(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            vec, missing = get(np.asarray(idx, dtype=np.int64))
            return np.asarray(vec, dtype=np.float32), np.asarray(missing, dtype=bool)

        items = np.asarray(m.item_factors_, dtype=np.float32)
        return ScoringFactors(items, users, np.asarray(fallback, dtype=np.float32))
    if name == "bpr":

        def bpr_users(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            known = (idx >= 0) & (idx < m.n_users_)
            vec = np.asarray(m.user_factors_, dtype=np.float32)[np.where(known, idx, 0)]
            return vec, ~known

        items = np.asarray(m.item_factors_, dtype=np.float32)
        return ScoringFactors(items, bpr_users, np.asarray(m.popularity_, dtype=np.float32))
    if name == "mf":
        return _biased(m, np.asarray(m.bn_scale_, dtype=np.float32), float(m._offset))
    if name == "bpmf":
        return _biased(m, None, float(m.global_mean_))
    raise UnsupportedOperation(
        f"batch --engine spark scores factor models (als, spark_als, ials, bpr, mf, bpmf); "
        f"{name!r} scores from item-item or user-user matrices: use the in-process batch"
    )


def scoring_factors(model: Recommender, sample: int = 64) -> ScoringFactors:
    """The dot-product form of ``model``, verified against ``model.score`` on ``sample`` users."""
    out = _export(model)
    n = model.n_users_
    probe = np.unique(np.linspace(0, max(n - 1, 0), num=min(sample, n)).astype(np.int64))
    probe = np.concatenate([probe, [-1]])
    vec, missing = out.users(probe)
    mine = vec @ out.items.T
    mine[missing] = out.fallback
    theirs = np.asarray(model.score(probe), dtype=np.float32)
    if not np.allclose(mine, theirs, rtol=1e-3, atol=1e-4):
        worst = float(np.max(np.abs(mine - theirs)))
        raise ArtifactError(
            f"cannot export {model.name!r} as factors: the dot-product form differs from the "
            f"model's own scores by up to {worst:.3g}; use the in-process batch"
        )
    return out
