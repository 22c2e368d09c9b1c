"""Catalog changes reach every worker process before its next recommendation."""

from __future__ import annotations

from pathlib import Path

from nextbuy.serving.process import running_server
from tests.serving.conftest import API_KEY
from tests.serving.online.conftest import OnlineShop
from tests.serving.online.test_store_down import call


def test_an_out_of_stock_item_leaves_every_worker_at_once(online_shop: OnlineShop, tmp_path: Path):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(online_shop.root / "als", models / "als")
    user = str(online_shop.events["user_id"].iloc[0])
    # a sync interval far longer than the test: only the per-answer check can explain it
    env = {"NEXTBUY_API_KEY": API_KEY, "NEXTBUY_SYNC_INTERVAL_S": "60"}
    with running_server(models / "als", tmp_path / "s.log", env=env, workers=2) as srv:
        for who in ("nobody-new", user):
            for _ in range(4):  # warm both workers' caches with the item in the answer
                top = call(srv.url + f"/recommend/{who}?k=5")[2]["recommendations"][0]["item_id"]
            status, _, _ = call(srv.url + f"/items/{top}", "PUT", {"in_stock": False})
            assert status == 200
            for _ in range(30):  # fresh connections: both workers answer
                body = call(srv.url + f"/recommend/{who}?k=5")[2]
                assert top not in [x["item_id"] for x in body["recommendations"]]
                body = call(srv.url + "/recommend/batch", "POST", {"user_ids": [who], "k": 5})[2]
                assert top not in [x["item_id"] for x in body["results"][0]["recommendations"]]
