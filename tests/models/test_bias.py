"""Rating baselines: damped biases beat the global mean, and both save, load and fold in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from test_mf import low_rank

from nextbuy.evaluation import evaluate_ratings
from nextbuy.models import registry
from nextbuy.models.bias import damped_biases


def test_bias_beats_the_global_mean_on_generated_ratings() -> None:
    train, test = low_rank()
    mean = evaluate_ratings(registry.create("globalmean").fit(train), test)["rmse"]
    bias = evaluate_ratings(registry.create("bias").fit(train), test)["rmse"]
    assert bias < mean - 0.1, (bias, mean)  # biases of std 0.4 each are most of the signal


def test_damping_shrinks_rarely_rated_items_toward_the_mean() -> None:
    # item 0: one rating of +2; item 1: fifty ratings of +2 (residuals around the mean)
    users = np.r_[0, np.arange(50)]
    items = np.r_[0, np.ones(50, dtype=np.int64)]
    resid = np.full(51, 2.0)
    _, b_i = damped_biases(users, items, resid, (50, 2), 0.0, 5.0, sweeps=1)
    np.testing.assert_allclose(b_i, [2.0 / 6.0, 100.0 / 55.0])
    undamped = damped_biases(users, items, resid, (50, 2), 0.0, 0.0, sweeps=1)[1]
    np.testing.assert_allclose(undamped, [2.0, 2.0])


def test_baselines_round_trip_and_fold_users_in(tmp_path: Path) -> None:
    train, test = low_rank()
    for name in ("globalmean", "bias"):
        model = registry.create(name).fit(train)
        model.save(tmp_path / name)
        back = registry.get(name).load(tmp_path / name)
        np.testing.assert_allclose(
            back.predict(test.users, test.items), model.predict(test.users, test.items)
        )
        rows = sp.csr_matrix(train.csr[:3])
        folded = model.score(np.arange(3), rows, recalculate_user=True)
        np.testing.assert_allclose(folded, model.score(np.arange(3)), atol=0.05)
        assert model.recommend(np.arange(3), k=5)[0].shape == (3, 5)
