"""--model auto considers sasrec on timed data only, within the budget, deterministically."""

from __future__ import annotations

import pytest

from nextbuy.data.interactions import Interactions
from nextbuy.data.synthetic import generate_shop
from nextbuy.selection import select
from nextbuy.selection.budget import DataStats, fit_seconds

#: A few epochs keep each sasrec trial to about a second.
QUICK = {"sasrec": {"epochs": 3}}


@pytest.fixture(scope="module")
def journeys() -> Interactions:
    """A tiny shop whose purchases follow category journeys (time order matters)."""
    shop = generate_shop(n_users=150, n_items=40, n_interactions=2500, seed=5, sequential=0.5)
    return Interactions.from_frame(shop.interactions)


def by_family(chosen, family: str):  # type: ignore[no-untyped-def]
    return [t for t in chosen.leaderboard.trials if t.family == family]


def test_sasrec_competes_on_timed_data_and_repeats_exactly(journeys: Interactions) -> None:
    first = select(journeys, budget=0, seed=1, params=QUICK)
    again = select(journeys, budget=0, seed=1, params=QUICK)
    trials = by_family(first, "sasrec")
    assert len(trials) == 1 and trials[0].status == "complete", trials
    assert trials[0].params["num_threads"] == 1  # pinned: one summation order
    assert trials[0].value > 0
    assert trials[0].value == by_family(again, "sasrec")[0].value
    assert (first.family, first.params) == (again.family, again.params)
    assert "sasrec" not in {t.family for t in first.leaderboard.trials if t.family == "blend"}


def test_sasrec_is_skipped_with_a_reason_without_timestamps(journeys: Interactions) -> None:
    untimed = Interactions.from_csr(journeys.csr)
    chosen = select(untimed, budget=0, params=QUICK)
    (trial,) = by_family(chosen, "sasrec")
    assert trial.status == "skipped"
    assert "needs timestamps (--time-col)" in trial.reason


def test_sasrec_is_skipped_with_its_estimate_when_the_budget_is_short(
    journeys: Interactions,
) -> None:
    wide = {"sasrec": {"factors": 1024}}  # ~100 s at the reference speed: never within 2 s
    chosen = select(journeys, budget="2s", seed=1, params=wide)
    (trial,) = by_family(chosen, "sasrec")
    assert trial.status == "skipped"
    assert "more than this budget allows" in trial.reason and trial.estimated_seconds > 0.8


def test_sasrec_cost_grows_with_epochs_catalog_and_data() -> None:
    small = DataStats(943, 1682, 99_000, 0.0, 0.0, True)  # MovieLens 100K's shape
    base = fit_seconds("sasrec", {}, small)
    assert 30 < base < 200  # measured: ~1.5 CPU s per epoch on one thread, ~32 epochs
    assert fit_seconds("sasrec", {"epochs": 4}, small) == pytest.approx(base / 10, rel=0.2)
    wide = DataStats(943, 16_820, 99_000, 0.0, 0.0, True)
    assert fit_seconds("sasrec", {}, wide) > 5 * base
