"""Train/test splits of Interactions: random, per user, temporal and leave-last-out."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nextbuy.data.interactions import Interactions
from nextbuy.errors import DataError, NextBuyError
from nextbuy.fsio import atomic_path

SplitMethod = Literal["random", "user", "time", "last", "latest", "auto"]

_METHODS = {
    "random": "random",
    "user": "user",
    "by_user": "user",
    "per_user": "user",
    "time": "time",
    "temporal": "time",
    "last": "last",
    "leave_last": "last",
    "leave-last": "last",
    "loo": "last",
    "latest": "latest",
    "user_latest": "latest",
    "auto": "auto",
}


def has_timestamps(inter: Interactions) -> bool:
    """True when the rows carry real, varying timestamps (0 means unknown)."""
    ts = inter.timestamps
    return len(ts) > 1 and bool((ts != 0).all()) and int(ts.min()) < int(ts.max())


def resolve_method(inter: Interactions, method: SplitMethod | str) -> str:
    """The split ``method`` names; ``auto`` = ``latest`` (temporal) with timestamps, else random."""
    name = _METHODS.get(str(method).lower())
    if name is None:
        known = ", ".join(sorted(set(_METHODS.values())))
        raise NextBuyError(f"unknown split method {method!r}: expected one of {known}")
    if name == "auto":
        return "latest" if has_timestamps(inter) else "random"
    return name


def split(
    inter: Interactions,
    method: SplitMethod | str,
    test_fraction: float = 0.2,
    seed: int = 42,
    **kw: Any,
) -> tuple[Interactions, Interactions]:
    """Split with the named method (random, user, time, last); extra keywords go to it.

    Both halves keep ``inter``'s ID maps, so indices mean the same thing in train and test.
    """
    name = resolve_method(inter, method)
    if name == "latest":
        return split_user_latest(inter, test_fraction, **kw)
    if name == "random":
        return split_random(inter, test_fraction, seed, **kw)
    if name == "user":
        return split_by_user(inter, test_fraction, seed, **kw)
    if name == "time":
        return split_temporal(inter, test_fraction, **kw)
    return split_leave_last(inter, **kw)


def split_random(
    inter: Interactions, test_fraction: float = 0.2, seed: int = 42
) -> tuple[Interactions, Interactions]:
    """A uniformly random ``test_fraction`` of the rows (rounded) goes to test."""
    _check_fraction(test_fraction)
    n = len(inter)
    n_test = int(round(test_fraction * n))
    test = np.zeros(n, dtype=bool)
    test[np.random.default_rng(seed).permutation(n)[:n_test]] = True
    return inter.subset(~test), inter.subset(test)


def split_by_user(
    inter: Interactions, test_fraction: float = 0.2, seed: int = 42, min_interactions: int = 2
) -> tuple[Interactions, Interactions]:
    """Per user, a random ``round(test_fraction * n_u)`` of their rows goes to test.

    Users with fewer than ``min_interactions`` rows stay entirely in train; every user with
    test rows has at least one test row and keeps at least one train row.
    """
    _check_fraction(test_fraction)
    users = inter.users
    counts = np.bincount(users, minlength=inter.n_users)
    n_test = np.clip(np.floor(test_fraction * counts + 0.5), 1, np.maximum(counts - 1, 0))
    n_test[counts < max(2, min_interactions)] = 0
    key = np.random.default_rng(seed).random(len(inter))
    order = np.lexsort((key, users))  # users grouped, random order inside each user
    test = np.zeros(len(inter), dtype=bool)
    test[order] = _rank_in_group(users[order]) < n_test[users[order]]
    return inter.subset(~test), inter.subset(test)


def split_temporal(
    inter: Interactions, test_fraction: float = 0.2, cutoff: int | None = None
) -> tuple[Interactions, Interactions]:
    """Rows at or after a global time ``cutoff`` go to test; train is strictly earlier.

    Without ``cutoff`` it is the timestamp that leaves about ``test_fraction`` of the rows
    at or after it (more when many rows share that second).
    """
    ts = inter.timestamps
    if len(ts) == 0:
        raise DataError("temporal split: no interactions")
    lo, hi = int(ts.min()), int(ts.max())
    if cutoff is None:
        _check_fraction(test_fraction)
        if lo == hi:
            raise DataError(
                "temporal split: every interaction has the same timestamp "
                f"({lo}); the data needs real timestamps, or use a random or per-user split"
            )
        n_test = min(max(int(round(test_fraction * len(ts))), 1), len(ts) - 1)
        cutoff = int(np.partition(ts, len(ts) - n_test)[len(ts) - n_test])
        if cutoff == lo:  # ties at the start would empty train: cut just after them
            cutoff = int(ts[ts > lo].min())
    test = ts >= cutoff
    if not test.any() or test.all():
        empty = "test" if not test.any() else "train"
        raise DataError(
            f"temporal split: cutoff {cutoff} leaves an empty {empty} set; "
            f"timestamps run from {lo} to {hi}"
        )
    return inter.subset(~test), inter.subset(test)


def split_user_latest(
    inter: Interactions, test_fraction: float = 0.2, min_interactions: int = 2
) -> tuple[Interactions, Interactions]:
    """Per user, the latest ``round(test_fraction * n_u)`` rows (at least one) go to test.

    Train on each user's past, test on their future (ties: the later row is later). Users
    with fewer than ``min_interactions`` rows stay in train; every user keeps a train row.
    """
    _check_fraction(test_fraction)
    users = inter.users
    counts = np.bincount(users, minlength=inter.n_users)
    n_test = np.clip(np.floor(test_fraction * counts + 0.5), 1, np.maximum(counts - 1, 0))
    n_test[counts < max(2, min_interactions)] = 0
    order = np.lexsort((np.arange(len(inter)), inter.timestamps, users))
    su = users[order]
    from_end = counts[su] - 1 - _rank_in_group(su)
    test = np.zeros(len(inter), dtype=bool)
    test[order] = from_end < n_test[su]
    return inter.subset(~test), inter.subset(test)


def split_leave_last(
    inter: Interactions, n: int = 1, min_interactions: int = 2
) -> tuple[Interactions, Interactions]:
    """Each user's last ``n`` rows by timestamp go to test (ties: the later row is later).

    Users with fewer than ``min_interactions`` rows stay in train; every user keeps at least
    one train row.
    """
    if n < 1:
        raise NextBuyError(f"leave-last split: n must be at least 1, got {n}")
    users = inter.users
    counts = np.bincount(users, minlength=inter.n_users)
    n_test = np.minimum(n, np.maximum(counts - 1, 0))
    n_test[counts < max(2, min_interactions)] = 0
    order = np.lexsort((np.arange(len(inter)), inter.timestamps, users))
    su = users[order]
    from_end = counts[su] - 1 - _rank_in_group(su)
    test = np.zeros(len(inter), dtype=bool)
    test[order] = from_end < n_test[su]
    return inter.subset(~test), inter.subset(test)


def _rank_in_group(sorted_groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of a grouped array."""
    n = len(sorted_groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths)


def _check_fraction(test_fraction: float) -> None:
    if not 0.0 < test_fraction < 1.0:
        raise NextBuyError(
            f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}"
        )


# --------------------------------------------------------------------------- files
#: File names ``nextbuy data split`` writes.
SPLIT_FILES = ("train.csv", "test.csv")


def split_frames(train: Interactions, test: Interactions, out: Path) -> tuple[Path, Path]:
    """Write ``out/train.csv`` and ``out/test.csv`` atomically, one row per pair.

    The columns are the canonical ones (``user_id, item_id, value, timestamp[, event]``), the
    value called ``rating`` for explicit data, so reading them back needs no column options
    and gives the same kind of feedback.
    """
    paths = (Path(out) / SPLIT_FILES[0], Path(out) / SPLIT_FILES[1])
    for part, path in zip((train, test), paths, strict=True):
        frame = part.to_frame()
        if part.explicit:
            frame = frame.rename(columns={"value": "rating"})
        with atomic_path(path, suffix=".csv") as tmp:
            frame.to_csv(tmp, index=False)
    return paths


def summary(
    whole: Interactions,
    train: Interactions,
    test: Interactions,
    method: str,
    test_fraction: float,
    seed: int,
) -> str:
    """One line saying what a split did: the rule, the sizes, and test rows train cannot know."""
    name = resolve_method(whole, method) if str(method).lower() in _METHODS else str(method)
    pct = f"{test_fraction:.0%}"
    if name == "time":
        cutoff = _iso(int(test.timestamps.min())) if len(test) else "-"
        how = f"by time: pairs from {cutoff} on go to test (about {pct} asked)"
    elif name == "user":
        how = f"per user: {pct} of each user's pairs at random (seed {seed}) go to test"
    elif name == "random":
        how = f"at random: {pct} of the pairs (seed {seed}) go to test"
    elif name == "latest":
        how = f"by time per user: each user's latest {pct} of pairs go to test"
    else:
        how = "leave-last-one-out: each user's latest pair goes to test"
    line = (
        f"split {len(whole):,} user-item pairs {how}: {len(train):,} train, {len(test):,} test "
        f"({len(np.unique(test.users)):,} test users)"
    )
    in_train_users = np.bincount(train.users, minlength=whole.n_users) > 0
    in_train_items = np.bincount(train.items, minlength=whole.n_items) > 0
    cold = int((~in_train_users[test.users] | ~in_train_items[test.items]).sum())
    if cold:
        line += f"; {cold:,} test pairs have a user or item train lacks (a model cannot score them)"
    return line


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat().replace("+00:00", "Z")
