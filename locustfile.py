"""Locust load test of the API: a shop's mix of recommend, batch, rating and similar-item calls.

    locust -f locustfile.py --host http://127.0.0.1:8000 --headless -u 50 -r 10 -t 60s

User and item IDs are read from the server's catalog (``/popular``) and from the model folder
named by ``NEXTBUY_MODEL_DIR`` when it is set (its users.parquet), so most calls hit known
users; ``NEXTBUY_LOAD_UNKNOWN`` (default 0.1) is the share of calls for users the model has
never seen (fallbacks). ``benchmarks/load.py`` is the scripted benchmark that prints tables.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from locust import HttpUser, between, events, task

USERS: list[str] = []
ITEMS: list[str] = []
UNKNOWN_SHARE = float(os.environ.get("NEXTBUY_LOAD_UNKNOWN", "0.1"))


@events.test_start.add_listener
def load_ids(environment, **_kwargs) -> None:  # noqa: ANN001 - locust's signature
    """Fill USERS and ITEMS once, before any simulated customer starts."""
    import httpx

    host = environment.host or "http://127.0.0.1:8000"
    popular = httpx.get(f"{host}/popular", params={"k": 1000}, timeout=30).json()["items"]
    ITEMS[:] = [item["item_id"] for item in popular]
    model_dir = os.environ.get("NEXTBUY_MODEL_DIR")
    if model_dir:
        import pandas as pd

        folder = Path(model_dir)
        if (folder / "LATEST").is_file():
            folder = folder / (folder / "LATEST").read_text().strip()
        ids = pd.read_parquet(folder / "users.parquet")["user_id"].astype(str)
        USERS[:] = list(ids.sample(min(len(ids), 10_000), random_state=0))
    if not USERS:
        USERS[:] = [f"u{i:05d}" for i in range(2000)]  # the demo shop's ID pattern


def a_user() -> str:
    if random.random() < UNKNOWN_SHARE:
        return f"new-{random.randrange(10**9)}"
    return random.choice(USERS)


class Shopper(HttpUser):
    """One storefront session: mostly personal recommendations, some item pages."""

    wait_time = between(0.05, 0.2)

    @task(10)
    def recommend(self) -> None:
        self.client.post("/recommend", json={"user_id": a_user(), "n_recommendations": 10})

    @task(2)
    def recommend_in_category(self) -> None:
        self.client.get(
            f"/recommend/{a_user()}", params={"k": 10, "in_stock_only": "true"},
            name="/recommend/{user_id}",
        )  # fmt: skip

    @task(3)
    def similar(self) -> None:
        self.client.get(
            f"/items/{random.choice(ITEMS)}/similar", params={"k": 10},
            name="/items/{item_id}/similar",
        )  # fmt: skip

    @task(3)
    def rating(self) -> None:
        self.client.post(
            "/predict/rating", json={"user_id": a_user(), "item_id": random.choice(ITEMS)}
        )

    @task(1)
    def batch(self) -> None:
        self.client.post(
            "/recommend/batch", json={"user_ids": [a_user() for _ in range(100)], "k": 10}
        )
