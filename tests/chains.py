"""Sequential test data: users walking a chain of items, one step a day (for sequence models)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nextbuy.data.interactions import Interactions

#: Small, fast SASRec settings that learn the chains.
PARAMS = {"factors": 16, "epochs": 60, "early_stopping": 0, "dropout": 0.1, "lr": 0.01}


def chains(n_users: int = 200, n_items: int = 30, seed: int = 0) -> Interactions:
    """Each user walks the chain i -> i + 1 (mod n_items) from a random start, one step a day."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n_items, n_users)
    lengths = rng.integers(4, 12, n_users)
    users = np.repeat(np.arange(n_users), lengths)
    step = np.arange(len(users)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    frame = pd.DataFrame(
        {
            "user_id": [f"u{u:03d}" for u in users],
            "item_id": [f"i{i:02d}" for i in (starts[users] + step) % n_items],
            "timestamp": 1_700_000_000 + step * 86_400,
            "value": 1.0,
        }
    )
    return Interactions.from_frame(frame)
