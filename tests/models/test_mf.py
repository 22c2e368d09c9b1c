"""Biased MF (torch): the contract, plus accuracy on low-rank data and exact numpy export."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from contract import RecommenderContract, block_interactions

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError, DataError
from nextbuy.models import registry
from nextbuy.models.base import Recommender

TINY = {
    "factors": 4,
    "epochs": 150,
    "batch_size": 0,
    "lr": 0.05,
    "l2": 0.001,
    "bias_l2": 0.001,
    "init_std": 0.1,
    "valid_fraction": 0.0,
    "num_threads": 1,
}
FAST = {"factors": 8, "epochs": 40, "batch_size": 1024, "lr": 0.02, "l2": 0.05, "num_threads": 1}


class TestMF(RecommenderContract):
    explicit = True

    def make_model(self) -> Recommender:
        return registry.create("mf", **TINY)


def low_rank(seed: int = 0) -> tuple[Interactions, Interactions]:
    """Ratings 1..5 from mu + b_u + b_i + p.q (rank 3) + noise, 40% observed, 80/20 split."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 300, 200
    p = rng.normal(0, 0.7, (n_users, 3))
    q = rng.normal(0, 0.7, (n_items, 3))
    full = 3.4 + rng.normal(0, 0.4, (n_users, 1)) + rng.normal(0, 0.4, (1, n_items)) + p @ q.T
    full = np.clip(np.round(full + rng.normal(0, 0.3, full.shape)), 1, 5)
    mask = rng.random(full.shape) < 0.4
    users, items = np.nonzero(mask)
    values = full[users, items].astype(np.float32)
    test = rng.random(len(users)) < 0.2
    shape = (n_users, n_items)
    train_m = sp.csr_matrix((values[~test], (users[~test], items[~test])), shape=shape)
    test_m = sp.csr_matrix((values[test], (users[test], items[test])), shape=shape)
    return (
        Interactions.from_csr(train_m, explicit=True),
        Interactions.from_csr(test_m, explicit=True),
    )


@pytest.fixture(scope="module")
def split() -> tuple[Interactions, Interactions]:
    return low_rank()


@pytest.fixture(scope="module")
def fitted(split: tuple[Interactions, Interactions]) -> Recommender:
    return registry.create("mf", **FAST).fit(split[0])


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


def bias_only(train: Interactions, test: Interactions, reg: float = 5.0) -> np.ndarray:
    mu = float(train.values.mean())
    bu, bi = np.zeros(train.n_users), np.zeros(train.n_items)
    for _ in range(10):
        resid = train.values - mu - bu[train.users]
        bi = np.bincount(train.items, resid, train.n_items) / (
            np.bincount(train.items, minlength=train.n_items) + reg
        )
        resid = train.values - mu - bi[train.items]
        bu = np.bincount(train.users, resid, train.n_users) / (
            np.bincount(train.users, minlength=train.n_users) + reg
        )
    return np.clip(mu + bu[test.users] + bi[test.items], 1, 5)


def test_beats_global_mean_and_bias_only(
    split: tuple[Interactions, Interactions], fitted: Recommender
) -> None:
    train, test = split
    ours = rmse(fitted.predict(test.users, test.items), test.values)
    mean = rmse(np.full(len(test), train.values.mean()), test.values)
    biases = rmse(bias_only(train, test), test.values)
    assert biases < mean
    assert ours < biases - 0.1, (ours, biases, mean)
    assert fitted.predicts_ratings
    assert set(fitted.history_) >= {"train_loss", "valid_rmse", "lr", "best_epoch"}


def torch_predict(model: Recommender, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    import torch

    module = model.torch_module_  # type: ignore[attr-defined]
    assert not module.training
    with torch.no_grad():
        out = module(torch.as_tensor(users), torch.as_tensor(items))[0].numpy()
    return np.clip(out, model.rating_min_, model.rating_max_)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "options", [{}, {"batch_norm": True}, {"batch_norm": True, "dropout": 0.2}]
)
def test_numpy_export_equals_torch_eval(
    split: tuple[Interactions, Interactions], options: dict
) -> None:
    train, test = split
    model = registry.create("mf", **{**FAST, "epochs": 8, **options}).fit(train)
    users, items = test.users.astype(np.int64), test.items.astype(np.int64)
    np.testing.assert_allclose(
        model.predict(users, items), torch_predict(model, users, items), atol=1e-5
    )
    if options.get("batch_norm"):
        assert not np.allclose(model.bn_scale_, 1.0)  # type: ignore[attr-defined]
        assert model.torch_module_.bn is not None  # type: ignore[attr-defined]
    assert np.isfinite(rmse(model.predict(users, items), test.values))


def test_early_stopping_restores_best_epoch(split: tuple[Interactions, Interactions]) -> None:
    train, _ = split
    rng = np.random.default_rng(1)
    noise = train.subset(np.arange(400))
    noise = Interactions.from_csr(
        sp.csr_matrix(
            (rng.integers(1, 6, 400).astype(np.float32), (noise.users, noise.items)),
            shape=train.shape,
        ),
        explicit=True,
    )
    model = registry.create(
        "mf",
        **{**FAST, "epochs": 200, "lr": 0.05, "l2": 0.0, "early_stopping": 3, "rank_support": 0},
    ).fit(train, valid=noise)
    h = model.history_
    assert len(h["train_loss"]) < 200
    best = int(h["best_epoch"][0])
    assert h["valid_rmse"][best] == min(h["valid_rmse"])
    assert len(h["valid_rmse"]) - 1 - best == 3
    # the kept weights are the best epoch's: their valid RMSE is the minimum
    pred = model.predict(noise.users, noise.items)
    unclipped = model.score(noise.users)[np.arange(len(noise)), noise.items]
    assert abs(rmse(unclipped, noise.values) - min(h["valid_rmse"])) < 1e-4
    assert pred.min() >= 1 and pred.max() <= 5


def test_refit_uses_all_of_train(split: tuple[Interactions, Interactions]) -> None:
    train, test = split
    once = registry.create("mf", **{**FAST, "refit": False}).fit(train)
    twice = registry.create("mf", **{**FAST, "refit": True}).fit(train)
    assert not np.allclose(once.item_factors_, twice.item_factors_)  # type: ignore[attr-defined]
    a = rmse(once.predict(test.users, test.items), test.values)
    b = rmse(twice.predict(test.users, test.items), test.values)
    assert b < a + 0.01, (a, b)


def test_seeded_runs_repeat(split: tuple[Interactions, Interactions]) -> None:
    train, test = split
    a = registry.create("mf", **{**FAST, "epochs": 3}).fit(train)
    b = registry.create("mf", **{**FAST, "epochs": 3}).fit(train)
    np.testing.assert_array_equal(
        a.predict(test.users, test.items), b.predict(test.users, test.items)
    )


def test_unknown_ids_fall_back_to_biases(fitted: Recommender) -> None:
    m = fitted
    mu = m.global_mean_  # type: ignore[attr-defined]
    pred = m.predict(np.array([-1, 0, -1]), np.array([3, -1, -1]))
    expected = np.clip([mu + m.item_bias_[3], mu + m.user_bias_[0], mu], 1, 5)  # type: ignore[attr-defined]
    np.testing.assert_allclose(pred, expected, rtol=1e-5)
    # ranking shrinks each item's part by its support n_i / (n_i + rank_support)
    n_i = np.bincount(m.user_items_.indices, minlength=m.n_items_)  # type: ignore[union-attr]
    weight = n_i / (n_i + m.config.rank_support)  # type: ignore[attr-defined]
    np.testing.assert_allclose(m.score([-1])[0], mu + weight * m.item_bias_, rtol=1e-5)  # type: ignore[attr-defined]


def test_fold_in_recovers_a_known_user(
    split: tuple[Interactions, Interactions], fitted: Recommender
) -> None:
    train, test = split
    users = np.arange(20)
    rows = train.csr[users]
    trained = fitted.score(users)
    folded = fitted.score(np.full(20, -1), rows, recalculate_user=True)
    corr = [np.corrcoef(trained[i], folded[i])[0, 1] for i in range(20)]
    assert min(corr) > 0.9, corr
    solved = fitted.recalculate_user(rows)  # type: ignore[attr-defined]
    assert solved.shape == (20, 1 + 8)
    # fold-in predictions on held-out ratings are about as good as the trained user's
    mask = np.isin(test.users, users)
    tu, ti, tv = test.users[mask], test.items[mask], test.values[mask]
    a = rmse(np.clip(trained[tu, ti], 1, 5), tv)
    b = rmse(np.clip(folded[tu, ti], 1, 5), tv)
    assert b < a + 0.1, (a, b)


def test_bad_inputs() -> None:
    train = block_interactions(explicit=True)
    with pytest.raises(ConfigError, match="device"):
        registry.create("mf", device="tpu").fit(train)
    with pytest.raises(ConfigError, match="valid_fraction"):
        registry.create("mf", valid_fraction=1.5).fit(train)
    other = Interactions.from_csr(sp.csr_matrix((3, 3), dtype=np.float32), explicit=True)
    with pytest.raises(DataError, match="same user and item maps"):
        registry.create("mf").fit(train, valid=other)


def test_module_import_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, nextbuy.models.registry as r; [r.get(n) for n in r.available()]; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
