"""nextbuy tune: a few fast trials write a config that training uses, a plot, and pruning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
import scipy.sparse as sp

from nextbuy.config import load_config
from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models import registry
from nextbuy.training import train_model
from nextbuy.tuning import plot_trials, tune, write_config


@pytest.fixture(scope="module")
def shop_train(shop_dir: Path) -> Interactions:
    from nextbuy.data.sources import read_interactions

    return read_interactions(shop_dir / "interactions.csv").to_interactions()


def ratings(seed: int = 0) -> Interactions:
    """Low-rank ratings 1..5 (120 users x 80 items, 40 % observed)."""
    rng = np.random.default_rng(seed)
    p, q = rng.normal(0, 0.8, (120, 2)), rng.normal(0, 0.8, (80, 2))
    full = np.clip(np.round(3.4 + p @ q.T + rng.normal(0, 0.3, (120, 80))), 1, 5)
    users, items = np.nonzero(rng.random(full.shape) < 0.4)
    m = sp.csr_matrix((full[users, items], (users, items)), shape=full.shape, dtype=np.float32)
    return Interactions.from_csr(m, explicit=True)


def test_every_model_declares_a_search_space() -> None:
    builtins = [
        n for n in registry.available() if registry.get(n).__module__.startswith("nextbuy.")
    ]
    assert {"als", "bpmf", "blend", "ease", "ials", "mf", "userease"} <= set(builtins)
    for name in builtins:  # (tests may register helper models without one)
        if not registry.get(name).defaults:
            continue  # nothing to tune (globalmean)
        space = registry.get(name).search_space
        assert callable(space), name
        # every suggested name is a hyper-parameter of the model (or blend weights)
        study = optuna.create_study()
        params = space(study.ask())
        assert params and set(params) <= set(registry.get(name).defaults), name


def test_tune_writes_a_config_that_train_uses(
    shop_train: Interactions, shop_dir: Path, tmp_path: Path
) -> None:
    seen: list[dict] = []
    result = tune(shop_train, "ease", trials=3, metric="ndcg@10", on_trial=seen.append)
    assert len(result.trials) == 3 == len(seen)
    assert all(r["state"] == "complete" for r in result.trials)
    assert result.best_value == max(r["value"] for r in result.trials)
    assert result.best_params["regularization"] in [
        r["params"]["regularization"] for r in result.trials
    ]
    path = write_config(result, tmp_path / "tuned.yaml")
    cfg = load_config(path)
    assert cfg.model.name == "ease"
    assert cfg.model.params["regularization"] == pytest.approx(result.best_params["regularization"])
    trained = train_model(shop_dir / "interactions.csv", out=tmp_path / "models", config=cfg)
    assert trained.model.params["regularization"] == pytest.approx(
        result.best_params["regularization"]
    )
    assert trained.model.params["dropout"] == pytest.approx(result.best_params["dropout"])
    png = plot_trials(result, tmp_path / "tuned.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_trials_are_pruned_by_epoch_reports(tmp_path: Path) -> None:
    train = ratings()
    base = {
        "factors": 4,
        "epochs": 20,
        "batch_size": 512,
        "l2": 0.01,
        "early_stopping": 0,
        "num_threads": 1,
    }

    def space(trial: optuna.Trial) -> dict:
        # a learning rate of 1e-6 cannot move the factors: hopeless from the first epochs
        return {"lr": trial.suggest_categorical("lr", [0.05, 1e-6])}

    result = tune(
        train,
        "mf",
        trials=8,
        metric="rmse",
        base_params=base,
        space=space,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )
    states = {r["state"] for r in result.trials}
    assert "pruned" in states and "complete" in states
    pruned = [r for r in result.trials if r["state"] == "pruned"]
    assert all(r["params"]["lr"] == 1e-6 for r in pruned)
    assert all(r["epoch"] < base["epochs"] - 1 for r in pruned)  # stopped early
    # trial 0 is the base parameters as given (mf's default lr), never pruned
    assert result.trials[0]["params"] == base and result.trials[0]["state"] == "complete"
    done = [r["value"] for r in result.trials if r["state"] == "complete"]
    assert result.best_value == min(done)
    assert result.best_params.get("lr") != 1e-6
    png = plot_trials(result, tmp_path / "pruned.png")  # pruned trials drawn too
    assert png.stat().st_size > 0


def test_rating_metric_needs_a_rating_model(shop_train: Interactions) -> None:
    with pytest.raises(ConfigError, match="rating model"):
        tune(shop_train, "ease", trials=1, metric="rmse")
