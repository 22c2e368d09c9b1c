"""The statistics of the per-variant report: Wilson intervals, the two-proportion z-test on
users, the normal interval of a difference, and the sample-ratio-mismatch check."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats

Z95 = 1.959963984540054
#: An SRM p-value below this means the split is broken (the usual, strict threshold).
SRM_ALPHA = 0.001


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (good at small counts and near 0)."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_test(
    x_a: int, n_a: int, x_b: int, n_b: int
) -> tuple[float, tuple[float, float], float]:
    """B minus A: (difference, its 95% interval, two-sided p of the pooled z-test)."""
    if min(n_a, n_b) == 0:
        return (math.nan, (math.nan, math.nan), math.nan)
    p_a, p_b = x_a / n_a, x_b / n_b
    diff = p_b - p_a
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    pooled = (x_a + x_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    p_value = 1.0 if se0 == 0 else float(2 * stats.norm.sf(abs(diff) / se0))
    return (diff, (diff - Z95 * se, diff + Z95 * se), p_value)


def sample_ratio_mismatch(counts: Sequence[int], weights: Sequence[float]) -> float:
    """p-value of the chi-square test that users split as ``weights`` say (low = broken)."""
    total = sum(counts)
    if total == 0:
        return 1.0
    expected = [w * total for w in weights]
    return float(stats.chisquare(list(counts), expected).pvalue)
