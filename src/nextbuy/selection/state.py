"""What the model search carries between trials: spend against the budget, best models."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nextbuy.models.base import Recommender
from nextbuy.models.defaults import DataShape
from nextbuy.selection.budget import DataStats
from nextbuy.selection.leaderboard import Leaderboard
from nextbuy.selection.validation import Validator

#: Share of the budget kept for refitting the winner on all training data.
REFIT_SHARE = 0.2


@dataclass
class SearchState:
    """What the search carries between trials: spend, best models, and the progress line."""

    validator: Validator
    stats: DataStats
    full_stats: DataStats
    speed: float
    budget: float  # seconds of estimated cost the search may spend (inf = no limit)
    total: float  # the whole budget, refit included (inf = no limit)
    defaults: dict[str, dict[str, Any]]
    board: Leaderboard
    started: float = field(default_factory=time.perf_counter)
    spent: float = 0.0
    models: dict[str, Recommender] = field(default_factory=dict)  # best fitted per family
    not_run: int = 0
    update: Any = None
    calibrated: float = 1.0  # the speed the calibration fit measured
    #: per family, the speed its defaults fit showed (its cost formula's error folded in)
    family_speed: dict[str, float] = field(default_factory=dict)
    reserve: float = 0.0  # estimated seconds kept back from the rounds for the extra folds
    refold: Callable[[int], Validator] | None = None  # fold i >= 1 (None: one slice only)
    shape: DataShape | None = None  # the fit part's: the density rules' values axes step from

    def speed_of(self, family: str) -> float:
        """The speed ``family``'s estimates use: what its own defaults fit showed, else the
        machine's."""
        return self.family_speed.get(family, self.speed)

    def refit_allowance(self) -> float:
        """Estimated seconds a final refit may take: the reserve, or what the search left."""
        return max(self.total * REFIT_SHARE, self.total - self.spent)

    def remaining(self) -> float:
        """Estimated seconds left, less the reserve (0 once the wall clock, with the reserve
        scaled as estimates have been running behind, reaches the budget)."""
        if math.isinf(self.budget):
            return math.inf
        if not self.affords(0.0):
            return 0.0
        return max(self.budget - self.spent - self.reserve, 0.0)

    def affords(self, cost: float) -> bool:
        """True when a trial estimated at ``cost`` s fits the budget left after the reserve,
        by the estimates and by the wall clock (estimates scaled by how far behind they ran)."""
        if math.isinf(self.budget):
            return True
        elapsed = time.perf_counter() - self.started
        drift = max(1.0, elapsed / max(self.spent, 1e-9))
        return (
            cost <= self.budget - self.spent - self.reserve
            and elapsed + (cost + self.reserve) * drift <= self.budget
        )
