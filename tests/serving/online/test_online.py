"""Real-time personalisation: a user's events change their very next answer, on every model,
for known and brand-new users, and survive a restart; fold-in matches the model's own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nextbuy.serving.app import create_app
from nextbuy.serving.settings import ServingSettings
from tests.serving.online.conftest import (
    AppFactory,
    OnlineShop,
    purchases,
    rec_ids,
    save_with_attributes,
)


def categories(client, user: str, k: int = 10, **options) -> list[str]:
    r = client.post("/recommend", json={"user_id": user, "k": k, **options})
    assert r.status_code == 200, r.text
    return [item["category"] for item in r.json()["recommendations"]]


def test_new_user_buying_one_category_sees_it_dominate(
    online_app: AppFactory, database_url: str, online_shop: OnlineShop
):
    """The issue's end-to-end journey: train, serve, a brand-new user buys books."""
    books = online_shop.category_items("Books")
    with online_app(database_url) as client:
        before = client.post("/recommend", json={"user_id": "newcomer", "k": 10}).json()
        assert before["strategy"] == "fallback"
        r = client.post("/events", json=purchases("newcomer", books[:4]))
        assert r.status_code == 200
        after = client.post("/recommend", json={"user_id": "newcomer", "k": 10}).json()
        assert after["strategy"] == "personalized"
        cats = [item["category"] for item in after["recommendations"]]
        assert cats.count("Books") >= 6, cats
        got = {item["item_id"] for item in after["recommendations"]}
        assert not got & set(books[:4])  # bought: not recommended again


@pytest.mark.parametrize("model", ["ease", "itemknn"])
def test_history_models_use_the_updated_history(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop, model: str
):
    books = online_shop.category_items("Books")
    with online_app(sqlite_url, model) as client:
        assert categories(client, "reader").count("Books") < 6
        client.post("/events", json=purchases("reader", books[:4]))
        assert categories(client, "reader").count("Books") >= 6


def test_a_known_users_next_answer_reflects_the_event(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop
):
    events = online_shop.events
    user = events["user_id"].value_counts().index[-1]  # a light user: events weigh in
    mine = set(events.loc[events["user_id"] == user, "item_id"])
    cats = online_shop.items.set_index("item_id").loc[sorted(mine), "category"]
    fresh = next(c for c in online_shop.items["category"].unique() if c not in set(cats))
    target = online_shop.category_items(fresh)
    with online_app(sqlite_url) as client:
        first = categories(client, user)
        client.post("/events", json=purchases(user, target[:5]))
        second = categories(client, user)
        assert second.count(fresh) > first.count(fresh)
        assert not set(rec_ids(client.post("/recommend", json={"user_id": user}))) & mine


def test_explicit_models_fold_in_ratings(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop
):
    items = online_shop.items["item_id"].tolist()
    with online_app(sqlite_url, "mf") as client:
        rows = [
            {"event_id": f"r{i}", "user_id": "critic", "item_id": item, "event": "rating",
             "value": 5 if i < 3 else 1}
            for i, item in enumerate(items[:6])
        ]  # fmt: skip
        assert client.post("/events", json=rows).status_code == 200
        r = client.post("/recommend", json={"user_id": "critic", "k": 5}).json()
        assert r["strategy"] == "personalized"
        assert not {x["item_id"] for x in r["recommendations"]} & set(items[:6])
        pred = client.post("/predict/rating", json={"user_id": "critic", "item_id": items[10]})
        assert pred.json()["strategy"] == "personalized" and pred.json()["kind"] == "rating"


def test_histories_survive_a_restart(
    online_app: AppFactory, database_url: str, online_shop: OnlineShop
):
    books = online_shop.category_items("Books")
    with online_app(database_url) as client:
        client.post("/events", json=purchases("loyal", books[:4]))
        first = rec_ids(client.post("/recommend", json={"user_id": "loyal"}))
    with online_app(database_url) as client:  # a new process reads the store at start-up
        again = client.post("/recommend", json={"user_id": "loyal"}).json()
        assert again["strategy"] == "personalized"
        assert [x["item_id"] for x in again["recommendations"]] == first


def test_batch_answers_match_single_answers_for_online_users(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop
):
    known = online_shop.events["user_id"].iloc[0]
    with online_app(sqlite_url) as client:
        client.post("/events", json=purchases("fresh", online_shop.category_items("Garden")[:3]))
        client.post("/events", json=purchases(known, online_shop.category_items("Books")[:3]))
        client.post("/events", json=purchases("lost", ["not-in-any-catalog"]))
        users = ["fresh", known, "nobody", "lost"]
        batch = client.post("/recommend/batch", json={"user_ids": users, "k": 5}).json()
        for user, result in zip(users, batch["results"], strict=True):
            single = client.post("/recommend", json={"user_id": user, "k": 5}).json()
            assert result["strategy"] == single["strategy"]
            assert [x["item_id"] for x in result["recommendations"]] == rec_ids_of(single)
        assert [r["strategy"] for r in batch["results"]] == [
            "personalized", "personalized", "fallback", "fallback"
        ]  # fmt: skip


def rec_ids_of(body: dict) -> list[str]:
    return [x["item_id"] for x in body["recommendations"]]


def test_events_on_unknown_items_are_stored_but_only_exclude(
    online_app: AppFactory, sqlite_url: str
):
    with online_app(sqlite_url) as client:
        r = client.post("/events", json=purchases("ghost", ["no-such-item"]))
        assert r.json()["stored"] == 1
        body = client.post("/recommend", json={"user_id": "ghost"}).json()
        assert body["strategy"] == "fallback" and len(body["recommendations"]) == 10


def test_a_reload_starts_from_the_new_models_training_time(
    sqlite_url: str, online_shop: OnlineShop, tmp_path: Path
):
    root = tmp_path / "models"
    shutil.copytree(online_shop.root / "als", root / "als")
    settings = ServingSettings(model_dir=root / "als", database_url=sqlite_url, api_key="k",
                               blas_threads=None, sync_interval_s=0)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        client.post("/events", json=purchases("early", online_shop.category_items("Books")[:3]))
        assert client.post("/recommend", json={"user_id": "early"}).json()["strategy"] == (
            "personalized"
        )
        # a retrain (which would include the stored events) saves a newer version
        save_with_attributes(online_shop.events, online_shop.items, root, "als", factors=8,
                             iterations=2, num_threads=1)  # fmt: skip
        r = client.post("/admin/reload", headers={"X-API-Key": "k"})
        assert r.json()["changed"]
        # events stored before the new version was made are the model's business now
        assert client.post("/recommend", json={"user_id": "early"}).json()["strategy"] == (
            "fallback"
        )
        client.post("/events", json=purchases("early", ["p00001"], prefix="late"))
        assert client.post("/recommend", json={"user_id": "early"}).json()["strategy"] == (
            "personalized"
        )
