"""Protocol C's split (last = test, second to last = validation, ties by item ID, short users
train only) and the synthetic shop's sequential journeys."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nextbuy.data.interactions import Interactions
from nextbuy.data.synthetic import generate_shop
from nextbuy.evaluation.sequential import leave_last_split


def test_leave_last_split_follows_time_then_item_id() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["a"] * 4 + ["b"] * 2 + ["c"] * 3,
            "item_id": ["x1", "x2", "x4", "x3", "y1", "y2", "z1", "z2", "z3"],
            "timestamp": [1, 2, 9, 9, 1, 2, 5, 4, 3],
            "value": 1.0,
        }
    )
    split = leave_last_split(Interactions.from_frame(frame))

    def pairs(part: Interactions) -> set[tuple[str, str]]:
        f = part.to_frame()
        return set(zip(f["user_id"], f["item_id"], strict=True))

    assert pairs(split.test) == {("a", "x4"), ("c", "z1")}  # x3, x4 tie at 9: x4 sorts last
    assert pairs(split.valid) == {("a", "x3"), ("c", "z2")}
    assert pairs(split.train) == {("a", "x1"), ("a", "x2"), ("b", "y1"), ("b", "y2"), ("c", "z3")}
    assert len(split.train_valid) == len(split.train) + len(split.valid)


def transition_share(sequential: float) -> float:
    """How often a user's next item is the most common successor of their previous one."""
    shop = generate_shop(n_users=400, n_items=120, n_interactions=8000, seed=3,
                         sequential=sequential)  # fmt: skip
    f = shop.interactions.sort_values(["user_id", "timestamp"], kind="stable")
    same = f["user_id"].to_numpy()[1:] == f["user_id"].to_numpy()[:-1]
    pairs = pd.DataFrame({"prev": f["item_id"].to_numpy()[:-1][same],
                          "next": f["item_id"].to_numpy()[1:][same]})  # fmt: skip
    counts = pairs.value_counts()
    top = counts.groupby(level="prev").max()
    return float(top.sum() / counts.sum())


def test_sequential_shop_has_journeys() -> None:
    static, journeys = transition_share(0.0), transition_share(0.5)
    assert static < 0.2
    assert journeys > 0.4
    # same seed, same shop: the journeys are deterministic too
    a = generate_shop(n_users=50, n_items=40, n_interactions=500, seed=1, sequential=0.5)
    b = generate_shop(n_users=50, n_items=40, n_interactions=500, seed=1, sequential=0.5)
    pd.testing.assert_frame_equal(a.interactions, b.interactions)
    assert np.array_equal(a.items["item_id"], b.items["item_id"])
