"""Kept cosine neighbours (serving.neighbours): a second /similar answer read from the table is
the exact answer, with blocked items dropped, new items merged in, and the exact path taken
whenever the kept list cannot say."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from nextbuy.serving import neighbours
from nextbuy.serving.neighbours import NeighbourTable
from nextbuy.serving.similarity import similar
from tests.serving.online.conftest import KEY, AppFactory, OnlineShop


def _lists(answer: dict[str, Any]) -> tuple[list[str], list[float]]:
    return [x["item_id"] for x in answer["items"]], [x["score"] for x in answer["items"]]


def test_the_table_keeps_the_top_and_drops_blocked_entries():
    rng = np.random.default_rng(0)
    sims = rng.standard_normal(500).astype(np.float32)
    sims[7] = -np.inf  # the item itself
    table = NeighbourTable(500, width=8)
    assert table.lookup(7, 3, None) is None  # not asked about yet
    table.put(7, sims)
    best = np.argsort(-sims)[:8]
    ids, vals = table.lookup(7, 3, None)  # type: ignore[misc]
    assert ids.tolist() == best[:3].tolist() and vals.tolist() == sims[best[:3]].tolist()
    blocked = np.sort(best[[0, 2]]).astype(np.int32)
    ids, _ = table.lookup(7, 3, blocked)  # type: ignore[misc]
    assert ids.tolist() == best[[1, 3, 4]].tolist()
    assert table.lookup(7, 9, None) is None  # k above the width: the exact path
    many = np.sort(best[:6]).astype(np.int32)
    assert table.lookup(7, 3, many) is None  # two left of eight: cannot say, exact path
    short = np.full(500, -np.inf, dtype=np.float32)
    short[[3, 4]] = [0.5, 0.9]  # a row with two finite scores: the list holds all of them
    table.put(1, short)
    ids, _ = table.lookup(1, 5, np.array([4], dtype=np.int32))  # type: ignore[misc]
    assert ids.tolist() == [3]


def test_the_fill_at_load_keeps_what_asking_would(monkeypatch):
    rng = np.random.default_rng(1)
    unit = rng.standard_normal((600, 8)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1)[:, None]
    unit[5] = 0  # a zero vector: never anyone's neighbour
    off = np.array([5])
    filled = NeighbourTable(600, width=16)
    assert filled.fill(unit, off) and filled.filled.all()
    for i in (0, 5, 299, 599):
        sims = unit @ unit[i]
        sims[[i, 5]] = -np.inf
        asked = NeighbourTable(600, width=16)
        asked.put(i, sims)
        assert filled.ids[i, :10].tolist() == asked.ids[i, :10].tolist()
        assert 5 not in filled.ids[i] and i not in filled.ids[i]
    monkeypatch.setattr(neighbours, "FILL_AT_LOAD", 600 * 600 * 8 - 1)
    big = NeighbourTable(600, width=16)
    assert not big.fill(unit, off) and not big.filled.any()  # too large: filled as asked


def test_answers_from_the_table_are_the_exact_ones(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop
):
    with online_app(sqlite_url) as client:
        service = client.app.state.service
        table = service.snapshot.neighbours
        assert table is not None and table.filled.all()  # a small catalog: filled at load
        loaded = table.ids.copy()
        table.filled[:] = False  # as above FILL_AT_LOAD: rows are kept as items are asked about
        anchors = online_shop.category_items("Books")[:12]
        first = [client.get(f"/items/{a}/similar", params={"k": 10}).json() for a in anchors]
        assert table.filled.sum() == len(anchors)
        rows = service.snapshot.artifact.item_map.index(anchors)
        assert (table.ids[rows, :10] == loaded[rows, :10]).all()  # the same lists either way
        # out of stock: the first answers' top items; and a new item with a vector
        gone = sorted({answer["items"][0]["item_id"] for answer in first})
        for item in gone:
            assert client.put(f"/items/{item}", json={"in_stock": False}, headers=KEY).is_success
        new = {"name": "Illustrated Mystery Novel", "category": "Books", "brand": "x", "price": 9}
        assert client.put("/items/new-book", json=new, headers=KEY).json()["new"] is True
        snapshot = service.snapshot
        assert snapshot.neighbours is table  # catalog changes keep the model's table
        exact = dataclasses.replace(snapshot, neighbours=None)
        for anchor in anchors:
            for k, stock in ((10, False), (5, True), (30, False)):
                kept = similar(snapshot, anchor, k, stock)
                truth = similar(exact, anchor, k, stock)
                assert _lists(kept)[0] == _lists(truth)[0]
                np.testing.assert_allclose(_lists(kept)[1], _lists(truth)[1], atol=1e-5)
                if not stock:
                    assert not set(gone) & set(_lists(kept)[0])
        merged = [similar(snapshot, a, 30)["items"] for a in anchors]
        assert any(x["item_id"] == "new-book" for answer in merged for x in answer)
        served = client.get(f"/items/{anchors[0]}/similar", params={"k": 10}).json()
        assert _lists(served)[0] == _lists(similar(exact, anchors[0], 10))[0]
