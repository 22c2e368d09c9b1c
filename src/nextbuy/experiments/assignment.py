"""Deterministic, salted assignment: a user's variant is a hash of (salt, experiment, user).

The same user gets the same variant in every worker, replica and restart; two experiments
with different salts split users independently (no correlation between tests).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from itertools import accumulate

import numpy as np

from nextbuy.experiments.definition import Experiment


def bucket(salt: str, experiment_id: str, user_id: str) -> float:
    """A uniform number in [0, 1) fixed by the three strings (first 8 bytes of SHA-256)."""
    digest = hashlib.sha256(f"{salt}\x00{experiment_id}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(experiment: Experiment, user_id: str) -> str:
    """The variant name ``user_id`` sees in ``experiment``."""
    edges = list(accumulate(experiment.weights))[:-1]
    u = bucket(experiment.salt, experiment.experiment_id, user_id)
    return experiment.variants[bisect_right(edges, u)].name


def assign_many(experiment: Experiment, user_ids: list[str]) -> np.ndarray:
    """Variant names of many users (what :func:`assign` gives each)."""
    edges = np.cumsum(experiment.weights)[:-1]
    u = np.fromiter(
        (bucket(experiment.salt, experiment.experiment_id, x) for x in user_ids), float,
        count=len(user_ids),
    )  # fmt: skip
    names = np.array([v.name for v in experiment.variants], dtype=object)
    return names[np.searchsorted(edges, u, side="right")]
