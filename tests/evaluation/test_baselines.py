"""Rating baselines in evaluation tables: their rows, and the warning when a model loses."""

from __future__ import annotations

import numpy as np
import pytest

from nextbuy.evaluation import evaluate
from nextbuy.evaluation.baselines import baseline_warnings, rating_baselines
from nextbuy.evaluation.concentration import SAME_TOP, same_top_share
from nextbuy.models import registry
from tests.models.test_mf import low_rank


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
