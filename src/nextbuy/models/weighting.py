"""Input weighting shared by models: binary, or confidence ``1 + alpha * f(value)``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

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
