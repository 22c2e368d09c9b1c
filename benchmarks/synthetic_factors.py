"""A synthetic ALS artifact drawn, not trained: clustered factors with a popularity skew.

Items belong to one of ``n_clusters`` taste clusters (their category), their vectors sit
around the cluster's centre and their norm grows with a Zipf-distributed popularity, as
trained ALS factors do; users mix two or three clusters. Each user gets a few training
interactions (drawn by popularity inside their clusters), so seen-item exclusion has work to
do. Used by ``benchmarks/ann.py`` (1,000,000 items) and the ANN tests (a few thousand).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from nextbuy.artifacts import save_artifact
from nextbuy.data.ids import IdMap
from nextbuy.data.interactions import Interactions
from nextbuy.models import registry
from nextbuy.models.common import popularity_share


def draw_factors(
    n_users: int, n_items: int, factors: int = 64, n_clusters: int = 1000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(user_factors, item_factors, item_cluster)``, float32, clustered with a popularity skew."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, factors), dtype=np.float32)
    cluster = rng.integers(0, n_clusters, n_items)
    popularity = np.minimum(rng.zipf(1.3, n_items), 10_000).astype(np.float32)
    items = centres[cluster] + 0.6 * rng.standard_normal((n_items, factors), dtype=np.float32)
    items *= (0.05 + 0.015 * np.log1p(popularity))[:, None]
    tastes = rng.integers(0, n_clusters, (n_users, 3))
    users = centres[tastes].mean(axis=1)
    users += 0.3 * rng.standard_normal((n_users, factors), dtype=np.float32)
    return users.astype(np.float32), items.astype(np.float32), cluster


def factor_artifact(
    models_dir: Path,
    name: str,
    n_users: int,
    n_items: int,
    factors: int = 64,
    n_clusters: int = 1000,
    per_user: int = 5,
    seed: int = 0,
) -> Path:
    """Save an ALS artifact over drawn factors (category = cluster) and return its folder."""
    users, items, cluster = draw_factors(n_users, n_items, factors, n_clusters, seed)
    rng = np.random.default_rng(seed + 1)
    # each user's training items: the best-scored of a random sample (cheap and plausible)
    sample = rng.integers(0, n_items, (n_users, 8 * per_user))
    scores = np.einsum("uf,usf->us", users, items[sample])
    best = np.argsort(-scores, axis=1)[:, :per_user]
    cols = np.take_along_axis(sample, best, axis=1).ravel()
    rows = np.repeat(np.arange(n_users), per_user)
    seen = sp.csr_matrix(
        (np.ones(len(cols), np.float32), (rows, cols)), shape=(n_users, n_items), dtype=np.float32
    )
    seen.sum_duplicates()
    user_map = IdMap([f"u{i:07d}" for i in range(n_users)])
    item_map = IdMap([f"p{i:07d}" for i in range(n_items)])
    train = Interactions.from_csr(seen, user_map=user_map, item_map=item_map)
    # drawn, not fitted: every parameter a density rule would resolve at fit is given here
    model = registry.create("als", factors=factors, regularization=1.0, weighting="linear")
    model.n_users_, model.n_items_ = n_users, n_items
    model.user_items_ = train.csr
    model.set_state(
        {"user_factors": users, "item_factors": items, "popularity": popularity_share(train.csr)}
    )
    catalog = pd.DataFrame(
        {
            "item_id": item_map.ids,
            "name": [f"item {i}" for i in range(n_items)],
            "brand": [f"brand {c % 97}" for c in cluster],
            "category": [f"cat{c % 20:02d}" for c in cluster],
        }
    )
    return save_artifact(model, train, models_dir, name, catalog=catalog)
