"""Learned blends: members and weights chosen on validation, kept only when they beat each member.

Members are the best setting of the top 2-5 families (each added only when it helps); their
validation score rows are z-scored per user (as :class:`~nextbuy.models.blend.Blend` does at
serving time) and the weights are found by a small grid for each added member, then
coordinate ascent with shrinking factors. The objective is the mean over one or more
validation slices (folds): one slice's weights chase its noise (on ML-100K, three seeds of
one slice gave test NDCG@10 0.4582-0.4615; their mean objective 0.4625).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from nextbuy.selection.validation import Validator

#: Weight ratios tried for each added member (relative to the current members' total).
GRID: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
#: Factors each weight is multiplied and divided by while it helps, coarse to fine.
REFINE: tuple[float, ...] = (1.5, 1.5, 1.2)
#: Relative gain a blend needs over its best member to be kept (0: any gain on validation).
MIN_GAIN = 0.0


@dataclass
class BlendResult:
    """The blend's members (family keys) and weights, and its validation values.

    ``value`` and ``best_member_value`` are means over the folds; ``first`` is the blend's
    value on the first fold (the one every trial was scored on), ``best_member_first`` the
    best member's there.
    """

    weights: dict[str, float]
    value: float
    best_member: str
    best_member_value: float
    first: float = np.nan
    best_member_first: float = np.nan
    folds: int = 1
    #: each member's value alone on each fold
    alone: dict[str, list[float]] = field(default_factory=dict)

    @property
    def kept(self) -> bool:
        """True when the blend's mean over the folds beats, by :data:`MIN_GAIN`, its best
        member's mean over the same folds and the best member's value on the first fold (the
        one the leaderboard's single trials are scored on, so it ranks the blend above them)."""
        gain = 1 + MIN_GAIN
        return (
            len(self.weights) > 1
            and self.value > self.best_member_value * gain
            and self.value > self.best_member_first * gain
        )


def evaluations(members: int, start: bool = False, refine: Sequence[float] = REFINE) -> int:
    """Upper bound on the blend values :func:`search_blend` computes per fold (its cost)."""
    grid = 0 if start else (members - 1) * len(GRID)
    return members + grid + 2 * len(refine) * members + 1


def search_blend(
    members: Mapping[str, Sequence[np.ndarray]],
    validators: Sequence[Validator],
    start: Mapping[str, float] | None = None,
    refine: Sequence[float] = REFINE,
) -> BlendResult:
    """Best weights for ``members`` (family -> per-user z-scored validation score rows, one per
    fold of ``validators``, see :func:`~nextbuy.models.blend.standardize`).

    The member with the best mean value leads and the others join one by one by a grid over
    their weight; with ``start`` (weights found earlier, say on one fold) the search only
    refines those. Only higher-is-better metrics blend.
    """
    if not members or not validators:
        raise ValueError("search_blend needs at least one member and one validation fold")
    n_folds = len(validators)
    if any(len(rows) != n_folds for rows in members.values()):
        raise ValueError(f"every member needs score rows for each of the {n_folds} folds")

    def per_fold(weights: dict[str, float]) -> list[float]:
        out = []
        for fold, v in enumerate(validators):
            total = np.zeros_like(next(iter(members.values()))[fold])
            for name, w in weights.items():
                if w:
                    total += np.float32(w) * members[name][fold]
            out.append(v.value_of_scores(total))
        return out

    alone = {name: per_fold({name: 1.0}) for name in members}
    names = sorted(members, key=lambda n: -float(np.mean(alone[n])))
    best = names[0]
    weights, current = {best: 1.0}, float(np.mean(alone[best]))
    if start:
        weights = {k: float(w) for k, w in start.items() if w > 0 and k in members}
        current = float(np.mean(per_fold(weights)))
    for name in [] if start else names[1:]:  # members join one at a time, by a grid
        scale = sum(weights.values())
        trial_best, trial_weights = current, weights
        for ratio in GRID:
            candidate = {**weights, name: ratio * scale}
            value = float(np.mean(per_fold(candidate)))
            if value > trial_best:
                trial_best, trial_weights = value, candidate
        current, weights = trial_best, trial_weights
    for factor in refine:  # refine: each weight x/÷ factor while it helps
        for name in list(weights):
            for f in (factor, 1 / factor):
                candidate = {**weights, name: weights[name] * f}
                value = float(np.mean(per_fold(candidate)))
                if value > current:
                    current, weights = value, candidate
    norm = max(weights.values())
    weights = {k: round(w / norm, 4) for k, w in weights.items() if w > 0}
    folds = per_fold(weights)
    return BlendResult(
        weights,
        float(np.mean(folds)),
        best,
        float(np.mean(alone[best])),
        first=folds[0],
        best_member_first=max(rows[0] for rows in alone.values()),
        folds=n_folds,
        alone=alone,
    )
