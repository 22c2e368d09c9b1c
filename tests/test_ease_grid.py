"""The benchmark's EASE lambda grid (one eigendecomposition) equals the closed form per lambda."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks.quality_sets import ease_grid_scores
from nextbuy.models.ease import ease_weights


@pytest.mark.parametrize("shape", [(40, 90), (120, 50)])  # fewer users than items, and more
def test_grid_scores_match_the_cholesky_closed_form(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    x = sp.csr_matrix((rng.random(shape) < 0.15).astype(np.float64))
    lambdas = (0.5, 10.0, 300.0)
    got = list(ease_grid_scores(x, lambdas))
    assert [lam for lam, _, _ in got] == list(lambdas)
    for lam, scores, seconds in got:
        want = x @ ease_weights(x, lam).astype(np.float64)
        np.testing.assert_allclose(scores, want, atol=2e-5 * max(1.0, np.abs(want).max()))
        assert seconds >= 0
