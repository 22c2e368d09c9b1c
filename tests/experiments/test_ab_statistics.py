"""The statistics of A/B reports on simulated data (fixed seeds): interval coverage, the A/A
false-positive rate, SRM, and assignment that is sticky, balanced and independent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nextbuy.experiments.assignment import assign, assign_many
from nextbuy.experiments.attribution import attribute
from nextbuy.experiments.definition import Experiment, Variant
from nextbuy.experiments.stats import sample_ratio_mismatch, two_proportion_test, wilson


def experiment(eid: str = "e1", salt: str = "s", weights: tuple[float, ...] = (1, 1)) -> Experiment:
    variants = [Variant(name=f"v{i}", model="@latest", weight=w) for i, w in enumerate(weights)]
    return Experiment(experiment_id=eid, variants=variants, salt=salt)


def test_difference_intervals_cover_the_true_difference_about_95_percent() -> None:
    rng = np.random.default_rng(14)
    n, p_a, p_b, runs = 3000, 0.05, 0.06, 600
    x_a, x_b = rng.binomial(n, p_a, runs), rng.binomial(n, p_b, runs)
    cover = [two_proportion_test(a, n, b, n)[1] for a, b in zip(x_a, x_b, strict=True)]
    rate = np.mean([lo <= p_b - p_a <= hi for lo, hi in cover])
    assert 0.93 <= rate <= 0.97, rate
    wilson_rate = np.mean([wilson(a, n)[0] <= p_a <= wilson(a, n)[1] for a in x_a])
    assert 0.93 <= wilson_rate <= 0.97, wilson_rate


def test_a_a_tests_are_significant_about_5_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    n, p, runs = 2000, 0.08, 1000
    x_a, x_b = rng.binomial(n, p, runs), rng.binomial(n, p, runs)
    p_values = np.array([two_proportion_test(a, n, b, n)[2] for a, b in zip(x_a, x_b, strict=True)])
    assert 0.035 <= np.mean(p_values < 0.05) <= 0.065


def test_a_real_lift_is_detected() -> None:
    rng = np.random.default_rng(3)
    n, runs = 5000, 200
    x_a, x_b = rng.binomial(n, 0.05, runs), rng.binomial(n, 0.065, runs)
    pairs = zip(x_a, x_b, strict=True)
    power = np.mean([two_proportion_test(a, n, b, n)[2] < 0.05 for a, b in pairs])
    assert power > 0.8


def test_sample_ratio_mismatch() -> None:
    assert sample_ratio_mismatch([5020, 4980], [0.5, 0.5]) > 0.5
    assert sample_ratio_mismatch([5300, 4700], [0.5, 0.5]) < 0.001
    assert sample_ratio_mismatch([9000, 1000], [0.9, 0.1]) > 0.5


def test_assignment_is_sticky_balanced_and_independent_across_experiments() -> None:
    users = [f"u{i}" for i in range(20000)]
    e1, e2 = experiment("e1", "salt-1"), experiment("e2", "salt-2")
    a1, a2 = assign_many(e1, users), assign_many(e2, users)
    assert [assign(e1, u) for u in users[:500]] == list(a1[:500])  # one rule, both paths
    assert list(assign_many(e1, users)) == list(a1)  # deterministic (sticky)
    share = np.mean(a1 == "v0")
    assert abs(share - 0.5) < 0.015
    # the second experiment's split is independent of the first one's
    both = pd.crosstab(a1, a2).to_numpy() / len(users)
    assert np.allclose(both, 0.25, atol=0.015)
    skewed = assign_many(experiment(weights=(9, 1)), users)
    assert abs(np.mean(skewed == "v1") - 0.1) < 0.01


def test_attribution_by_id_then_by_window() -> None:
    shown = pd.DataFrame({
        "recommendation_id": ["r1", "r1", "r2"], "variant": ["a", "a", "b"],
        "user_id": ["u1", "u1", "u2"], "item_id": ["i1", "i2", "i1"],
        "served_at": [1_000_000, 1_000_000, 2_000_000],
    })  # fmt: skip
    events = pd.DataFrame({
        "user_id": ["u1", "u1", "u2", "u2", "u1"],
        "item_id": ["i2", "i1", "i1", "i1", "i9"],
        "event": ["purchase", "click", "click", "click", "click"],
        "value": [1.0] * 5,
        "received_at": [1_500_000, 1_200_000, 2_000_500, 2_000_000 + 25 * 3_600_000, 1_100_000],
        "recommendation_id": ["r1", None, None, None, None],
    })  # fmt: skip
    got = attribute(shown, events, window_s=24 * 3600)
    assert got["how"].tolist() == ["id", "window", "window"]
    assert got["recommendation_id"].tolist() == ["r1", "r1", "r2"]
    # a wrong id (the item was not in that list) falls back to the window
    wrong = events.iloc[:1].assign(recommendation_id="r2")
    assert attribute(shown, wrong)["how"].tolist() == ["window"]


def test_bad_experiments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        Experiment(experiment_id="x", variants=[Variant(name="a")])
    with pytest.raises(ValueError, match="must differ"):
        Experiment(experiment_id="x", variants=[Variant(name="a"), Variant(name="a")])
