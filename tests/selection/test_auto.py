"""--model auto on the small shop: beats popularity, deterministic, skips with reasons."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nextbuy.data.interactions import Interactions
from nextbuy.data.split import resolve_method, split
from nextbuy.errors import ConfigError
from nextbuy.evaluation import evaluate
from nextbuy.models import registry
from nextbuy.models.defaults import DataShape
from nextbuy.selection import parse_budget, select, space
from nextbuy.selection.transfer import transfer_winner
from nextbuy.selection.validation import carve, validation_kind

#: sasrec's overrides where a test fits every family's defaults (budget 0): a few epochs.
QUICK_SASREC = {"sasrec": {"epochs": 2}}


@pytest.fixture(scope="module")
def shop(shop_dir: Path) -> Interactions:
    frame = pd.read_csv(shop_dir / "interactions.csv", dtype={"user_id": str, "item_id": str})
    return Interactions.from_frame(frame)


def test_budget_parses_durations_and_rejects_the_rest() -> None:
    assert [parse_budget(t) for t in ("90s", "2m", "1h", "0", "1.5m", 30)] == [
        90.0, 120.0, 3600.0, 0.0, 90.0, 30.0,
    ]  # fmt: skip
    for bad in ("soon", "-1m", "2 weeks"):
        with pytest.raises(ConfigError, match="expected a duration"):
            parse_budget(bad)


def test_auto_beats_popularity_clearly_on_held_out_data(shop: Interactions) -> None:
    train, test = split(shop, "user", seed=42)
    chosen = select(train, budget="15s", seed=42)  # headroom for a slow or busy machine
    auto = evaluate(chosen.model, train, test).metrics["ndcg@10"]
    popular = evaluate(registry.create("popularity").fit(train), train, test).metrics["ndcg@10"]
    assert auto > 1.25 * popular, (auto, popular)
    board = chosen.leaderboard
    assert board.winner() is not None and board.winner().family == chosen.family  # type: ignore[union-attr]
    fit_part, _ = carve(train, validation_kind("random", train, "ndcg"), seed=42)
    defaults = {f: space.family_defaults(f) for f in (*space.RANKING_FAMILIES, "trending")}
    refit = transfer_winner(chosen.family, board.winner().params, defaults,  # type: ignore[union-attr]
                            DataShape.of(fit_part), DataShape.of(train))  # fmt: skip
    assert chosen.params == refit  # searched rule axes moved to the whole data's shape
    assert any(t.changed for t in board.complete() if t.family != "blend")  # it searched
    blends = [t for t in board.trials if t.family == "blend"]
    for blend in blends:  # a blend is kept only when it beats its best member
        members = [board.best(f).value for f in blend.params["weights"]]  # type: ignore[union-attr]
        if blend.status == "complete":
            assert blend.value > max(members)
        else:
            assert "does not beat its best member" in blend.reason


def test_budget_zero_fits_each_family_defaults_once_and_is_deterministic(
    shop: Interactions,
) -> None:
    first = select(shop, budget=0, seed=3, params=QUICK_SASREC)
    again = select(shop, budget=0, seed=3, params=QUICK_SASREC)
    done = first.leaderboard.complete()
    assert sorted(t.family for t in done) == sorted(
        [
            "popularity",
            "trending",
            "itemknn",
            "rp3beta",
            "ease",
            "userease",
            "infae",
            "als",
            "ials",
            "bpr",
            "sasrec",
        ]
    )  # trending and sasrec: the shop has timestamps
    assert all(not t.changed for t in done if t.family != "sasrec")  # defaults only, no blend
    strip = [{k: v for k, v in t.record().items() if "seconds" not in k} for t in done]
    assert strip == [
        {k: v for k, v in t.record().items() if "seconds" not in k}
        for t in again.leaderboard.complete()
    ]
    assert (first.family, first.params) == (again.family, again.params)
    popular = first.leaderboard.best("popularity")
    assert popular is not None and first.leaderboard.best().value > popular.value  # type: ignore[union-attr]


def test_families_that_cannot_fit_are_skipped_with_a_reason(shop: Interactions) -> None:
    chosen = select(shop, budget=0, params={"ease": {"max_items": 50}, **QUICK_SASREC})
    skipped = {t.family: t.reason for t in chosen.leaderboard.skipped()}
    assert f"{shop.n_items:,} items > its max_items 50" in skipped["ease"]
    assert "implicit feedback" in skipped["mf"] and "implicit feedback" in skipped["bpmf"]
    assert "ease" not in {t.family for t in chosen.leaderboard.complete()}
    with pytest.raises(ConfigError, match="--metric rmse compares rating predictions"):
        select(shop, budget=0, metric="rmse")
    with pytest.raises(ConfigError, match="--metric 'ndcg'"):
        select(shop, budget=0, metric="ndcg")


def test_validation_mirrors_the_users_split_and_uses_timestamps(shop: Interactions) -> None:
    assert validation_kind("random", shop, "ndcg") == "user"
    assert validation_kind("random", shop, "rmse") == "random"
    assert validation_kind("time", shop, "ndcg") == "time"
    assert validation_kind("none", shop, "ndcg") == "latest"  # the shop has timestamps
    # the config's default split (auto) and the per-user temporal names validate temporally
    for method in ("auto", "latest", "last", "Latest "):
        assert validation_kind(method, shop, "ndcg") == "latest"
    untimed = dataclasses.replace(shop, timestamps=np.zeros(len(shop), dtype=np.int64), _csr=[])
    assert validation_kind("auto", untimed, "ndcg") == "user"
    # a few rows without a time: the data split's auto is random, and so is the validation
    partly = shop.timestamps.copy()
    partly[:10] = 0
    part_timed = dataclasses.replace(shop, timestamps=partly, _csr=[])
    assert resolve_method(part_timed, "auto") == "random"
    assert validation_kind("auto", part_timed, "ndcg") == "user"
    assert validation_kind("last", part_timed, "ndcg") == "latest"  # asked for by name
    fit, valid = carve(shop, "latest")
    # per user, every validation row is at least as late as every fit row
    last_fit = pd.Series(fit.timestamps).groupby(fit.users).max()
    first_valid = pd.Series(valid.timestamps).groupby(valid.users).min()
    common = last_fit.index.intersection(first_valid.index)
    assert len(common) > 0 and (first_valid[common] >= last_fit[common]).all()
    assert math.isclose(len(valid) / len(shop), 0.2, abs_tol=0.05)


def test_further_latest_slices_validate_each_group_of_users_in_turn(shop: Interactions) -> None:
    fit0, valid0 = carve(shop, "latest")
    (fit1, valid1), (fit2, valid2) = (carve(shop, "latest", fold=f) for f in (1, 2))
    assert carve(shop, "latest", fold=1)[1].users.tolist() == valid1.users.tolist()
    # the two groups split slice 0's validated users and its validation rows between them
    assert not set(valid1.users) & set(valid2.users)
    assert set(valid1.users) | set(valid2.users) == set(valid0.users)
    assert len(valid1) + len(valid2) == len(valid0)
    assert abs(len(set(valid1.users)) - len(set(valid2.users))) <= 0.1 * len(set(valid0.users))
    # the other group fits on all its rows: ~90% of the data, past -> future per user
    assert len(fit1) + len(valid1) == len(shop)
    assert math.isclose(len(fit1) / len(shop), 0.9, abs_tol=0.03)
    last_fit = pd.Series(fit1.timestamps).groupby(fit1.users).max()
    first_valid = pd.Series(valid1.timestamps).groupby(valid1.users).min()
    assert (first_valid >= last_fit[first_valid.index]).all()
    with pytest.raises(ValueError, match="fold must be >= 0"):
        carve(shop, "latest", fold=-1)
    with pytest.raises(ValueError, match="would repeat slice 1"):
        carve(shop, "latest", fold=3)


def test_rmse_picks_among_rating_models_on_explicit_ratings(shop_dir: Path) -> None:
    frame = pd.read_csv(shop_dir / "ratings.csv", dtype={"user_id": str, "item_id": str})
    ratings = Interactions.from_frame(frame.rename(columns={"rating": "value"}), explicit=True)
    quick = {"mf": {"epochs": 4, "refit": False}, "bpmf": {"sweeps": 12, "burn_in": 4}}
    chosen = select(ratings, budget=0, metric="rmse", params=quick)
    done = chosen.leaderboard.complete()
    # the rating baselines compete too: on tiny data the damped bias model may well win
    assert {t.family for t in done} == {"mf", "bpmf", "globalmean", "bias"}
    assert chosen.model.predicts_ratings
    assert done[0].value <= done[-1].value  # lower rmse ranks first
    assert chosen.leaderboard.validation == "random 20% of the training rows"


def test_recency_is_searched_only_on_timed_data(shop: Interactions) -> None:
    from nextbuy.selection import space
    from nextbuy.selection.auto import candidate_families

    params = space.family_defaults("ease")
    timed = dict(space.neighbours("ease", params, 0, timed=True))
    assert [m["half_life_days"] for m in timed["half_life_days"]] == [30.0, 180.0]
    assert "half_life_days" not in dict(space.neighbours("ease", params, 0, timed=False))
    untimed = Interactions.from_csr(shop.csr)
    families, skipped = candidate_families(untimed, "ndcg@10")
    assert "trending" not in families and "timestamps" in skipped["trending"]
    assert "trending" in candidate_families(shop, "ndcg@10")[0]
