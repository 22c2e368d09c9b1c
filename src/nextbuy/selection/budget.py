"""Time budgets for ``--model auto``: parse ``90s``/``2m``/``1h`` and estimate each fit's cost.

Costs are estimated from the data's shape (users, items, interactions, co-occurrence work)
with per-family formulas fitted on this project's 2-core development machine, then scaled by
a calibration measured once per run (a tiny EASE and iALS fit), rounded to a power of two so
that ordinary load changes do not change which trials fit the budget.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$", re.IGNORECASE)

#: Seconds of :func:`calibration_seconds` on the machine the formulas below were fitted on.
REFERENCE_CALIBRATION = 0.02


def parse_budget(text: str | float | int) -> float:
    """Seconds in ``"90s"``, ``"2m"``, ``"1h"``, ``"0"`` or a number; a clear error otherwise."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _BUDGET.match(str(text))
        if match is None:
            raise ConfigError(
                f"--budget {text!r}: expected a duration such as 90s, 2m or 1h (0 = each "
                "family's defaults only)"
            )
        seconds = float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"--budget {text!r}: expected a duration >= 0")
    return seconds


@dataclass(frozen=True)
class DataStats:
    """The sizes cost formulas need: users, items, rows, and sum of squared degrees."""

    n_users: int
    n_items: int
    nnz: int
    user_pairs: float  # sum over users of degree^2: item-item co-occurrence work
    item_pairs: float  # sum over items of degree^2: user-user co-occurrence work
    timed: bool = False  # the rows carry distinct timestamps (recency can be searched)

    @classmethod
    def of(cls, inter: Interactions) -> DataStats:
        """Statistics of ``inter`` (its distinct user-item pairs)."""
        users = np.bincount(inter.users, minlength=inter.n_users).astype(np.float64)
        items = np.bincount(inter.items, minlength=inter.n_items).astype(np.float64)
        return cls(
            inter.n_users,
            inter.n_items,
            len(inter),
            float(users @ users),
            float(items @ items),
            bool(len(inter) and inter.timestamps.min() != inter.timestamps.max()),
        )


def calibration_seconds(repeats: int = 3) -> float:
    """Best of ``repeats`` timings of a tiny calibration fit (EASE and iALS on 600 x 300 rows).

    A real fit, not a bare matrix product, so Python overhead and thread contention on a
    loaded machine weigh in as they do in the trials.
    """
    from nextbuy.models import registry

    rng = np.random.default_rng(0)
    n_users, n_items, nnz = 600, 300, 9000
    frame_users = rng.integers(0, n_users, nnz)
    frame_items = np.minimum(rng.zipf(1.3, nnz) - 1, n_items - 1)
    matrix = sp.csr_matrix(
        (np.ones(nnz, dtype=np.float32), (frame_users, frame_items)), shape=(n_users, n_items)
    )
    matrix.data[:] = 1.0
    inter = Interactions.from_csr(matrix)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        registry.create("ease").fit(inter)
        registry.create("ials", iterations=3, factors=32).fit(inter)
        best = min(best, time.perf_counter() - start)
    return best


def measure_speed(repeats: int = 3) -> float:
    """This machine's speed relative to the reference, rounded to a power of two (1.0 = same)."""
    return power_of_two(REFERENCE_CALIBRATION / max(calibration_seconds(repeats), 1e-6))


def power_of_two(ratio: float) -> float:
    """``ratio`` rounded to the nearest power of two (so small timing noise changes nothing)."""
    return float(2.0 ** round(math.log2(max(ratio, 1e-6))))


def observed_speed(estimated: list[float], actual: list[float]) -> float | None:
    """Speed from real trials: median of estimated (reference) / actual seconds, a power of two.

    Trials under 0.05 s are left out (their time is mostly noise); None when none is left.
    """
    pairs = [(e, a) for e, a in zip(estimated, actual, strict=True) if a >= 0.05 and e > 0]
    if not pairs:
        return None
    return power_of_two(float(np.median([e / a for e, a in pairs])))


def _num(params: dict[str, Any], key: str, default: float) -> float:
    value = params.get(key, default)
    return float(value) if isinstance(value, int | float) else default


def fit_seconds(family: str, params: dict[str, Any], stats: DataStats) -> float:
    """Estimated seconds to fit ``family`` with ``params`` on data of ``stats`` (reference speed).

    EASE inverts an items x items matrix (~items^3), user-EASE a users x users one; ALS-type
    models cost iterations x (rows x factors + (users + items) x factors^2); kNN models build
    the co-occurrence matrix (sum of squared user degrees) and prune items x items.
    """
    n_u, n_i, nnz = float(stats.n_users), float(stats.n_items), float(stats.nnz)
    f = _num(params, "factors", 64)
    if family in ("popularity", "trending"):
        return 1e-8 * nnz
    if family == "itemknn":
        return 5e-9 * stats.user_pairs + 2.3e-8 * n_i**2
    if family == "rp3beta":
        return 3e-9 * stats.user_pairs + 1.8e-8 * n_i**2
    if family == "ease":
        return 3e-11 * n_i**3 + 1e-9 * stats.user_pairs + 4e-9 * n_i**2
    if family == "userease":
        return 3e-11 * n_u**3 + 1e-9 * stats.item_pairs + 4e-9 * n_u**2
    if family == "infae":  # user-EASE plus the kernel's arccos / sin per user pair
        return 3e-11 * n_u**3 + 1e-9 * stats.item_pairs + 1e-7 * n_u**2
    if family == "als":
        return _num(params, "iterations", 15) * (1.2e-9 * nnz * f + 5.5e-10 * (n_u + n_i) * f**2)
    if family == "ials":
        steps = _num(params, "iterations", 18) * _num(params, "cg_steps", 3)
        return steps * (1.3e-9 * nnz * f + 6.5e-10 * (n_u + n_i) * f**2)
    if family == "bpr":
        return _num(params, "iterations", 78) * 1.3e-9 * nnz * f
    if family == "mf":
        return 2 * _num(params, "epochs", 100) * (2e-8 * nnz * max(f / 64, 1) + 5e-3)
    if family == "bpmf":
        return _num(params, "sweeps", 200) * (4e-9 * nnz * f**2 + 2e-8 * (n_u + n_i) * f**3)
    if family == "sasrec":
        return _sasrec_seconds(params, stats)
    return 1e-7 * nnz + 1e-9 * stats.user_pairs  # a family without a formula: a guess


#: Epochs a sasrec fit is assumed to run before early stopping ends it (ML-100K: ~32).
SASREC_EPOCHS = 40


def _sasrec_seconds(params: dict[str, Any], stats: DataStats) -> float:
    """One sasrec fit: epochs x targets x (full softmax over the items + attention over the
    window), one torch thread; the window is ``max_len`` or about twice the mean history."""
    n_u, n_i, nnz = float(stats.n_users), float(stats.n_items), float(stats.nnz)
    f = _num(params, "factors", 64)
    length = _num(params, "max_len", 0) or min(max(2 * nnz / max(n_u, 1), 10), 50)
    targets = min(nnz, n_u * (length + 1))
    epochs = min(_num(params, "epochs", 200), SASREC_EPOCHS)
    softmax = (
        n_i
        if n_i <= _num(params, "full_softmax_items", 50_000)
        else _num(params, "negatives", 1000)
    )
    blocks = _num(params, "blocks", 2)
    per_target = 2e-10 * softmax * f + 2e-10 * blocks * length * f + 1e-9 * blocks * f**2
    return epochs * targets * per_target + 5e-7 * n_u * n_i


def score_seconds(stats: DataStats, n_users: int, factors: float = 64) -> float:
    """Estimated seconds to score and rank every item for ``n_users`` users (validation)."""
    return float(n_users) * stats.n_items * (2e-8 + 2e-11 * factors)


def trial_seconds(
    family: str, params: dict[str, Any], stats: DataStats, n_eval: int, speed: float
) -> float:
    """Fit plus validation scoring of one trial, at this machine's ``speed``, with a margin."""
    return 1.3 * reference_seconds(family, params, stats, n_eval) / speed + 0.05


def reference_seconds(family: str, params: dict[str, Any], stats: DataStats, n_eval: int) -> float:
    """Fit plus validation scoring of one trial at the reference speed, no margin."""
    return fit_seconds(family, params, stats) + score_seconds(stats, n_eval)
