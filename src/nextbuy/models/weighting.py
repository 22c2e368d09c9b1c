"""Input weighting shared by models: binary, or confidence ``1 + alpha * f(value)``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError

#: Schemes :func:`weigh_rows` knows; "binary" sets every stored value to 1.
SCHEMES = ("binary", "linear", "log")


def weigh_rows(matrix: sp.spmatrix, scheme: str, alpha: float = 1.0) -> sp.csr_matrix:
    """A float32 CSR copy with stored values mapped by ``scheme``.

    ``binary``: 1. ``linear``: ``1 + alpha * value``. ``log``: ``1 + alpha * log1p(value)``.
    Negative values (returns left in the data) count as 0 so confidences stay >= 1. Models
    apply the same function at fit time and to history rows at scoring time.
    """
    if scheme not in SCHEMES:
        raise ConfigError(f"weighting must be one of {', '.join(SCHEMES)}, not {scheme!r}")
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    if scheme == "binary":
        out.data[:] = 1.0
        return out
    data = np.maximum(out.data, 0)
    f = np.log1p(data) if scheme == "log" else data
    out.data = (1.0 + alpha * f).astype(np.float32)
    return out


#: Seconds in a day: half-lives are given in days.
DAY = 86_400.0


def recency(train: Interactions, half_life_days: float) -> sp.csr_matrix | None:
    """Per-pair time decay ``0.5 ** (age / half-life)`` (users x items, the pattern of
    ``train.csr``), age counted back from the latest timestamp; None when off or untimed.

    Pairs without a timestamp (0) keep weight 1.
    """
    if half_life_days <= 0 or not (train.timestamps > 0).any():
        return None
    stamps = train.timestamps.astype(np.float64)
    age = np.where(stamps > 0, stamps[stamps > 0].max() - stamps, 0.0)
    factor = np.power(0.5, age / (half_life_days * DAY)).astype(np.float32)
    return sp.csr_matrix((factor, (train.users, train.items)), shape=train.shape)


def decayed(weights: sp.csr_matrix, decay: sp.csr_matrix | None) -> sp.csr_matrix:
    """``weights`` times the per-pair ``decay`` (same pattern); unchanged when decay is None."""
    if decay is None:
        return weights
    return sp.csr_matrix(weights.multiply(decay), dtype=np.float32)
