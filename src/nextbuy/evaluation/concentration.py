"""How concentrated a model's top lists are: does everyone get the same few items?

A rating model ranks by predicted rating, and an item with a handful of enthusiastic ratings
can top everyone's list. :func:`same_top_share` measures that (with ``coverage@k``).
"""

from __future__ import annotations

import numpy as np

#: Metric key of :func:`same_top_share` in evaluation results.
SAME_TOP = "same_top1"


def same_top_share(recs: np.ndarray) -> float:
    """Share of users whose #1 is the most common #1 item (NaN without users).

    ``recs`` is ``[n_users, K]`` (best first, -1 padding); rows without a first item count as
    users, not as a shared item. 1.0 means one item leads every list.
    """
    if recs.shape[0] == 0 or recs.shape[1] == 0:
        return float("nan")
    first = recs[:, 0]
    first = first[first >= 0]
    if first.size == 0:
        return 0.0
    return float(np.bincount(first).max() / recs.shape[0])
