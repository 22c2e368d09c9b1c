"""Successive halving over model families: defaults first, then fewer families, finer steps.

Round 0 fits every family's defaults. Each later round keeps the better half of the families
(at least the top three, and only those that beat popularity) and moves each one's best
setting one parameter at a time, following a direction while it helps; steps shrink every
round. Trials are skipped by their *estimated* cost against the budget, so which trials run
does not depend on how long earlier ones happened to take; a wall-clock guard at the budget
is the one remaining dependence on machine load. The best 2-5 families are then blended,
their members and weights chosen on the mean over up to :data:`FOLDS` validation slices (the
extra slices, carved with other seeds, are budgeted up front: the rounds leave them room).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nextbuy.errors import NextBuyError
from nextbuy.models import registry
from nextbuy.models.blend import standardize
from nextbuy.models.defaults import DataShape
from nextbuy.selection import space
from nextbuy.selection.blend_search import BlendResult, evaluations, search_blend
from nextbuy.selection.budget import (
    DataStats,
    fit_seconds,
    measure_speed,
    observed_speed,
    reference_seconds,
    score_seconds,
    trial_seconds,
)
from nextbuy.selection.leaderboard import COMPLETE, FAILED, SKIPPED, Leaderboard, Trial
from nextbuy.selection.progress import search_progress
from nextbuy.selection.state import REFIT_SHARE, SearchState
from nextbuy.selection.validation import Validator

#: Largest share of the search budget one family's default fit may take (else skipped).
FAMILY_SHARE = 0.5
#: Share of the budget a blend's refit (all its members) may always take.
BLEND_SHARE = 0.35
#: At most this many rounds after the defaults; families kept searching; families blended.
MAX_ROUNDS, KEEP, BLEND_MEMBERS = 6, 3, 5
#: Validation slices the blend's weights are chosen on (the first one plus re-carved ones).
FOLDS = 3
#: Largest number of score cells (users x items x members x folds) a blend search holds.
MAX_BLEND_CELLS = 100_000_000
#: How far the defaults round lets the speed its own fits show move the calibrated speed.
SPEED_TRUST = 4.0
#: Weight refinement on the first slice alone (the slices' mean refines further).
FIRST_REFINE = (1.5,)
#: Families never blended: popularity adds nothing; a sequence model's refit would dominate
#: the blend's cost and its scores are read from the order, not the history set.
NOT_BLENDED = frozenset({"popularity", *space.SEQUENCE_FAMILIES})


def run_search(
    validator: Validator,
    full_stats: DataStats,
    families: list[str],
    budget: float,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    skipped: Mapping[str, str] | None = None,
    show_progress: bool = False,
    refold: Callable[[int], Validator] | None = None,
) -> tuple[Leaderboard, str, dict[str, Any]]:
    """Search ``families`` on ``validator`` within ``budget`` s (0 = defaults only).

    ``refold(i)`` carves validation slice ``i`` (1, 2, ...) for the blend's weights (another
    seed, or a ``latest`` slice of another group of users); None when the validation kind has one
    slice only (a global time cutoff). Returns the leaderboard
    and the winner's (registry name, parameters): a family, or ``blend`` with
    ``components`` and ``weights``.
    """
    overrides = overrides or {}
    board = Leaderboard(validator.metric, validator.higher_is_better)
    search_budget = math.inf if budget <= 0 else budget * (1 - REFIT_SHARE)
    state = SearchState(
        validator=validator,
        stats=DataStats.of(validator.fit_part),
        shape=DataShape.of(validator.fit_part),
        full_stats=full_stats,
        speed=1.0 if budget <= 0 else measure_speed(),
        budget=search_budget,
        total=math.inf if budget <= 0 else budget,
        defaults={f: space.family_defaults(f, overrides.get(f)) for f in families},
        board=board,
        refold=refold,
    )
    state.calibrated = state.speed
    for family, reason in (skipped or {}).items():
        board.add(Trial(len(board.trials), family, {}, status=SKIPPED, reason=reason))
    with search_progress(show_progress) as update:
        state.update = update
        for family in families:  # round 0: every family's defaults
            _defaults_trial(state, family)
        if budget > 0:
            _recalibrate(state)
            state.reserve = _fold_reserve(state)
            _rounds(state, families)
            state.reserve = 0.0
            if validator.higher_is_better:
                _blend(state)
    if state.not_run:
        board.notes.append(
            f"{state.not_run} candidate settings not tried: their estimated cost exceeded "
            "the budget left"
        )
    best = board.winner()
    if best is None:
        raise NextBuyError("--model auto: no candidate could be fitted on this data")
    name = "blend" if best.family == "blend" else best.family
    return board, name, dict(best.params)


def _defaults_trial(state: SearchState, family: str) -> None:
    """Fit ``family``'s defaults unless its estimated cost (at the speed the earlier default
    fits showed, else the calibration's) exceeds its share of the budget."""
    if not math.isinf(state.budget):  # a tiny calibration fit under load can be far off, and
        observed, _ = _observed(state)  # so can one family's cost formula: trust either only
        if observed is not None:  # within a factor of SPEED_TRUST of the other
            low, high = state.calibrated / SPEED_TRUST, state.calibrated * SPEED_TRUST
            state.speed = min(max(observed, low), high)
    params = state.defaults[family]
    reason = space.cannot_fit(family, params, state.full_stats)
    estimate = trial_seconds(family, params, state.stats, len(state.validator.users), state.speed)
    if reason is None and not math.isinf(state.budget):
        share = FAMILY_SHARE * state.budget
        full = fit_seconds(family, params, state.full_stats) * 1.3 / state.speed
        if estimate > share or full > FAMILY_SHARE * state.total:
            reason = (
                f"estimated {max(estimate, full):.0f} s to fit, more than this budget allows "
                f"(--budget; at most {share:.0f} s per family)"
            )
    if reason is not None:
        state.board.add(
            Trial(len(state.board.trials), family, params, status=SKIPPED, reason=reason,
                  estimated_seconds=estimate)
        )  # fmt: skip
        return
    _trial(state, family, params, 0, estimate)


def _trial(
    state: SearchState, family: str, params: dict[str, Any], round_: int, estimate: float
) -> Trial:
    """Fit ``family`` with ``params`` on the fit part, score it, record it."""
    v = state.validator
    defaults = state.defaults.get(family, {})
    changed = {k: p for k, p in params.items() if defaults.get(k) != p}
    trial = Trial(len(state.board.trials), family, params, round=round_, changed=changed,
                  estimated_seconds=estimate)  # fmt: skip
    state.spent += estimate
    start = time.perf_counter()
    try:
        model = registry.create(family, **params).fit(v.fit_part)
        trial.fit_seconds = time.perf_counter() - start
        trial.value = float(v.value(model))
    except (
        NextBuyError,
        ValueError,
        FloatingPointError,
        MemoryError,
        np.linalg.LinAlgError,
    ) as exc:
        trial.status, trial.reason = FAILED, f"{type(exc).__name__}: {exc}"
        trial.fit_seconds = time.perf_counter() - start
        state.board.add(trial)
        return trial
    previous = state.board.best(family)
    state.board.add(trial)
    if previous is None or v.better(trial.value, previous.value):
        state.models[family] = model
    best = state.board.best()
    state.update(trial, best)
    return trial


def _observed(state: SearchState) -> tuple[float | None, list[float]]:
    """(speed from the fits so far or None, their reference-speed estimates)."""
    done = [t for t in state.board.trials if t.status == COMPLETE]
    v = state.validator
    estimated = [reference_seconds(t.family, t.params, state.stats, len(v.users)) for t in done]
    return observed_speed(estimated, [t.fit_seconds for t in done]), estimated


def _recalibrate(state: SearchState) -> None:
    """Re-estimate the machine's speed from the defaults' real fit times (a power of two).

    The later trials' estimates (and so which of them fit the budget) use it: it depends on
    the load only through that rounding.
    """
    speed, estimated = _observed(state)
    if speed is not None:
        state.speed = speed
        done = [t for t in state.board.trials if t.status == COMPLETE]
        for t in done:  # each family's cost formula has its own error
            own = observed_speed([fit_seconds(t.family, t.params, state.stats)], [t.fit_seconds])
            if own is not None:
                trust = SPEED_TRUST**2
                state.family_speed[t.family] = min(max(own, speed / trust), speed * trust)
        state.spent = sum(
            1.3 * e / state.speed_of(t.family) + 0.05 for t, e in zip(done, estimated, strict=True)
        )
        state.board.notes.append(
            f"speed {speed:g}x the reference machine (from the defaults' fits)"
        )


def _rounds(state: SearchState, families: list[str]) -> None:
    board, v = state.board, state.validator
    popular = board.best("popularity")
    floor = -math.inf if popular is None else popular.value
    ranked = [t.family for t in board.best_per_family() if space.searchable(t.family)]
    alive = [f for f in ranked if not v.higher_is_better or board.best(f).value > floor]  # type: ignore[union-attr]
    for round_ in range(MAX_ROUNDS):
        if round_:
            order = [t.family for t in board.best_per_family() if t.family in alive]
            alive = order[: max(min(KEEP, len(order)), math.ceil(len(order) / 2))]
        improved = False
        for family in alive:
            improved |= _coordinate_round(state, family, round_)
        if state.remaining() <= 0 or (not improved and round_ >= len(space.LOG_STEPS) - 1):
            break


def _coordinate_round(state: SearchState, family: str, round_: int) -> bool:
    """One pass over ``family``'s axes from its best setting; True when something improved."""
    board, v = state.board, state.validator
    improved = False
    best = board.best(family)
    assert best is not None
    timed, shape = state.stats.timed, state.shape
    for axis, moves in space.neighbours(family, best.params, round_, timed, shape):
        for move in moves:
            current = move
            for _ in range(4):  # follow a direction while it keeps improving
                speed = state.speed_of(family)
                estimate = trial_seconds(family, current, state.stats, len(v.users), speed)
                if not state.affords(estimate):
                    state.not_run += 1
                    break
                trial = _trial(state, family, current, round_, estimate)
                top = board.best(family)
                if trial.status != COMPLETE or top is None or top.number != trial.number:
                    break
                improved = True
                step = [m for a, ms in space.neighbours(family, current, round_, timed, shape)
                        if a == axis for m in ms]  # fmt: skip
                start = space.resolved(family, best.params, shape)[axis]
                ahead = [m for m in step if _same_direction(start, current[axis], m[axis])]
                if not ahead:
                    break
                current = ahead[0]
            best = board.best(family)
            assert best is not None
    return improved


def _same_direction(start: Any, now: Any, nxt: Any) -> bool:
    """True when ``nxt`` moves on from ``now`` the way ``now`` moved from ``start``."""
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in (start, now, nxt)):
        return False
    return (now - start) * (nxt - now) > 0


def _blend_members(state: SearchState) -> list[Trial]:
    """The best trial of each of the top 2-5 families that may blend (fitted, not in
    :data:`NOT_BLENDED`)."""
    top = [
        t
        for t in state.board.best_per_family()
        if t.family not in NOT_BLENDED and t.family in state.models
    ]
    return top[:BLEND_MEMBERS]


def _fold_count(state: SearchState, members: int) -> int:
    """Folds the blend search may hold in memory (at least the first)."""
    cells = len(state.validator.users) * state.stats.n_items * max(members, 1)
    return max(1, min(FOLDS, MAX_BLEND_CELLS // max(cells, 1)))


def _fold_reserve(state: SearchState) -> float:
    """Estimated seconds :func:`_blend` needs to re-score every likely member (the blendable
    families' defaults) on each extra fold and search their weights afresh on all folds."""
    if state.refold is None or not state.validator.higher_is_better:
        return 0.0
    top = _blend_members(state)
    if len(top) < 2:
        return 0.0
    n_eval = len(state.validator.users)
    per_fold = sum(
        trial_seconds(t.family, t.params, state.stats, n_eval, state.speed_of(t.family))
        for t in top
    )
    folds = _fold_count(state, len(top))
    first = evaluations(len(top), refine=FIRST_REFINE)
    later = folds * evaluations(len(top))
    return (folds - 1) * per_fold + (first + later) * _evaluation_seconds(state)


def _evaluation_seconds(state: SearchState) -> float:
    """Estimated seconds to score one blend of validation score rows (sum, mask, top-k)."""
    return 1.3 * score_seconds(state.stats, len(state.validator.users)) / state.speed


def _more_folds(
    state: SearchState,
    members: list[Trial],
    rows: dict[str, list[np.ndarray]],
    start: bool = True,
) -> list[Validator]:
    """Append the ``members``' standardized score rows on each extra fold the budget
    (estimated costs, with a weight search that refines a start or, ``start=False``, searches
    afresh) and memory allow to ``rows``; the folds used, the first included. A fold whose fit
    fails is left out, and ends the extra folds."""
    v = state.validator
    validators = [v]
    n_eval = len(v.users)
    for fold in range(1, _fold_count(state, len(members))):
        costs = [
            trial_seconds(t.family, t.params, state.stats, n_eval, state.speed_of(t.family))
            for t in members
        ]
        search = (fold + 1) * evaluations(len(members), start=start) * _evaluation_seconds(state)
        if state.refold is None or not state.affords(sum(costs) + search):
            break
        other = state.refold(fold)
        state.spent += sum(costs)
        try:
            scored = {
                t.family: standardize(
                    other.scores(registry.create(t.family, **t.params).fit(other.fit_part))
                )
                for t in members
            }
        except (NextBuyError, ValueError, FloatingPointError, MemoryError, np.linalg.LinAlgError):
            break
        validators.append(other)
        for family, z in scored.items():
            rows[family].append(z)
    return validators


def _affordable(state: SearchState, top: list[Trial]) -> list[Trial]:
    """The members (best first) that join while refitting all of them on the whole training
    data fits the refit allowance: a costly member is left out, not the whole blend."""
    allowance = max(state.refit_allowance(), BLEND_SHARE * state.total)
    affordable, refit = [], 0.0
    for t in top:
        cost = fit_seconds(t.family, t.params, state.full_stats) / state.speed_of(t.family)
        if (refit + cost) * 1.3 <= allowance:
            affordable.append(t)
            refit += cost
    return affordable


def _blend(state: SearchState) -> None:
    """Blend the best 2-5 families' best settings; keep it when it beats its best member."""
    board = state.board
    top = _blend_members(state)
    if len(top) < 2:
        return
    affordable = _affordable(state, top)
    if len(affordable) < len(top):
        left = ", ".join(t.family for t in top if t not in affordable)
        board.notes.append(f"not blended (refitting them too would exceed the budget): {left}")
    top = affordable
    if len(top) < 2:
        return
    start = time.perf_counter()
    v = state.validator
    rows = {t.family: [standardize(v.scores(state.models[t.family]))] for t in top}
    result = search_blend(rows, [v], refine=FIRST_REFINE)  # members chosen on the first slice
    chosen = [t for t in top if t.family in result.weights]
    if len(chosen) > 1:
        # every candidate re-scored on the extra slices when the budget allows, and members
        # and weights chosen afresh on their mean (one slice's choice chases its noise) ...
        validators = _more_folds(state, top, rows, start=False)
        if len(validators) > 1:
            result = search_blend(rows, validators)
        else:  # ... else the first slice's members, their weights refined on the mean
            rows = {t.family: rows[t.family][:1] for t in chosen}
            validators = _more_folds(state, chosen, rows)
            if len(validators) > 1:
                result = search_blend(rows, validators, start=result.weights)
    else:  # no blend on the first slice: the leading families re-scored on the extra slices,
        # so that a near tie between them is settled on the mean, not on one slice's noise
        rows = {t.family: rows[t.family] for t in top[:KEEP]}
        validators = _more_folds(state, top[:KEEP], rows, start=False)
        if len(validators) > 1:
            result = search_blend(rows, validators)
    params = {
        "components": {t.family: dict(t.params) for t in top if t.family in result.weights},
        "weights": result.weights,
    }
    trial = Trial(len(board.trials), "blend", params, value=result.value,
                  fit_seconds=sum(t.fit_seconds for t in top) + time.perf_counter() - start,
                  changed={"weights": result.weights}, round=MAX_ROUNDS)  # fmt: skip
    folds = f"mean of {result.folds} validation slices" if result.folds > 1 else "validation"
    if not result.kept:
        trial.status = SKIPPED
        trial.reason = (
            f"blend {result.value:.4f} ({folds}; {result.first:.4f} on the first) does not "
            f"beat its best member {result.best_member} ({result.best_member_value:.4f}; "
            f"{result.best_member_first:.4f} on the first)"
        )
    elif result.folds > 1:
        board.notes.append(
            f"blend weights chosen on the {folds}: {result.value:.4f}, against "
            f"{result.best_member_value:.4f} for {result.best_member} alone"
        )
    board.add(trial)
    if not result.kept and result.folds > 1:
        _pick_on_mean(state, result)
    state.update(trial, board.best())


def _pick_on_mean(state: SearchState, result: BlendResult) -> None:
    """Without a blend, the member with the best mean over the validation slices wins, when
    the first slice's best is one of the members re-scored there (else it stays the winner)."""
    board = state.board
    lead, mean_best = board.best(), board.best(result.best_member)
    if lead is None or mean_best is None or lead.family == mean_best.family:
        return
    if lead.family not in result.alone:
        return
    board.chosen = mean_best.number
    lead_mean = float(np.mean(result.alone[lead.family]))
    board.notes.append(
        f"{mean_best.family} chosen over {lead.family} on the mean of {result.folds} "
        f"validation slices ({result.best_member_value:.4f} against {lead_mean:.4f}; "
        f"{mean_best.value:.4f} against {lead.value:.4f} on the first)"
    )
