"""Single, batch and GET answers go through one scoring and ranking path: they agree for
trained users, users with events since training, strangers, and events on unknown items."""

from __future__ import annotations

import pytest

from tests.serving.online.conftest import AppFactory, OnlineShop, purchases


@pytest.mark.parametrize("exclude_seen", [True, False])
def test_batch_answers_equal_single_answers_under_the_rules(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop, exclude_seen: bool
):
    trained = str(online_shop.events["user_id"].iloc[0])
    books = online_shop.category_items("Books")[:3]
    kitchen = online_shop.category_items("Kitchen")[:2]
    events = (
        purchases(trained, books[:1], prefix="t")
        + purchases("newcomer", books + kitchen)
        + purchases("lost", ["never-heard-of"])
    )
    users = [trained, "newcomer", "lost", "stranger", str(online_shop.events["user_id"].iloc[5])]
    options = {"k": 6, "exclude_seen": exclude_seen, "include_out_of_stock": True}
    with online_app(sqlite_url, repurchasable_categories=["kitchen"], max_per_brand=2) as client:
        assert client.post("/events", json=events).status_code == 200
        batch = client.post("/recommend/batch", json={"user_ids": users, **options}).json()
        for user, result in zip(users, batch["results"], strict=True):
            single = client.post("/recommend", json={"user_id": user, **options}).json()
            # fold-in solves one user densely, several at once by ridge: scores agree to 1e-5
            assert ids(result) == ids(single), user
            assert result["strategy"] == single["strategy"]
            assert scores(result) == pytest.approx(scores(single), rel=1e-5, abs=1e-6)
        strategies = [r["strategy"] for r in batch["results"]]
        assert strategies == [
            "personalized",
            "personalized",
            "fallback",
            "fallback",
            "personalized",
        ]


def ids(answer: dict) -> list[str]:
    return [item["item_id"] for item in answer["recommendations"]]


def scores(answer: dict) -> list[float]:
    return [item["score"] for item in answer["recommendations"]]
