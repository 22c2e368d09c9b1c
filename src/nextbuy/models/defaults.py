"""Density-aware defaults: the rule behind every ``auto`` hyper-parameter, applied at fit.

A value of ``"auto"`` (the shipped default of the parameters below) is replaced, when the
model is fitted, by a number computed from the training data's shape: its size, interactions
per user and per item, and whether the strengths look like counts (play counts, quantities).
Values the user gives always win. The rules keep one property on every shape of shop: a
model's untuned defaults never collapse to (or under) the bestseller list. They are anchored
on the values tuned on MovieLens 100K (about 106 interactions per user, 59 per item), so
there they give back those values, and they move with density elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nextbuy.data.interactions import Interactions

#: The marker a parameter holds until :func:`resolve` replaces it.
AUTO = "auto"


@dataclass(frozen=True)
class DataShape:
    """What the rules look at: sizes, mean interactions per user and item, value kind."""

    n_users: int
    n_items: int
    nnz: int
    per_user: float
    per_item: float
    #: True when the strengths look like counts (integers, a long tail above 20).
    count_like: bool
    #: Mean ``log1p(value)`` over the stored values (1 for binary data): the log confidence scale.
    mean_log_value: float
    #: Mean of the stored values (1 for binary data).
    mean_value: float

    @classmethod
    def of(cls, train: Interactions) -> DataShape:
        """The shape of a training set (interactions per user/item count the stored pairs)."""
        csr = train.csr
        n_users, n_items = csr.shape
        nnz = int(csr.nnz)
        values = np.maximum(np.asarray(csr.data, dtype=np.float64), 0.0)
        return cls(
            n_users=int(n_users),
            n_items=int(n_items),
            nnz=nnz,
            per_user=nnz / max(n_users, 1),
            per_item=nnz / max(n_items, 1),
            count_like=looks_like_counts(values),
            mean_log_value=float(np.log1p(values).mean()) if nnz else 0.0,
            mean_value=float(values.mean()) if nnz else 0.0,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (for the manifest)."""
        return asdict(self)


def looks_like_counts(values: np.ndarray) -> bool:
    """Counts (plays, quantities) rather than ratings or event weights: whole numbers whose
    upper decile exceeds 20, so a linear confidence would let a few heavy rows dominate."""
    if len(values) == 0:
        return False
    whole = bool(np.all(np.abs(values - np.round(values)) < 1e-9))
    return whole and float(np.quantile(values, 0.9)) > 20.0


def _clip(value: float, lo: float, hi: float) -> float:
    return float(min(max(value, lo), hi))


#: Interactions per user of the data the shipped values were tuned on (ML-100K's training part).
REFERENCE_PER_USER = 84.8
#: Interactions per item there.
REFERENCE_PER_ITEM = 47.56


def sparsity(shape: DataShape) -> float:
    """How many times sparser per user than the reference (>= 1): 1 on ML-100K, ~19 at 4.4.

    With few interactions per user, co-occurrence is noise and popularity is most of the
    signal, so every rule smooths more towards it as this grows.
    """
    return _clip(REFERENCE_PER_USER / max(shape.per_user, 1e-9), 1.0, 100.0)


def factors(shape: DataShape) -> int:
    """64 / cube root of sparsity, at most an eighth of the smaller side, in 8..64 (BPR)."""
    by_density = round(64.0 / float(np.cbrt(sparsity(shape))))
    return int(_clip(min(by_density, min(shape.n_users, shape.n_items) // 8), 8, 64))


def least_squares_factors(shape: DataShape) -> int:
    """64, at most an eighth of the smaller side, in 8..64 (ALS, iALS).

    Their L2 grows with the confidence (ALS) or frequency (iALS), so extra dimensions do not
    overfit sparse data: 64 beat the density-shrunk count on every shop density and on
    Last.fm (benchmarks/results/sparse-defaults.md).
    """
    return int(_clip(min(64, min(shape.n_users, shape.n_items) // 8), 8, 64))


def popularity_prior(shape: DataShape) -> float:
    """0.06 x (sparsity - 4), in 0..3 (ML-100K, Last.fm, 24 per user: 0; 3.4 per user: 1.26).

    The weight, in units of the model's mean training-pair score, of item popularity (the
    top item's = 1) added to ALS/iALS scores. Below ~20 interactions per user their factors
    alone rank under the bestseller list on some splits; the prior keeps its signal, and a
    user with a long history outweighs it.
    """
    return round(_clip(0.06 * (sparsity(shape) - 4.0), 0.0, 3.0), 4)


def als_weighting(shape: DataShape) -> str:
    """log1p confidence for count-like strengths, linear otherwise."""
    return "log" if shape.count_like else "linear"


def als_regularization(shape: DataShape, params: Mapping[str, Any]) -> float:
    """30 x sqrt(mean confidence ``1 + alpha * f(value)`` / 3) x size (binary ML-100K: 30).

    The L2 grows with the value scale, so heavy rows cannot overfit, and with
    size = sqrt(users x items) / 1259 (ML-100K: 1, clipped to 0.25..2), because the Gram
    matrices it competes with sum over every user and item.
    """
    alpha = float(params.get("alpha", 2.0))
    log = _resolved(params, "weighting", als_weighting, shape) == "log"
    scale = shape.mean_log_value if log else shape.mean_value
    size = _clip(float(np.sqrt(float(shape.n_users) * shape.n_items)) / 1259.4, 0.25, 2.0)
    return round(30.0 * float(np.sqrt((1.0 + alpha * scale) / 3.0)) * size, 3)


def ials_weighting(shape: DataShape) -> str:
    """log1p confidence for count-like strengths, binary otherwise."""
    return "log" if shape.count_like else "binary"


def bpr_iterations(shape: DataShape) -> int:
    """Epochs for about 6 million sampled updates (ML-100K: 78), between 78 and 400."""
    return int(_clip(round(6.2e6 / max(shape.nnz, 1)), 78, 400))


def bpr_popularity_weight(shape: DataShape) -> float:
    """sparsity ** 0.75 (ML-100K: 1, the plain logQ correction; 4 per user: about 9)."""
    return round(sparsity(shape) ** 0.75, 3)


def ease_regularization(shape: DataShape) -> float:
    """470 x sqrt(interactions per item / 47.56) (ML-100K: 470; long tails get less)."""
    return round(470.0 * float(np.sqrt(shape.per_item / REFERENCE_PER_ITEM)), 1)


def userease_regularization(shape: DataShape) -> float:
    """190 x sqrt(sparsity) (ML-100K: 190): sparse users lean on the crowd."""
    return round(190.0 * float(np.sqrt(sparsity(shape))), 1)


def infae_regularization(shape: DataShape) -> float:
    """2 x max(1, sparsity / 7) ** 2, in units of the mean kernel diagonal (ML-100K and shops
    down to ~12 interactions per user: 2; 3.4 per user: 26): only very sparse users lean on the
    crowd (shop at 5, 20, 50 per user: best of 2, 10, 30, 100 was 30, 2, 2)."""
    return round(2.0 * max(1.0, sparsity(shape) / 7.0) ** 2, 3)


def knn_neighbors(shape: DataShape) -> int:
    """10 x sparsity, in 10..500 (ML-100K: 10): few items per user need more neighbours each."""
    return int(_clip(round(10.0 * sparsity(shape)), 10, 500))


def knn_shrinkage(shape: DataShape) -> float:
    """25 x sparsity (ML-100K: 25): pairs seen together once or twice count for little."""
    return round(25.0 * sparsity(shape), 2)


def rp3_alpha(shape: DataShape) -> float:
    """0.95 / sqrt(sparsity), at least 0.3 (ML-100K: 0.95): flatter walks on sparse data."""
    return round(_clip(0.95 / float(np.sqrt(sparsity(shape))), 0.3, 0.95), 3)


def rp3_beta(shape: DataShape) -> float:
    """0.63 - 0.35 ln(sparsity) (ML-100K: 0.63): the popularity penalty fades with density and
    turns into a popularity boost (beta < 0) where users have only a handful of items."""
    return round(0.63 - 0.35 * float(np.log(sparsity(shape))), 3)


def rp3_neighbors(shape: DataShape) -> int:
    """214, at most the catalogue less one."""
    return int(_clip(214, 1, max(shape.n_items - 1, 1)))


#: model -> parameter -> rule(shape, params) for every parameter that may be ``auto``.
Rule = Callable[[DataShape, Mapping[str, Any]], Any]


def _shape_only(fn: Callable[[DataShape], Any]) -> Rule:
    return lambda shape, params: fn(shape)


RULES: dict[str, dict[str, Rule]] = {
    "als": {
        "factors": _shape_only(least_squares_factors),
        "weighting": _shape_only(als_weighting),
        "regularization": als_regularization,
        "popularity_prior": _shape_only(popularity_prior),
    },
    "ials": {
        "factors": _shape_only(least_squares_factors),
        "weighting": _shape_only(ials_weighting),
        "popularity_prior": _shape_only(popularity_prior),
    },
    "bpr": {
        "factors": _shape_only(factors),
        "iterations": _shape_only(bpr_iterations),
        "popularity_weight": _shape_only(bpr_popularity_weight),
    },
    "ease": {"regularization": _shape_only(ease_regularization)},
    "userease": {"regularization": _shape_only(userease_regularization)},
    "infae": {"regularization": _shape_only(infae_regularization)},
    "itemknn": {
        "neighbors": _shape_only(knn_neighbors),
        "shrinkage": _shape_only(knn_shrinkage),
    },
    "rp3beta": {
        "alpha": _shape_only(rp3_alpha),
        "beta": _shape_only(rp3_beta),
        "neighbors": _shape_only(rp3_neighbors),
    },
}


def _resolved(
    params: Mapping[str, Any], name: str, rule: Callable[[DataShape], Any], shape: DataShape
) -> Any:
    value = params.get(name, AUTO)
    return rule(shape) if value == AUTO else value


def auto_names(model: str, params: Mapping[str, Any]) -> list[str]:
    """The parameters of ``model`` still set to ``auto`` that a density rule resolves.

    (``device: auto`` and the like are the model's own choice at fit, not density rules.)
    """
    rules = RULES.get(model, {})
    return [key for key, value in params.items() if key in rules and value == AUTO]


def resolve(model: str, params: Mapping[str, Any], shape: DataShape) -> dict[str, Any]:
    """``params`` with every ``auto`` value replaced by its rule's value for ``shape``.

    Rules run in declaration order, so a rule may read an earlier resolved value (ALS's
    regularization reads its weighting).
    """
    out = dict(params)
    for name, rule in RULES.get(model, {}).items():
        if out.get(name) == AUTO:
            out[name] = rule(shape, out)
    return out
