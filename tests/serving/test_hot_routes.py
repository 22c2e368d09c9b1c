"""The hot routes' pure-ASGI answers (serving.fastpath) match FastAPI's, byte for byte.

Each request is sent twice: once in the plain form the fast path answers, once in a form it
hands to FastAPI (a charset on the content type, a zero-padded ``k``). Both must answer the
same; errors must keep FastAPI's status and body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.serving.conftest import Shop, assert_same_ranking

PLAIN = {"content-type": "application/json"}
ROUTED = {"content-type": "application/json; charset=utf-8"}  # the fast path passes these on


def _post(client: TestClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.post(path, content=json.dumps(body), headers=headers)


def _without_id(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without its per-request ``recommendation_id``."""
    assert len(answer.pop("recommendation_id")) == 32
    return answer


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "PLACEHOLDER", "k": 5},
        {"user_id": "PLACEHOLDER", "n_recommendations": 3, "exclude_seen": False},
        {"user_id": "PLACEHOLDER", "k": 4, "categories": ["books"], "exclude_item_ids": ["p00001"]},
        {"user_id": "nobody-knows-me", "k": 3},
        {"user_id": 42, "k": 2},
    ],
)
def test_recommend_answers_as_fastapi_does(client: TestClient, shop: Shop, body: dict[str, Any]):
    if body["user_id"] == "PLACEHOLDER":
        body = {**body, "user_id": str(shop.events["user_id"].iloc[0])}
    for path in ("/recommend", "/recommend/"):
        fast = _post(client, path, body, PLAIN)
        routed = _post(client, path, body, ROUTED)
        assert fast.status_code == routed.status_code == 200
        assert fast.headers["content-type"] == routed.headers["content-type"]
        assert "x-request-id" in fast.headers
        assert _without_id(fast.json()) == _without_id(routed.json())


def test_predict_answers_as_fastapi_does(client: TestClient, shop: Shop):
    user, item = str(shop.events["user_id"].iloc[0]), str(shop.events["item_id"].iloc[0])
    for body in ({"user_id": user, "item_id": item}, {"user_id": "stranger", "item_id": item}):
        fast = _post(client, "/predict/rating", body, PLAIN)
        routed = _post(client, "/predict/rating/", body, ROUTED)
        assert fast.status_code == routed.status_code == 200
        assert fast.content == routed.content


def test_similar_answers_as_fastapi_does(client: TestClient, shop: Shop):
    item = str(shop.events["item_id"].iloc[0])
    pairs = [
        ("", "?k=010"),
        ("?k=4", "?k=04"),
        ("?k=4&include_out_of_stock=true", "?include_out_of_stock=1&k=4"),
        ("?include_out_of_stock=false", "?include_out_of_stock=0"),
    ]
    for fast_query, routed_query in pairs:
        fast = client.get(f"/items/{item}/similar{fast_query}")
        routed = client.get(f"/items/{item}/similar{routed_query}")
        assert fast.status_code == routed.status_code == 200
        assert _without_id(fast.json()) == _without_id(routed.json())


def test_errors_are_fastapi_s(client: TestClient, shop: Shop):
    user = str(shop.events["user_id"].iloc[0])
    invalid = _post(client, "/recommend", {"user_id": user, "k": 0}, PLAIN)
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["loc"] == ["body", "k"]
    assert _post(client, "/recommend", [1, 2], PLAIN).status_code == 422
    broken = client.post("/recommend", content=b"{not json", headers=PLAIN)
    assert broken.status_code == 422
    unknown = _post(client, "/predict/rating", {"user_id": user, "item_id": "no-such"}, PLAIN)
    assert unknown.status_code == 404 and "no-such" in unknown.json()["detail"]
    assert client.get("/items/no-such/similar?k=3").status_code == 404
    assert client.get("/items/x/similar?k=0").status_code == 422
    assert client.get("/items/x/similar?k=5&k=6").status_code in (404, 422)


def test_over_the_server_k_limit_is_fastapi_s_422(shop: Shop):
    from tests.serving.conftest import make_client

    with make_client(shop.root / "als", max_k=5) as small:
        user = str(shop.events["user_id"].iloc[0])
        item = str(shop.events["item_id"].iloc[0])
        answer = _post(small, "/recommend", {"user_id": user, "k": 6}, PLAIN)
        assert answer.status_code == 422 and "at most 5" in answer.json()["detail"]
        assert small.get(f"/items/{item}/similar?k=6").status_code == 422
        assert small.get(f"/items/{item}/similar?k=5").status_code == 200


def test_fast_answers_are_counted_under_their_route(client: TestClient, shop: Shop):
    user, item = str(shop.events["user_id"].iloc[0]), str(shop.events["item_id"].iloc[0])
    _post(client, "/recommend", {"user_id": user}, PLAIN)
    client.get(f"/items/{item}/similar")
    _post(client, "/predict/rating", {"user_id": user, "item_id": item}, PLAIN)
    text = client.get("/metrics").text
    for route, method in (
        ("/recommend", "POST"),
        ("/items/{item_id}/similar", "GET"),
        ("/predict/rating", "POST"),
    ):
        assert f'nextbuy_requests_total{{method="{method}",route="{route}",status="200"}}' in text


def test_concurrent_similar_requests_answer_as_single_ones(client: TestClient, shop: Shop):
    """Requests of one event-loop turn share one cosine product (the coalescer): same lists,
    scores equal to float32 rounding."""
    import asyncio

    import numpy as np

    service = client.app.state.service
    items = [str(i) for i in shop.items["item_id"].iloc[:6]]

    async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        together = await asyncio.gather(*(service.similar_async(i, 5) for i in items))
        alone = [await service.similar_async(i, 5) for i in items]
        return list(together), alone

    together, alone = asyncio.run(both())
    for a, b in zip(together, alone, strict=True):
        assert [x["item_id"] for x in a["items"]] == [x["item_id"] for x in b["items"]]
        scores = [[x["score"] for x in answer["items"]] for answer in (a, b)]
        np.testing.assert_allclose(scores[0], scores[1], atol=1e-5)
        sync = service.similar(a["item_id"], 5)  # the CLI's and the dashboard's path
        assert [x["item_id"] for x in sync["items"]] == [x["item_id"] for x in a["items"]]


def test_concurrent_recommendations_answer_as_single_ones(client: TestClient, shop: Shop):
    """Requests of one event-loop turn are scored and ranked as blocks, one per distinct set
    of options (the rank coalescer): the same lists as one at a time, and as the sync path."""
    import asyncio

    from nextbuy.serving.options import RecommendOptions

    service = client.app.state.service
    users = [str(u) for u in shop.events["user_id"].drop_duplicates().iloc[:8]]
    books = RecommendOptions(k=4, categories=["books"])
    options = [RecommendOptions(k=5), books, RecommendOptions(k=3, exclude_seen=False)]
    asks = [(u, options[j % 3]) for j, u in enumerate(users)] + [("stranger", books)]

    async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        together = await asyncio.gather(*(service.recommend_async(u, o) for u, o in asks))
        alone = [await service.recommend_async(u, o) for u, o in asks]
        return list(together), alone

    together, alone = asyncio.run(both())
    for (user, opts), a, b in zip(asks, together, alone, strict=True):
        ids = [x["item_id"] for x in a["recommendations"]]
        assert_same_ranking(a["recommendations"], b["recommendations"])  # up to float32 ties
        assert len(ids) == opts.k and a["strategy"] == b["strategy"]
        assert_same_ranking(a["recommendations"], service.recommend(user, opts)["recommendations"])
        if opts is books:
            assert {x["category"].lower() for x in a["recommendations"]} == {"books"}
        if opts.exclude_seen and user != "stranger":
            seen = set(shop.events.loc[shop.events["user_id"].astype(str) == user, "item_id"])
            assert not seen & set(ids)


def _hot_routes(client: TestClient) -> Any:
    """The app's HotRoutes layer (the middleware stack is built by the first request)."""
    from nextbuy.serving.fastpath import HotRoutes

    client.get("/health")
    layer = client.app.middleware_stack
    while not isinstance(layer, HotRoutes):
        layer = layer.app
    return layer


def test_errors_are_answered_directly_with_the_routes_bodies(client: TestClient, shop: Shop):
    """4xx of the hot routes come from the fast path itself (FastAPI is not asked: nothing
    runs twice), with the same status and body as FastAPI's own answer."""
    user, item = str(shop.events["user_id"].iloc[0]), str(shop.events["item_id"].iloc[0])
    posts = [
        ("/recommend", {"user_id": user, "k": 0}),
        ("/recommend", {"user_id": user, "k": 1001}),
        ("/recommend", {"user_id": user, "k": "many"}),
        ("/recommend", {"k": 3}),
        ("/recommend", [1, 2]),
        ("/recommend/", {"user_id": user, "categories": "books", "exclude_seen": "maybe"}),
        ("/predict/rating", {"user_id": user, "item_id": "no-such"}),
        ("/predict/rating", {"user_id": user}),
        ("/predict/rating/", "just a string"),
    ]
    gets = [
        "/items/no-such/similar",
        "/items/no-such/similar?k=3&include_out_of_stock=true",
        f"/items/{item}/similar?k=3000",  # over the schema's 1,000: FastAPI's own 422
    ]
    routed: list[tuple[int, bytes]] = []
    for path, body in posts:
        answer = _post(client, path, body, ROUTED)
        routed.append((answer.status_code, answer.content))
    for path in gets:  # the same query in another spelling goes to FastAPI
        answer = client.get(path.replace("k=3", "k=03"))
        routed.append((answer.status_code, answer.content))
    hot = _hot_routes(client)
    inner = hot.app

    async def refuse(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError(f"{scope['path']} reached FastAPI")

    hot.app = refuse
    try:
        fast = [_post(client, path, body, PLAIN) for path, body in posts]
        fast += [client.get(path) for path in gets[:2]]
    finally:
        hot.app = inner
    fast.append(client.get(gets[2]))  # passed on: the query model says what is wrong
    for (status, content), answer in zip(routed, fast, strict=True):
        assert 400 <= status < 500 and answer.status_code == status
        assert answer.content == content
        assert answer.headers["content-type"] == "application/json"
