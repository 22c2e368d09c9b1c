"""Any factor model's scores as one dot product, ``score(u, i) = U'[u] . V'[i]``, for Spark.

Factor models differ in their constants and biases (MF adds ``mu + b_u + b_i``); folding
them into two extra columns makes every one a plain dot product that
:mod:`nextbuy.spark.topk` can score. Users a model scores by a fallback row (ALS users
without history: popularity) are flagged. :func:`scoring_factors` checks the export against
the model's own ``score`` on a sample of users, so a model whose formula changes fails
loudly here instead of scoring wrongly.
"""

from __future__ import annotations

import numpy as np

from nextbuy.errors import ArtifactError, UnsupportedOperation
from nextbuy.models.base import Recommender
from nextbuy.models.factor import DotProductForm, FactorModel

#: The dot-product form every factor model exports (see FactorModel.dot_product_form).
ScoringFactors = DotProductForm


def scoring_factors(model: Recommender, sample: int = 64) -> ScoringFactors:
    """The dot-product form of ``model``, verified against ``model.score`` on ``sample`` users."""
    if not isinstance(model, FactorModel):
        raise UnsupportedOperation(
            f"batch --engine spark scores factor models (als, spark_als, ials, bpr, mf, bpmf); "
            f"{model.name!r} scores from item-item or user-user matrices: use the in-process "
            "batch"
        )
    out = model.dot_product_form()
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
