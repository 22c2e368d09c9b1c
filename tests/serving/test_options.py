"""The request options are defined once: body, query parameters and cache key follow them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from nextbuy.serving.options import AsQuery, RecommendOptions
from tests.conftest import untag
from tests.serving.conftest import Shop

#: A value other than the default for every option (a new option must be added here).
CHANGED: dict[str, Any] = {
    "k": 3,
    "exclude_seen": False,
    "exclude_item_ids": ["p1"],
    "categories": ["Books"],
    "brands": ["Acme"],
    "in_stock_only": True,
    "include_out_of_stock": True,
    "explain": True,
}


def test_every_option_is_part_of_the_cache_key():
    assert set(RecommendOptions.OPTIONS) == set(CHANGED)
    base = RecommendOptions().cache_key("u")
    hash(base)
    for name, value in CHANGED.items():
        assert RecommendOptions(**{name: value}).cache_key("u") != base, name
    assert RecommendOptions().cache_key("v") != base


def test_get_parameters_are_generated_from_the_options(client: TestClient):
    spec = client.get("/openapi.json").json()
    params = spec["paths"]["/recommend/{user_id}"]["get"]["parameters"]
    marked = {
        mark.name
        for info in RecommendOptions.model_fields.values()
        for mark in info.metadata
        if isinstance(mark, AsQuery)
    }
    assert {p["name"] for p in params if p["in"] == "query"} == marked
    body = spec["components"]["schemas"]["RecommendRequest"]["properties"]
    assert set(body) == {"user_id", "n_recommendations", *CHANGED} - {"k"}


def test_get_and_post_agree_with_every_option_set(client: TestClient, shop: Shop):
    user = str(shop.events["user_id"].value_counts().index[2])
    brand = str(shop.items["brand"].value_counts().index[0])
    body = {
        "user_id": user,
        "k": 4,
        "exclude_seen": False,
        "exclude_item_ids": [str(shop.items["item_id"].iloc[0])],
        "brands": [brand],
        "include_out_of_stock": True,
        "explain": True,
    }
    query = {
        "k": 4,
        "exclude_seen": "false",
        "exclude": body["exclude_item_ids"],
        "brand": [brand],
        "include_out_of_stock": "true",
        "explain": "true",
    }
    post = client.post("/recommend", json=body)
    get = client.get(f"/recommend/{user}", params=query)
    assert post.status_code == get.status_code == 200
    assert untag(get.json()) == untag(post.json())
