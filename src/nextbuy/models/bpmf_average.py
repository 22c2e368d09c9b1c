"""Export of BPMF's posterior average ``mean_s P_s Q_s^T`` as low-rank factors (randomized SVD)."""

from __future__ import annotations

import numpy as np


def average_low_rank(
    users: np.ndarray, items: np.ndarray, rank: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rank-``rank`` factors ``U, V`` with ``U V^T ~= mean_s P_s Q_s^T`` (randomized SVD).

    ``users`` is ``[samples, n_users, f]`` and ``items`` ``[samples, n_items, f]``. The
    ``n_users x n_items`` average is never materialised: a Gaussian sketch with 10 extra
    columns and two power iterations (Halko et al. 2011) only multiplies by the concatenated
    factors ``[P_1 .. P_S] / sqrt(S)``, which are returned as they are when ``rank`` is 0 or
    covers every column.
    """
    s, n_users, f = users.shape
    # [P_1 .. P_S] / sqrt(S) and likewise for Q: their product is the average
    p_cat = users.transpose(1, 0, 2).reshape(n_users, s * f) / np.sqrt(s)
    q_cat = items.transpose(1, 0, 2).reshape(items.shape[1], s * f) / np.sqrt(s)
    if rank <= 0 or rank >= s * f:
        return p_cat, q_cat

    def times(m: np.ndarray) -> np.ndarray:
        return p_cat @ (q_cat.T @ m)

    def times_t(m: np.ndarray) -> np.ndarray:
        return q_cat @ (p_cat.T @ m)

    width = min(rank + 10, n_users, items.shape[1])
    basis = np.linalg.qr(times(rng.standard_normal((items.shape[1], width))))[0]
    for _ in range(2):
        basis = np.linalg.qr(times(np.linalg.qr(times_t(basis))[0]))[0]
    small = times_t(basis).T  # basis^T M, [width, n_items]
    left, sing, right_t = np.linalg.svd(small, full_matrices=False)
    r = min(rank, len(sing))
    root = np.sqrt(sing[:r])
    return (basis @ left[:, :r]) * root, right_t[:r].T * root
