"""Learned blends over several validation slices: the objective is their mean, kept honestly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nextbuy.data.interactions import Interactions
from nextbuy.models import registry
from nextbuy.models.blend import standardize
from nextbuy.selection.blend_search import search_blend
from nextbuy.selection.search import _fold_count, run_search
from nextbuy.selection.validation import Validator


@pytest.fixture(scope="module")
def shop(shop_dir: Path) -> Interactions:
    frame = pd.read_csv(shop_dir / "interactions.csv", dtype={"user_id": str, "item_id": str})
    return Interactions.from_frame(frame)


@pytest.fixture(scope="module")
def folds(shop: Interactions) -> tuple[list[Validator], dict[str, list[np.ndarray]]]:
    validators = [Validator.build(shop, "ndcg@10", "user", seed=s) for s in (42, 43)]
    rows: dict[str, list[np.ndarray]] = {"ials": [], "ease": [], "popularity": []}
    for v in validators:
        for family in rows:
            rows[family].append(standardize(v.scores(registry.create(family).fit(v.fit_part))))
    return validators, rows


def test_blend_objective_is_the_mean_over_folds(
    folds: tuple[list[Validator], dict[str, list[np.ndarray]]],
) -> None:
    validators, rows = folds
    result = search_blend(rows, validators)
    assert result.folds == 2
    per_fold = []
    for fold, v in enumerate(validators):
        total = sum(np.float32(w) * rows[name][fold] for name, w in result.weights.items())
        per_fold.append(v.value_of_scores(np.asarray(total, dtype=np.float32)))
    assert result.value == pytest.approx(np.mean(per_fold), abs=1e-6)
    assert result.first == pytest.approx(per_fold[0], abs=1e-6)
    alone = {n: np.mean([v.value_of_scores(rows[n][i].copy()) for i, v in enumerate(validators)])
             for n in rows}  # fmt: skip
    assert result.best_member == max(alone, key=alone.__getitem__)
    assert result.value >= alone[result.best_member] - 1e-9  # never worse than its lead
    assert max(result.weights.values()) == 1.0
    assert result.kept == (
        len(result.weights) > 1
        and result.value > result.best_member_value
        and result.value > result.best_member_first
    )


def test_blend_search_refuses_ragged_folds(
    folds: tuple[list[Validator], dict[str, list[np.ndarray]]],
) -> None:
    validators, rows = folds
    with pytest.raises(ValueError, match="each of the 2 folds"):
        search_blend({"ials": rows["ials"][:1], "ease": rows["ease"]}, validators)
    with pytest.raises(ValueError, match="at least one member"):
        search_blend({}, validators)


def test_search_reserves_and_uses_extra_folds_for_the_blend(shop: Interactions) -> None:
    v = Validator.build(shop, "ndcg@10", "user", seed=42)
    carved: list[int] = []

    def refold(fold: int) -> Validator:
        carved.append(fold)
        return Validator.build(shop, "ndcg@10", "user", seed=42 + fold)

    from nextbuy.selection.budget import DataStats

    families = ["popularity", "itemknn", "ease", "als"]  # ials alone wins this shop outright
    board, name, params = run_search(v, DataStats.of(shop), families, 60.0, refold=refold)
    blends = [t for t in board.trials if t.family == "blend"]
    assert len(blends) == 1
    # members are picked on the first slice; when two or more are, the small shop affords
    # re-scoring them on both extra slices, and the weights are chosen on all three
    assert carved == [1, 2]
    assert any("mean of 3 validation slices" in n for n in board.notes + [blends[0].reason])
    if name == "blend":
        assert set(params["weights"]) <= set(families) and "popularity" not in params["weights"]


def test_fold_count_is_bounded_by_memory(shop: Interactions) -> None:
    from types import SimpleNamespace

    from nextbuy.selection import search

    v = Validator.build(shop, "ndcg@10", "user", seed=42)
    state = SimpleNamespace(validator=v, stats=SimpleNamespace(n_items=shop.n_items))
    assert _fold_count(state, 5) == search.FOLDS  # type: ignore[arg-type]
    per_member = search.MAX_BLEND_CELLS // (5 * len(v.users))  # items at the memory bound
    state.stats.n_items = per_member // 2
    assert _fold_count(state, 5) == 2  # type: ignore[arg-type]
    state.stats.n_items = per_member + 1
    assert _fold_count(state, 5) == 1  # type: ignore[arg-type]


def test_a_member_too_costly_to_refit_is_left_out_not_the_blend() -> None:
    from types import SimpleNamespace

    from nextbuy.selection.budget import DataStats, fit_seconds
    from nextbuy.selection.leaderboard import Trial
    from nextbuy.selection.search import _affordable

    stats = DataStats(n_users=2000, n_items=20000, nnz=100_000, user_pairs=1e8, item_pairs=1e7)
    top = [Trial(0, "ials", {"factors": 64}), Trial(1, "ease", {}), Trial(2, "als", {})]
    costs = {t.family: fit_seconds(t.family, t.params, stats) for t in top}
    assert costs["ease"] > 24 > 1.3 * (costs["ials"] + costs["als"])  # EASE: items^3
    speeds: dict[str, float] = {}
    state = SimpleNamespace(
        full_stats=stats, total=120.0, refit_allowance=lambda: 24.0,
        speed_of=lambda family: speeds.get(family, 1.0),
    )  # fmt: skip
    kept = _affordable(state, top)  # type: ignore[arg-type]
    assert [t.family for t in kept] == ["ials", "als"]
    state.total = 1e6
    assert [t.family for t in _affordable(state, top)] == ["ials", "ease", "als"]  # type: ignore[arg-type]
    state.total = 120.0
    speeds["ease"] = 64.0  # its defaults fit showed its formula 64x too slow
    assert [t.family for t in _affordable(state, top)] == ["ials", "ease", "als"]  # type: ignore[arg-type]


def test_defaults_round_moves_the_calibrated_speed_towards_its_own_fits() -> None:
    import scipy.sparse as sp

    from nextbuy.selection import space
    from nextbuy.selection.budget import DataStats
    from nextbuy.selection.leaderboard import COMPLETE, Leaderboard
    from nextbuy.selection.search import SearchState, _defaults_trial, _observed, _recalibrate

    rng = np.random.default_rng(0)  # big enough that EASE takes a measurable time (> 0.05 s)
    users, items = rng.integers(0, 3000, 60_000), np.minimum(rng.zipf(1.2, 60_000) - 1, 1499)
    csr = sp.csr_matrix((np.ones(60_000, dtype=np.float32), (users, items)), shape=(3000, 1500))
    csr.data[:] = 1.0
    data = Interactions.from_csr(csr)
    v = Validator.build(data, "ndcg@10", "user", seed=42)
    families = ["ease", "ials"]
    state = SearchState(
        validator=v, stats=DataStats.of(v.fit_part), full_stats=DataStats.of(data), speed=1.0,
        budget=96.0, total=120.0, defaults={f: space.family_defaults(f) for f in families},
        board=Leaderboard("ndcg@10"), update=lambda trial, best: None,
    )  # fmt: skip
    _defaults_trial(state, "ease")
    assert state.board.trials[0].fit_seconds >= 0.05
    shown = _observed(state)[0]  # the speed the EASE fit showed
    assert shown is not None
    state.speed = state.calibrated = 1 / 65536  # a calibration fit on a swamped machine
    _defaults_trial(state, "ials")
    assert state.speed == min(shown, 4 / 65536)  # moved towards the fits, by 4x at most
    state.speed = state.calibrated = shown / 4  # calibration a little pessimistic: fits win
    state.board.trials.pop()
    _defaults_trial(state, "ials")
    assert state.speed == shown and state.board.trials[-1].status == COMPLETE
    _recalibrate(state)  # after the defaults: each family's estimates use its own fit's speed
    assert set(state.family_speed) == {"ease", "ials"}
    assert all(state.speed / 16 <= x <= state.speed * 16 for x in state.family_speed.values())
    assert state.speed_of("bpr") == state.speed  # no fit of its own: the machine's speed


def test_without_a_blend_a_near_tie_is_settled_on_the_mean_of_the_slices() -> None:
    from types import SimpleNamespace

    from nextbuy.selection.blend_search import BlendResult
    from nextbuy.selection.leaderboard import Leaderboard, Trial, leaderboard_table
    from nextbuy.selection.search import _pick_on_mean

    board = Leaderboard("ndcg@10")
    for family, value in (("popularity", 0.06), ("ials", 0.1079), ("als", 0.1072)):
        board.add(Trial(len(board.trials), family, {}, value=value))
    # ials leads the first slice by 0.0007; als leads the mean of three
    alone = {"als": [0.1072, 0.112, 0.111], "ials": [0.1079, 0.105, 0.104]}
    result = BlendResult(
        {"als": 1.0},
        0.1101,
        "als",
        0.1101,
        first=0.1072,
        best_member_first=0.1079,
        folds=3,
        alone=alone,
    )
    state = SimpleNamespace(board=board)
    _pick_on_mean(state, result)  # type: ignore[arg-type]
    assert board.best().family == "ials"  # type: ignore[union-attr]
    assert board.winner().family == "als"  # type: ignore[union-attr]
    assert "als (0.1072 on the first slice) won on the slices' mean, ahead of ials" in board.why()
    assert board.to_json()["winner"]["family"] == "als"
    assert any("als chosen over ials on the mean of 3 validation slices" in n for n in board.notes)
    table = leaderboard_table(board.to_json())
    marked = [row for row in range(table.row_count) if table.columns[5]._cells[row] == "winner"]
    assert [table.columns[1]._cells[row] for row in marked] == ["als"]
    # a first-slice leader that was not re-scored on the other slices keeps its place
    board.chosen = None
    alone_als = {"als": [0.1, 0.12, 0.11]}
    _pick_on_mean(state, BlendResult({"als": 1.0}, 0.11, "als", 0.11, folds=3, alone=alone_als))  # type: ignore[arg-type]
    assert board.chosen is None and board.winner().family == "ials"  # type: ignore[union-attr]
