"""Trending popularity: item counts decayed by age, so what sells now outranks last year's hit."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from nextbuy.data.interactions import Interactions
from nextbuy.models.params import Hyperparameters, param
from nextbuy.models.popularity import Popularity
from nextbuy.models.weighting import decayed, recency


class TrendingConfig(Hyperparameters):
    """Hyper-parameters of :class:`Trending`."""

    half_life_days: float = param(
        14.0, "an interaction's weight halves every this many days before the latest one", gt=0
    )
    weighting: Literal["count", "value"] = param(
        "count", "count = each user once per item; value = summed values, decayed"
    )


class Trending(Popularity):
    """Popularity with time decay: ``sum over users of 0.5 ** (age / half-life)`` per item.

    Without timestamps it equals :class:`~nextbuy.models.popularity.Popularity`.
    """

    name = "trending"
    config_class = TrendingConfig  # type: ignore[assignment]
    config: TrendingConfig  # type: ignore[assignment]

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Sum each item's decayed interactions (counts, or values); ``valid`` is ignored."""
        x = train.csr.astype(np.float32)
        if self.config.weighting == "count":
            x.data[:] = 1.0
        x = decayed(x, recency(train, self.config.half_life_days))
        self.popularity_ = np.asarray(x.sum(axis=0), dtype=np.float32).ravel()

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: the half-life, from a day to a year."""
        return {"half_life_days": trial.suggest_float("half_life_days", 1.0, 365.0, log=True)}
