"""Rating baselines in evaluation tables: their rows, and the warning when a model loses."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.evaluation import evaluate
from nextbuy.evaluation.baselines import baseline_warnings, rating_baselines
from nextbuy.evaluation.concentration import SAME_TOP, same_top_share
from nextbuy.models import registry


def low_rank(seed: int = 0) -> tuple[Interactions, Interactions]:
    """Ratings 1..5 from mu + b_u + b_i + p.q (rank 2) + noise, 30% observed, 80/20 split."""
    rng = np.random.default_rng(seed)
    shape = (200, 120)
    p, q = rng.normal(0, 0.7, (shape[0], 2)), rng.normal(0, 0.7, (shape[1], 2))
    full = 3.4 + rng.normal(0, 0.4, (shape[0], 1)) + rng.normal(0, 0.4, (1, shape[1])) + p @ q.T
    full = np.clip(np.round(full + rng.normal(0, 0.3, shape)), 1, 5)
    users, items = np.nonzero(rng.random(shape) < 0.3)
    test = rng.random(len(users)) < 0.2

    def part(rows: np.ndarray) -> Interactions:
        m = sp.csr_matrix((full[users[rows], items[rows]], (users[rows], items[rows])), shape)
        return Interactions.from_csr(m, explicit=True)

    return part(~test), part(test)


def test_rows_and_warning_for_a_model_that_does_not_beat_them() -> None:
    train, test = low_rank()
    rows = rating_baselines(train, test, k=5)
    assert [r.model for r in rows] == ["globalmean", "bias"]
    assert all(np.isfinite(r.metrics["rmse"]) and SAME_TOP in r.metrics for r in rows)
    # the global mean labelled as a model of its own loses to the damped biases
    weak = evaluate(registry.create("globalmean").fit(train), train, test, k=5, label="weak")
    (line,) = baseline_warnings([weak, *rows])
    assert "weak" in line and "damped user + item bias" in line and "does not beat" in line
    good = evaluate(registry.create("bpmf", factors=4, sweeps=40).fit(train), train, test, k=5)
    assert baseline_warnings([good, *rows]) == []


@pytest.mark.parametrize(
    ("recs", "share"),
    [
        (np.array([[1, 2], [1, 3], [2, 1], [1, 0]]), 0.75),
        (np.array([[0], [1], [2], [3]]), 0.25),
        (np.array([[-1, -1], [4, 1]]), 0.5),
    ],
)
def test_same_top_share(recs: np.ndarray, share: float) -> None:
    assert same_top_share(recs) == share
