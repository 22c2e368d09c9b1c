"""Search spaces of ``--model auto``: which families compete, and the neighbours of a setting.

Every search starts from a family's defaults as the registry (and the config's ``models:``
section) gives them, so better defaults flow into the search; neighbours move one parameter
at a time by a step that shrinks each round (multiplicative for scales, additive for shares).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nextbuy.models import registry
from nextbuy.models.defaults import DataShape, resolve
from nextbuy.selection.budget import DataStats

#: Ranking families, in the (fixed) order trials run.
RANKING_FAMILIES: tuple[str, ...] = (
    "popularity",
    "itemknn",
    "rp3beta",
    "ease",
    "userease",
    "infae",
    "als",
    "ials",
    "bpr",
)
#: Families that compete only on data with timestamps (decayed counts need time).
TIMED_FAMILIES: tuple[str, ...] = ("trending",)
#: Sequence models: they learn the order of each user's items, so they compete only on timed
#: data, last (the costliest), with their defaults, and are skipped when their estimated fit
#: exceeds the budget (:func:`nextbuy.selection.budget.fit_seconds`).
SEQUENCE_FAMILIES: tuple[str, ...] = ("sasrec",)
#: Models that never compete: run elsewhere or combine others.
EXCLUDED: frozenset[str] = frozenset({"blend", "spark_als", "spark_als_explicit"})


@dataclass(frozen=True)
class Axis:
    """One searchable parameter: ``log`` (scale x/÷ step), ``share`` (+/- step) or ``choice``."""

    name: str
    kind: str
    low: float = 0.0
    high: float = math.inf
    integer: bool = False
    choices: tuple[Any, ...] = ()


#: Searchable parameters per family, in the order coordinate search visits them. Factors stay
#: at the family's default: larger ones cost factors^2 per row and rarely pay on validation.
AXES: dict[str, tuple[Axis, ...]] = {
    "itemknn": (
        Axis("neighbors", "log", 2, 5000, integer=True),
        Axis("shrinkage", "log", 0.5, 1000),
        Axis("weighting", "choice", choices=("binary", "log")),
    ),
    "rp3beta": (
        Axis("beta", "share", 0.0, 1.0),
        Axis("alpha", "share", 0.1, 2.0),
        Axis("neighbors", "log", 5, 5000, integer=True),
    ),
    "ease": (Axis("regularization", "log", 0.1, 1e6), Axis("dropout", "share", 0.0, 0.9)),
    "userease": (Axis("regularization", "log", 0.1, 1e6), Axis("dropout", "share", 0.0, 0.95)),
    "infae": (Axis("regularization", "log", 0.01, 1e4), Axis("dropout", "share", 0.0, 0.95)),
    "als": (
        Axis("regularization", "log", 1e-3, 1e4),
        Axis("alpha", "log", 0.05, 100),
        Axis("weighting", "choice", choices=("linear", "log")),
    ),
    "ials": (
        Axis("regularization", "log", 1e-4, 100),
        Axis("unobserved_weight", "log", 1e-3, 10),
    ),
    "bpr": (
        Axis("learning_rate", "log", 1e-4, 0.5),
        Axis("regularization", "log", 1e-6, 1.0),
        Axis("iterations", "log", 10, 400, integer=True),
    ),
    "trending": (Axis("half_life_days", "log", 0.5, 3650),),
    "mf": (Axis("l2", "log", 1e-4, 10), Axis("lr", "log", 1e-4, 0.3)),
    "bpmf": (Axis("user_noise", "log", 0.5, 1000), Axis("item_noise", "log", 0.5, 1000)),
}

#: The recency axis of the families that decay interaction weights, searched on timed data.
DECAY = Axis("half_life_days", "choice", choices=(0.0, 30.0, 180.0))
DECAYING: frozenset[str] = frozenset({"itemknn", "ease", "als", "ials"})

#: Step per round: x/÷ factor for ``log`` axes and +/- amount (times the range) for ``share``.
LOG_STEPS: tuple[float, ...] = (3.0, 1.7, 1.3, 1.15)
SHARE_STEPS: tuple[float, ...] = (0.2, 0.1, 0.05, 0.025)
#: Parameters pinned during the search so that a seed gives the same result (BPR's
#: multi-threaded sampling is not reproducible; one torch thread sums in one order).
PINNED: dict[str, dict[str, Any]] = {"bpr": {"num_threads": 1}, "sasrec": {"num_threads": 1}}


def rating_families() -> tuple[str, ...]:
    """Built-in models that predict ratings (explicit data with ``--metric rmse`` only)."""
    return tuple(
        name
        for name in registry.BUILTIN
        if name not in EXCLUDED and registry.get(name).predicts_ratings
    )


def family_defaults(family: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The family's default parameters, the config's ``models:`` section over them, pinned last."""
    cls = registry.get(family)
    params = {**cls.config_class.default_values(), **dict(overrides or {})}
    pinned = {k: v for k, v in PINNED.get(family, {}).items() if k in params}
    return {**params, **pinned}


def cannot_fit(family: str, params: Mapping[str, Any], stats: DataStats) -> str | None:
    """Why ``family`` cannot fit this data at all (its own size guard), or None."""
    max_items = params.get("max_items")
    if isinstance(max_items, int) and stats.n_items > max_items:
        return f"{stats.n_items:,} items > its max_items {max_items:,} (memory ~ items^2)"
    max_users = params.get("max_users")
    if isinstance(max_users, int) and stats.n_users > max_users:
        return f"{stats.n_users:,} users > its max_users {max_users:,} (memory ~ users^2)"
    return None


def neighbours(
    family: str,
    params: Mapping[str, Any],
    round_: int,
    timed: bool = False,
    shape: DataShape | None = None,
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Per axis, the settings one step away from ``params`` (round 0 = the largest steps).

    An axis still at ``auto`` steps from its density rule's value for ``shape`` (the fit
    part's), while the other axes keep ``auto`` so the refit resolves them on all the data;
    without ``shape`` such axes are left alone. With ``timed`` data the decaying families also
    try half-lives (:data:`DECAY`).
    """
    step = min(round_, len(LOG_STEPS) - 1)
    base = resolved(family, params, shape)
    out: list[tuple[str, list[dict[str, Any]]]] = []
    axes = AXES.get(family, ()) + ((DECAY,) if timed and family in DECAYING else ())
    for axis in axes:
        if axis.name not in params:
            continue
        value = base[axis.name]
        moves = [{**params, axis.name: c} for c in _moves(axis, value, step) if c != value]
        if moves:
            out.append((axis.name, moves))
    return out


def resolved(family: str, params: Mapping[str, Any], shape: DataShape | None) -> dict[str, Any]:
    """``params`` with the density rules' ``auto`` values filled in for ``shape`` (if given)."""
    return dict(params) if shape is None else resolve(family, params, shape)


def searchable(family: str) -> bool:
    """True when ``family`` has parameters to search."""
    return bool(AXES.get(family))


def _moves(axis: Axis, value: Any, step: int) -> list[Any]:
    if axis.kind == "choice":
        return [c for c in axis.choices if c != value] if step == 0 else []
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    if axis.kind == "log":
        factor = LOG_STEPS[step]
        base = float(value) if value > 0 else axis.low
        raw = [base / factor, base * factor]
    else:
        delta = SHARE_STEPS[step] * (min(axis.high, 1.0) if math.isinf(axis.high) else axis.high)
        raw = [float(value) - delta, float(value) + delta]
    moves: list[Any] = []
    for r in raw:
        r = min(max(r, axis.low), axis.high)
        moves.append(int(round(r)) if axis.integer else float(f"{r:.4g}"))
    return moves
