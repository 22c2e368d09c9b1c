"""Small array helpers shared by several models: popularity, fallback rows, padding, implicit."""

from __future__ import annotations

import importlib
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from nextbuy.errors import ConfigError


def item_popularity(
    user_items: sp.csr_matrix, weighting: Literal["count", "value"] = "count"
) -> np.ndarray:
    """Per-item popularity (float32): distinct users (``count``) or summed values (``value``)."""
    if weighting == "count":
        counts = np.bincount(user_items.indices, minlength=user_items.shape[1])
        return counts.astype(np.float32)
    if weighting == "value":
        return np.asarray(user_items.sum(axis=0), dtype=np.float32).ravel()
    raise ConfigError(f"popularity weighting must be 'count' or 'value', not {weighting!r}")


def popularity_share(user_items: sp.csr_matrix) -> np.ndarray:
    """Share of users who interacted with each item (float32 in [0, 1]).

    Factor and history models keep this as ``popularity_``: the non-personal scores they give
    users they know nothing about (new users, empty histories).
    """
    counts = item_popularity(user_items, "count")
    return counts / np.float32(max(user_items.shape[0], 1))


def fill_rows(scores: np.ndarray, rows: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Overwrite the score rows selected by the boolean mask ``rows`` with ``fallback``."""
    if rows.any():
        scores[rows] = fallback
    return scores


def as_csr(matrix: sp.spmatrix) -> sp.csr_matrix:
    """``matrix`` as CSR, without a copy (or a new object) when it already is one."""
    return matrix if isinstance(matrix, sp.csr_matrix) else sp.csr_matrix(matrix)


def rows_of(matrix: sp.csr_matrix, users: np.ndarray) -> sp.csr_matrix:
    """CSR rows of ``matrix`` for ``users``; users outside its rows get empty rows."""
    known = (users >= 0) & (users < matrix.shape[0])
    if known.all():
        return sp.csr_matrix(matrix[users])
    rows = matrix[np.where(known, users, 0)]
    return sp.csr_matrix(sp.diags(known.astype(np.float32)) @ rows)


def row_pairs(matrix: sp.csr_matrix, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nonzero entries of ``users``' rows as (position in ``users``, column) arrays.

    What ``rows_of(matrix, users).nonzero()`` gives (explicit zeros left out too), read
    straight from ``indptr`` / ``indices`` without scipy's row indexing; users outside the
    matrix's rows have none.
    """
    users = np.asarray(users, dtype=np.int64)
    known = (users >= 0) & (users < matrix.shape[0])
    safe = np.where(known, users, 0)
    starts = matrix.indptr[safe].astype(np.int64)
    lengths = np.where(known, matrix.indptr[safe + 1] - starts, 0)
    total = int(lengths.sum())
    rows = np.repeat(np.arange(len(users)), lengths)
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    at = np.repeat(starts, lengths) + offsets
    nonzero = matrix.data[at] != 0
    if nonzero.all():
        return rows, matrix.indices[at]
    return rows[nonzero], matrix.indices[at[nonzero]]


def one_row(history: sp.spmatrix, n_items: int) -> sp.csr_matrix:
    """``history`` as a 1 x n_items CSR (the one user an explanation is about)."""
    row = sp.csr_matrix(history)
    if row.shape != (1, n_items):
        raise ValueError(f"history must be one row over {n_items} items, not {row.shape}")
    return row


def pad_neighbours(
    ids: np.ndarray, scores: np.ndarray, k: int, valid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Widen top-k lists to ``k`` columns (-1 / -inf), blanking rows where ``valid`` is False.

    Entries with non-finite scores become -1 too, so callers may mark "nothing here" by -inf.
    """
    out_ids = np.full((len(ids), k), -1, dtype=np.int32)
    out_scores = np.full((len(ids), k), -np.inf, dtype=np.float32)
    width = min(ids.shape[1], k)
    out_ids[:, :width] = ids[:, :width]
    out_scores[:, :width] = scores[:, :width]
    if valid is not None:
        out_ids[~valid] = -1
        out_scores[~valid] = -np.inf
    out_ids[~np.isfinite(out_scores)] = -1
    return out_ids, out_scores


def jsonable(value: Any) -> Any:
    """JSON fallback for numpy scalars and arrays in params and histories."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# ---------------------------------------------------------------------- implicit (als, bpr)
def use_cuda(device: str) -> bool:
    """Resolve ``device`` (auto|cpu|cuda) for ``implicit``; asking for cuda without it fails."""
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "cpu":
        return False
    import implicit.gpu

    if device == "cuda" and not implicit.gpu.HAS_CUDA:
        raise ConfigError("device='cuda' but implicit was built without CUDA; use device=cpu")
    return bool(implicit.gpu.HAS_CUDA)


#: implicit's class for each model it trains for us.
_IMPLICIT = {"als": "AlternatingLeastSquares", "bpr": "BayesianPersonalizedRanking"}


def implicit_model(
    kind: Literal["als", "bpr"], device: str, num_threads: int, **params: Any
) -> Any:
    """An unfitted implicit model: on the GPU when ``device`` allows and implicit has CUDA."""
    gpu = use_cuda(device)
    module = importlib.import_module(f"implicit.{'gpu' if gpu else 'cpu'}.{kind}")
    cls = getattr(module, _IMPLICIT[kind])
    return cls(**params) if gpu else cls(**params, num_threads=num_threads)


def implicit_factors(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """(user factors, item factors) of a fitted implicit model, as float32 numpy on the CPU."""
    if hasattr(model, "to_cpu"):
        model = model.to_cpu()
    return to_numpy(model.user_factors), to_numpy(model.item_factors)


def to_numpy(factors: Any) -> np.ndarray:
    """Factors from an implicit model (numpy, or implicit.gpu.Matrix) as a float32 array."""
    if hasattr(factors, "to_numpy"):
        factors = factors.to_numpy()
    return np.ascontiguousarray(factors, dtype=np.float32)
