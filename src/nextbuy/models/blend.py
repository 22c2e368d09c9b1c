"""Blend: a weighted sum of several models' per-user standardized scores, behind one interface."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field, model_validator
from typing_extensions import Self

from nextbuy.data.interactions import Interactions
from nextbuy.errors import UnsupportedOperation
from nextbuy.models import registry
from nextbuy.models.base import Recommender, State
from nextbuy.models.params import Hyperparameters

#: Separates a component's key from its state keys in saved arrays (``c0__weights.npy``).
_SEP = "__"


def _model_name(key: str) -> str:
    """``"ease"`` or ``"ease:strong"`` (two EASE components) -> the registered name."""
    return key.split(":", 1)[0]


def standardize(scores: np.ndarray) -> np.ndarray:
    """Per-row z-scores (float32): each model's scores on a common scale before weighting.

    Shifting a row does not change its ranking, so only the division by the row's standard
    deviation matters: a model whose scores spread widely cannot drown the others.
    """
    scores = np.asarray(scores, dtype=np.float32)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.maximum(std, np.float32(1e-12))


#: The tuned default blend (ML-100K): each component with its own defaults.
_DEFAULT_COMPONENTS: dict[str, dict[str, Any] | None] = {"ease": {}, "ials": {}, "userease": {}}


class BlendConfig(Hyperparameters):
    """Hyper-parameters of :class:`Blend`: the components and their weights."""

    components: dict[str, dict[str, Any] | None] = Field(
        default_factory=lambda: copy.deepcopy(_DEFAULT_COMPONENTS),
        description="model -> parameters over that model's section here ({} = as is)",
    )
    weights: dict[str, float] = Field(
        default_factory=lambda: {"ease": 1.0, "ials": 3.0, "userease": 1.5},
        description="weight of each component's per-user z-scored scores",
    )

    @model_validator(mode="after")
    def _weights_match_components(self) -> Self:
        if not self.components:
            raise ValueError("components must map at least one model name to params")
        if set(self.weights) != set(self.components):
            raise ValueError(
                f"weights must name exactly the components ({', '.join(self.components)})"
            )
        if any(_model_name(key) == "blend" for key in self.components):
            raise ValueError("a blend cannot contain a blend")
        return self


class Blend(Recommender):
    """Weighted blend of component models: ``score = sum_m w_m * zscore(score_m)``.

    ``components`` maps a registered model name (optionally ``name:tag`` to use a model twice)
    to its parameters, merged over that model's defaults, so ``{"ease": {}, "ials": {}}``
    blends the tuned defaults (weights tuned on ML-100K, mean over six validation slices).
    Every component is fitted on the same data and scored on the same rows, so new users
    (history rows), unknown users (each component's popularity fallback) and filters behave
    as in the components. ``similar_items`` comes from the heaviest component that has item
    similarities.
    """

    name = "blend"
    config_class = BlendConfig
    config: BlendConfig

    def __init__(self, config: Hyperparameters | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        self._plan()  # every component's parameters are checked now, not at fit
        self.components_: dict[str, Recommender] = {}

    def _plan(self) -> list[tuple[str, Recommender, float]]:
        """(key, new unfitted model, weight) per component."""
        weights = self.config.weights
        return [
            (key, registry.create(_model_name(key), **(params or {})), float(weights[key]))
            for key, params in self.config.components.items()
        ]

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Fit every component on ``train``."""
        self.components_ = {}
        for key, model, _ in self._plan():
            self.components_[key] = model.fit(train, valid, show_progress=show_progress)
        # the members' ``auto`` values as resolved for this data, so a saved blend reloads them
        resolved = {key: m.params for key, m in self.components_.items()}
        self.config = self.config.replace(self.name, {"components": resolved})
        self.history_ = {
            f"{key}.{k}": v for key, m in self.components_.items() for k, v in m.history_.items()
        }

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Weighted sum of the components' standardized score rows."""
        return self._blend(lambda model: model.score(users), len(users))

    def _score_histories(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        """The same blend of the components' scores from the history rows."""
        return self._blend(lambda m: m.score(users, rows, recalculate_user=True), len(users))

    def _blend(self, score: Callable[[Recommender], np.ndarray], n_users: int) -> np.ndarray:
        weights = self.config.weights
        total = np.zeros((n_users, self.n_items_), dtype=np.float32)
        for key, model in self.components_.items():
            total += np.float32(weights[key]) * standardize(score(model))
        return total

    def similar_items(
        self, items: np.ndarray | list[int], k: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """Item neighbours of the heaviest component that knows item similarity."""
        weights = self.config.weights
        for key in sorted(self.components_, key=lambda c: -float(weights[c])):
            try:
                return self.components_[key].similar_items(items, k)
            except UnsupportedOperation:
                continue
        raise UnsupportedOperation("blend: no component has item similarities")

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: the weights of iALS and user EASE relative to EASE (ratios matter)."""
        return {
            "weights": {
                "ease": 1.0,
                "ials": trial.suggest_float("ials", 0.1, 10.0, log=True),
                "userease": trial.suggest_float("userease", 0.1, 10.0, log=True),
            }
        }

    # ------------------------------------------------------------------ persistence
    def state(self) -> State:
        out: State = {}
        for index, model in enumerate(self.components_.values()):
            for key, value in model.state().items():
                out[f"c{index}{_SEP}{key}"] = value
        return out

    def set_state(self, state: dict[str, Any]) -> None:
        self.components_ = {}
        for index, (key, model, _) in enumerate(self._plan()):
            prefix = f"c{index}{_SEP}"
            model.n_users_, model.n_items_ = self.n_users_, self.n_items_
            model.user_items_ = self.user_items_
            model.set_state({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
            self.components_[key] = model
