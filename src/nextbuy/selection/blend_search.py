"""Learned blends: members and weights chosen on validation, kept only when they beat each member.

Members are the best setting of the top 2-5 families (each added only when it helps); their
validation score rows are z-scored per user (as :class:`~nextbuy.models.blend.Blend` does at
serving time) and the weights are found by a small grid for the first pair, then coordinate
ascent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nextbuy.selection.validation import Validator

#: Weight ratios tried for each added member (relative to the current members' total).
GRID: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
#: Relative gain a blend needs over its best member to be kept (0: any gain on validation).
MIN_GAIN = 0.0


@dataclass
class BlendResult:
    """The blend's members (family keys) and weights, and its validation value."""

    weights: dict[str, float]
    value: float
    best_member: str
    best_member_value: float

    @property
    def kept(self) -> bool:
        """True when the blend beats its best member by at least :data:`MIN_GAIN`."""
        return len(self.weights) > 1 and self.value > self.best_member_value * (1 + MIN_GAIN)


def search_blend(
    members: dict[str, np.ndarray], values: dict[str, float], v: Validator
) -> BlendResult:
    """Best weights for ``members`` (family -> per-user z-scored validation score rows, see
    :func:`~nextbuy.models.blend.standardize`), best member first.

    ``values`` holds each member's own validation value. Only higher-is-better metrics blend.
    """
    names = list(members)
    z = members
    best = names[0]

    def value_of(weights: dict[str, float]) -> float:
        total = np.zeros_like(z[best])
        for name, w in weights.items():
            if w:
                total += np.float32(w) * z[name]
        return v.value_of_scores(total)

    weights = {best: 1.0}
    current = values[best]
    for name in names[1:]:  # add members one at a time, each by a grid over its weight
        scale = sum(weights.values())
        trial_best, trial_weights = current, weights
        for ratio in GRID:
            candidate = {**weights, name: ratio * scale}
            value = value_of(candidate)
            if value > trial_best:
                trial_best, trial_weights = value, candidate
        current, weights = trial_best, trial_weights
    for _ in range(2):  # refine: each weight x/÷ 1.5 while it helps
        for name in list(weights):
            for factor in (1.5, 1 / 1.5):
                candidate = {**weights, name: weights[name] * factor}
                value = value_of(candidate)
                if value > current:
                    current, weights = value, candidate
    norm = max(weights.values())
    weights = {k: round(w / norm, 4) for k, w in weights.items() if w > 0}
    return BlendResult(weights, current, best, values[best])
