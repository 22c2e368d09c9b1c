"""Accuracy bands on the built-in shop: collaborative models must clearly beat the baselines."""

from __future__ import annotations

import numpy as np
import pytest

from nextbuy.data.interactions import Interactions
from nextbuy.data.split import split
from nextbuy.data.synthetic import generate_shop
from nextbuy.evaluation import evaluate
from nextbuy.models import registry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop():
    """The demo's shop (the generator's defaults), generated once."""
    return generate_shop(seed=42)


@pytest.fixture(scope="module")
def implicit_split(shop):
    inter = Interactions.from_frame(shop.interactions)
    return split(inter, "user", test_fraction=0.2, seed=42)


def ndcg(name: str, train: Interactions, test: Interactions, **params) -> float:
    model = registry.create(name, **params).fit(train)
    return evaluate(model, train, test, k=10).metrics["ndcg@10"]


def test_als_and_ease_beat_popularity_clearly(implicit_split) -> None:
    train, test = implicit_split
    pop = ndcg("popularity", train, test)
    als = ndcg("als", train, test)
    ease = ndcg("ease", train, test)
    assert als > 1.25 * pop, (als, pop)
    assert ease > 1.25 * pop, (ease, pop)


def _bias_only_rmse(train: Interactions, test: Interactions, reg: float = 5.0) -> float:
    """Regularized user + item biases by alternating closed-form updates (the classic baseline)."""
    mu = float(train.values.mean())
    bu = np.zeros(train.n_users)
    bi = np.zeros(train.n_items)
    for _ in range(10):
        resid = train.values - mu - bu[train.users]
        bi = np.bincount(train.items, resid, train.n_items) / (
            np.bincount(train.items, minlength=train.n_items) + reg
        )
        resid = train.values - mu - bi[train.items]
        bu = np.bincount(train.users, resid, train.n_users) / (
            np.bincount(train.users, minlength=train.n_users) + reg
        )
    pred = np.clip(mu + bu[test.users] + bi[test.items], *train.rating_range)
    return float(np.sqrt(np.mean((pred - test.values) ** 2)))


def test_mf_beats_global_mean_and_bias_only(shop) -> None:
    inter = Interactions.from_frame(shop.ratings.rename(columns={"rating": "value"}), explicit=True)
    train, test = split(inter, "random", test_fraction=0.2, seed=42)
    model = registry.create("mf").fit(train)
    rmse = evaluate(model, train, test, k=10).metrics["rmse"]
    global_mean = float(np.sqrt(np.mean((test.values - train.values.mean()) ** 2)))
    bias_only = _bias_only_rmse(train, test)
    assert bias_only < global_mean
    assert rmse < bias_only - 0.02, (rmse, bias_only, global_mean)
