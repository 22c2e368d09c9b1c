"""ALS: the contract, plus agreement with implicit's own fit, recommend and fold-in."""

from __future__ import annotations

import implicit.cpu.als
import numpy as np
import pytest
import scipy.sparse as sp
from contract import RecommenderContract, block_interactions

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models import registry
from nextbuy.models.base import Recommender
from nextbuy.models.weighting import weigh_rows

#: popularity_prior 0: the agreement tests compare the factors' scores with implicit's.
PARAMS = {
    "factors": 4,
    "regularization": 0.1,
    "alpha": 2.0,
    "iterations": 10,
    "num_threads": 1,
    "popularity_prior": 0.0,
}


class TestALS(RecommenderContract):
    def make_model(self) -> Recommender:
        return registry.create("als", **PARAMS)


class TestALSWithPopularityPrior(RecommenderContract):
    """Scores, predict, fold-in and save/load stay consistent with the item-bias prior on."""

    def make_model(self) -> Recommender:
        return registry.create("als", **{**PARAMS, "popularity_prior": 0.5})


@pytest.fixture(scope="module")
def data() -> Interactions:
    rng = np.random.default_rng(3)
    x = sp.random(60, 40, density=0.15, random_state=rng, format="csr", dtype=np.float32)
    x.data = np.ceil(x.data * 4).astype(np.float32)  # counts 1..4
    return Interactions.from_csr(x)


def implicit_twin(model: Recommender) -> implicit.cpu.als.AlternatingLeastSquares:
    twin = implicit.cpu.als.AlternatingLeastSquares(
        factors=model.params["factors"],
        regularization=model.params["regularization"],
        alpha=1.0,
        num_threads=1,
    )
    twin.user_factors = np.array(model.user_factors_)
    twin.item_factors = np.array(model.item_factors_)
    return twin


@pytest.mark.parametrize("weighting", ["linear", "log"])
def test_factors_equal_implicit_on_confidence(data: Interactions, weighting: str) -> None:
    """alpha is applied once, by us: implicit sees c = 1 + alpha * f(value) with its alpha = 1."""
    model = registry.create("als", **PARAMS, weighting=weighting, random_state=7).fit(data)
    confidence = weigh_rows(data.csr, weighting, PARAMS["alpha"])
    ref = implicit.cpu.als.AlternatingLeastSquares(
        factors=4, regularization=0.1, alpha=1.0, iterations=10, num_threads=1, random_state=7
    )
    ref.fit(confidence, show_progress=False)
    np.testing.assert_allclose(model.user_factors_, ref.user_factors, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.item_factors_, ref.item_factors, rtol=1e-5, atol=1e-6)


def test_recommend_matches_implicit(data: Interactions) -> None:
    model = registry.create("als", **PARAMS).fit(data)
    users = np.arange(data.n_users)
    ids, scores = model.recommend(users, k=5)
    ref_ids, ref_scores = implicit_twin(model).recommend(users, data.csr, N=5)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-6)
    assert (ids == ref_ids).mean() > 0.98  # exact ties may order differently


def test_recalculate_user_matches_implicit_and_training(data: Interactions) -> None:
    model = registry.create("als", **{**PARAMS, "iterations": 30}).fit(data)
    users = np.arange(10)
    rows = data.csr[users]
    ours = model.recalculate_user(rows)
    conf = weigh_rows(data.csr, "linear", PARAMS["alpha"])[users]
    theirs = implicit_twin(model).recalculate_user(users, conf)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    # at convergence the fold-in of a known user reproduces its trained factor
    trained = model.user_factors_[users]
    cos = (ours * trained).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(trained, axis=1)
    assert cos.min() > 0.99, cos


def test_score_folds_in_given_rows(data: Interactions) -> None:
    model = registry.create("als", **{**PARAMS, "iterations": 30}).fit(data)
    rows = data.csr[[4, 9]]
    folded = model.score(np.array([-1, -1]), rows, recalculate_user=True)
    expected = model.recalculate_user(rows) @ model.item_factors_.T
    np.testing.assert_allclose(folded, expected, rtol=1e-5, atol=1e-6)
    ranks_new = np.argsort(-folded[0])[:5]
    ranks_old = np.argsort(-model.score(np.array([4]))[0])[:5]
    assert len(set(ranks_new) & set(ranks_old)) >= 4


def test_one_row_fold_in_matches_the_batched_solve(data: Interactions, tmp_path) -> None:
    """A request's single row takes the dense path with the cached V^T V; same answer."""
    fitted = registry.create("als", **PARAMS).fit(data)
    fitted.save(tmp_path / "als")
    model = type(fitted).load(tmp_path / "als")  # memory-mapped factors, as served
    assert model._item_gram() is model._item_gram()  # built once per item-factor array
    rng = np.random.default_rng(1)
    n = model.n_items_
    rows = sp.random(4, n, density=0.1, format="csr", random_state=2, dtype=np.float32)
    rows.data = rng.integers(1, 6, rows.nnz).astype(np.float32)
    rows = sp.vstack([rows, sp.csr_matrix((1, n), dtype=np.float32)]).tocsr()  # + empty row
    expected = model.score(np.full(5, -1), rows, recalculate_user=True)
    for i in range(5):  # one row at a time takes the dense path
        np.testing.assert_allclose(
            model.score([-1], rows[i], recalculate_user=True),
            expected[i : i + 1],
            rtol=1e-4,
            atol=1e-5,
        )


def test_unknown_users_get_popularity(data: Interactions) -> None:
    model = registry.create("als", **PARAMS).fit(data)
    ids, _ = model.recommend([-1], k=5)
    counts = np.bincount(data.items, minlength=data.n_items)
    assert set(ids[0]) <= set(np.argsort(-counts, kind="stable")[:8])
    np.testing.assert_allclose(model.score([-1])[0], counts / data.n_users, rtol=1e-6)


def test_training_loss_and_bad_options() -> None:
    train = block_interactions()
    model = registry.create("als", **PARAMS, calculate_training_loss=True).fit(train)
    assert len(model.history_["train_loss"]) == PARAMS["iterations"]
    with pytest.raises(ConfigError, match="weighting"):
        registry.create("als", weighting="binary").fit(train)
    with pytest.raises(ConfigError, match="device"):
        registry.create("als", device="tpu").fit(train)


def test_typed_config_builds_the_model() -> None:
    from nextbuy.models.als import ALS, ALSConfig

    model = ALS(ALSConfig(factors=8), iterations=3)
    assert model.config == ALSConfig(factors=8, iterations=3)
    assert model.get_params()["factors"] == 8 and ALS.defaults["factors"] == "auto"
    assert ALSConfig.expected("factors") == "an integer >= 1 or 'auto'"
    with pytest.raises(ConfigError, match="config must be ALSConfig, not IALSConfig"):
        ALS(registry.get("ials").config_class())


def test_popularity_prior_adds_scaled_popularity_to_every_score(data: Interactions) -> None:
    """prior x mean training-pair score x popularity / top popularity, the same for all users."""
    plain = registry.create("als", **PARAMS).fit(data)
    lifted = registry.create("als", **{**PARAMS, "popularity_prior": 0.5}).fit(data)
    assert plain.item_prior() is None
    users = np.arange(data.n_users)
    pairs = data.csr.tocoo()
    scale = np.mean(np.sum(plain.user_factors_[pairs.row] * plain.item_factors_[pairs.col], 1))
    expected = 0.5 * scale * plain.popularity_ / plain.popularity_.max()
    np.testing.assert_allclose(lifted.item_prior(), expected, rtol=1e-4)
    diff = lifted.score(users) - plain.score(users)
    np.testing.assert_allclose(diff, np.broadcast_to(expected, diff.shape), rtol=1e-3, atol=1e-5)
    items = np.arange(data.n_items)
    np.testing.assert_allclose(
        lifted.predict(np.zeros_like(items), items) - plain.predict(np.zeros_like(items), items),
        expected,
        rtol=1e-3,
        atol=1e-5,
    )
