"""Hyper-parameter search with Optuna on a validation slice carved from the training data only."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nextbuy.config import Config
from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError

#: Metrics ``nextbuy tune`` can optimize, and whether higher is better.
METRICS: dict[str, bool] = {
    "ndcg@10": True,
    "recall@10": True,
    "map@10": True,
    "precision@10": True,
    "hit_rate@10": True,
    "rmse": False,
    "mae": False,
}


@dataclass
class TuneResult:
    """Best parameters and every finished trial (number, params, value, seconds, state)."""

    model: str
    metric: str
    best_params: dict[str, Any]
    best_value: float
    trials: list[dict[str, Any]] = field(default_factory=list)
    config_path: Path | None = None
    plot_path: Path | None = None
    #: (what, value) of a trivial reference on the same validation slices: popularity for
    #: ranking metrics, the mean training rating for rmse/mae. A trial below it learnt nothing.
    reference: tuple[str, float] | None = None


def validation_split(
    train: Interactions, metric: str, fraction: float = 0.2, seed: int = 42
) -> tuple[Interactions, Interactions]:
    """Carve a validation slice from training data: per-user for ranking, random for ratings."""
    from nextbuy.data.split import split

    method = "random" if metric in ("rmse", "mae") else "user"
    return split(train, method, test_fraction=fraction, seed=seed)


def intermediate_key(metric: str) -> str:
    """The key under which iterative models report ``metric`` on validation each epoch."""
    return f"valid_{metric}"


def tune(
    train: Interactions,
    model: str,
    trials: int = 20,
    metric: str = "ndcg@10",
    timeout: float | None = None,
    seed: int = 42,
    base_params: dict[str, Any] | None = None,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
    space: Callable[[Any], dict[str, Any]] | None = None,
    pruner: Any = None,
    folds: int = 1,
) -> TuneResult:
    """Search ``model``'s declared space, maximizing (or minimizing) ``metric`` on validation.

    ``train`` is the user's training data; the test split is never seen here. Each trial fits
    on part of it and is scored on a validation slice carved from it (per user for ranking
    metrics, random rows for rating metrics). Iterative models (mf, bpmf, als, ials) get the
    validation slice in ``fit`` and report the metric after every epoch through
    ``Recommender.callback``; the pruner (default ``MedianPruner``: after 5 trials, stop one
    whose value at an epoch is worse than the median of earlier trials at that epoch) ends
    hopeless trials early. ``space`` replaces the model's ``search_space``. The first trial
    evaluates ``base_params`` as they are, so the result is never worse than them.

    ``folds > 1`` carves that many validation slices (seeds ``seed``, ``seed + 1``, ...) and
    scores a trial by its mean over them: slower, but far less likely to pick parameters that
    only suit one slice (differences of a few thousandths of NDCG are noise on small data).
    Pruning watches the first slice.
    """
    import optuna

    from nextbuy.evaluation import evaluate
    from nextbuy.models import registry

    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    model_cls = registry.get(model)
    space = space or getattr(model_cls, "search_space", None)
    if space is None:
        raise ConfigError(f"model {model!r} declares no search space")
    if metric in ("rmse", "mae") and not model_cls.predicts_ratings:
        raise ConfigError(f"{metric} needs a rating model (mf, bpmf); {model!r} ranks items")
    if metric in ("rmse", "mae") and not train.explicit:
        raise ConfigError(
            f"{metric} needs explicit ratings; name the rating column with --rating-col COLUMN"
        )
    if folds < 1:
        raise ConfigError(f"folds must be >= 1, not {folds}")
    model_cls(**(base_params or {}))  # a bad --set or config value: one ConfigError, no trial
    carves = [validation_split(train, metric, seed=seed + f) for f in range(folds)]
    k = int(metric.split("@")[1]) if "@" in metric else 10
    maximize = METRICS[metric]
    key = intermediate_key(metric)
    records: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        if trial.user_attrs.get("baseline"):
            params = dict(base_params or {})
        else:
            params = {**(base_params or {}), **space(trial)}
        trial.set_user_attr("params", params)
        started = time.perf_counter()
        last: dict[str, Any] = {}

        def report(epoch: int, metrics: dict[str, float]) -> None:
            value = metrics.get(key)
            if value is None or not math.isfinite(value):
                return
            last.update(value=float(value), epoch=epoch)
            trial.report(float(value), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch}: {metric} {value:.5f}")

        values = []
        for number, (fit_part, valid) in enumerate(carves):
            estimator = model_cls(**params)
            if number == 0:
                estimator.callback = report
            try:
                estimator.fit(fit_part, valid)
            except optuna.TrialPruned:
                _record(trial, last.get("value", math.nan), started, params, "pruned", last)
                raise
            values.append(float(evaluate(estimator, fit_part, valid, k=k).metrics[metric]))
        value = float(np.mean(values))
        if folds > 1:
            trial.set_user_attr("fold_values", values)
        if not math.isfinite(value):
            _record(trial, value, started, params, "failed", last)
            raise optuna.TrialPruned("the metric is not finite")
        _record(trial, value, started, params, "complete", last)
        return value

    def _record(
        trial: optuna.Trial,
        value: float,
        started: float,
        params: dict[str, Any],
        state: str,
        last: dict[str, Any],
    ) -> None:
        record = {
            "trial": trial.number,
            "value": value,
            "seconds": round(time.perf_counter() - started, 3),
            "params": params,
            "state": state,
        }
        if state == "pruned" and "epoch" in last:
            record["epoch"] = last["epoch"]
        records.append(record)
        if on_trial is not None:
            on_trial(record)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if maximize else "minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
    )
    if base_params:
        # The current parameters go first, as they are, so tuning never returns something
        # worse than them on validation.
        study.enqueue_trial({}, user_attrs={"baseline": True})
    study.optimize(objective, n_trials=trials, timeout=timeout, catch=(FloatingPointError,))
    if not any(r["state"] == "complete" for r in records):
        raise ConfigError("no trial finished; raise --timeout or --trials")
    best = study.best_trial
    assert best.value is not None  # the best trial is a complete one
    return TuneResult(
        model=model,
        metric=metric,
        best_params=dict(best.user_attrs["params"]),
        best_value=float(best.value),
        trials=records,
        reference=reference(carves, metric, k),
    )


def reference(
    carves: list[tuple[Interactions, Interactions]], metric: str, k: int = 10
) -> tuple[str, float]:
    """``metric`` of the trivial reference, averaged over the (fit, validation) slices.

    Ranking metrics: popularity fitted on the fit part. rmse/mae: every validation rating
    predicted as the mean training rating.
    """
    from nextbuy.evaluation import evaluate
    from nextbuy.models import registry

    values = []
    for fit_part, valid in carves:
        if metric in ("rmse", "mae"):
            errors = valid.values.astype(np.float64) - float(np.mean(fit_part.values))
            value = np.sqrt(np.mean(errors**2)) if metric == "rmse" else np.mean(np.abs(errors))
            values.append(float(value))
        else:
            popular = registry.create("popularity").fit(fit_part)
            values.append(float(evaluate(popular, fit_part, valid, k=k).metrics[metric]))
    name = "mean rating" if metric in ("rmse", "mae") else "popularity"
    return name, float(np.mean(values))


def write_config(result: TuneResult, path: Path, base: Config | None = None) -> Path:
    """Write the best parameters as a YAML config ``nextbuy train --config`` accepts."""
    cfg = (base or Config()).model_copy(deep=True)
    cfg.model.name = result.model
    cfg.model.params = {k: _plain(v) for k, v in result.best_params.items()}
    data = cfg.model_dump(mode="json")
    data.pop("models", None)
    header = (
        f"# Tuned by `nextbuy tune`: best {result.metric} = {result.best_value:.5f} on a "
        f"validation slice of the training data ({len(result.trials)} trials).\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(data, sort_keys=False))
    result.config_path = path
    return path


def plot_trials(result: TuneResult, path: Path) -> Path:
    """PNG of the metric by trial (pruned trials at their last reported value), running best."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [t for t in result.trials if t.get("state", "complete") == "complete"]
    pruned = [t for t in result.trials if t.get("state") == "pruned"]
    numbers = np.array([t["trial"] for t in done])
    values = np.array([t["value"] for t in done])
    best = (np.maximum if METRICS[result.metric] else np.minimum).accumulate(values)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.scatter(numbers, values, s=18, label="trial", color="#4c72b0")
    if pruned:
        ax.scatter(
            [t["trial"] for t in pruned],
            [t["value"] for t in pruned],
            s=22,
            marker="x",
            color="#8c8c8c",
            label="pruned (last value)",
        )
    ax.step(numbers, best, where="post", label="best so far", color="#dd8452")
    if result.reference is not None:
        name, value = result.reference
        ax.axhline(value, color="#55a868", linestyle="--", label=f"{name} (reference)")
    ax.set_xlabel("trial")
    ax.set_ylabel(result.metric)
    ax.set_title(f"nextbuy tune: {result.model}, {result.metric} on validation")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    result.plot_path = path
    return path


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
