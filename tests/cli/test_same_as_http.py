"""The CLI and the HTTP API give the same answer: same service, same rules, same JSON.

Each answer of ``nextbuy recommend|similar|predict|batch`` is compared, whole, with the body of
the matching route of an app serving the same model folder (as ``tests/serving`` builds it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nextbuy.cli import app
from tests.conftest import run_cli, untag
from tests.serving.conftest import make_client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def http(als_dir: Path) -> Iterator[TestClient]:
    """The API serving the model the CLI answers from (default settings: online, no events)."""
    with make_client(als_dir) as client:
        yield client


@pytest.fixture(scope="module")
def catalog(shop_dir: Path) -> pd.DataFrame:
    return pd.read_csv(shop_dir / "items.csv", dtype={"item_id": str}).set_index("item_id")


def cli(*args: str) -> dict[str, Any]:
    """Run one command in process (typer's runner) and parse the JSON it printed."""
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def known_user(shop_dir: Path) -> str:
    events = pd.read_csv(shop_dir / "interactions.csv", dtype={"user_id": str, "item_id": str})
    return str(events["user_id"].iloc[0])


def test_known_user(als_dir: Path, shop_dir: Path, http: TestClient) -> None:
    user = known_user(shop_dir)
    answer = cli("recommend", "--model-dir", str(als_dir), "--user", user, "-k", "7")
    assert answer == untag(http.get(f"/recommend/{user}", params={"k": 7}).json())
    assert answer["strategy"] == "personalized" and len(answer["recommendations"]) == 7


def test_unknown_user_gets_the_same_fallback(als_dir: Path, http: TestClient) -> None:
    answer = cli("recommend", "--model-dir", str(als_dir), "--user", "nobody", "-k", "5")
    assert answer == untag(http.post("/recommend", json={"user_id": "nobody", "k": 5}).json())
    assert answer["strategy"] == "fallback" and len(answer["recommendations"]) == 5


def test_out_of_stock_items_are_absent_in_both(
    als_dir: Path, shop_dir: Path, http: TestClient, catalog: pd.DataFrame
) -> None:
    out_of_stock = set(catalog.index[~catalog["in_stock"]])
    assert out_of_stock  # the shop has some, all known to the model
    for user in (known_user(shop_dir), "nobody"):  # k covers every item the answer may hold
        answer = cli("recommend", "--model-dir", str(als_dir), "--user", user, "-k", "1000")
        assert answer == untag(http.get(f"/recommend/{user}", params={"k": 1000}).json())
        ids = {item["item_id"] for item in answer["recommendations"]}
        assert not ids & out_of_stock
    assert ids == set(catalog.index) - out_of_stock  # the fallback: every item in stock

    anchor = str(catalog.index[0])
    for flag, params in (([], {}), (["--include-out-of-stock"], {"include_out_of_stock": True})):
        answer = cli("similar", "--model-dir", str(als_dir), "--item", anchor, "-k", "1000", *flag)
        body = untag(http.get(f"/items/{anchor}/similar", params={"k": 1000, **params}).json())
        assert answer == body
        ids = {item["item_id"] for item in answer["items"]}
        assert bool(ids & out_of_stock) == bool(flag)


def test_similar_items_have_the_api_shape(als_dir: Path, http: TestClient) -> None:
    answer = cli("similar", "--model-dir", str(als_dir), "--item", "p00003", "-k", "4")
    assert answer == untag(http.get("/items/p00003/similar", params={"k": 4}).json())
    assert "similar" not in answer and len(answer["items"]) == 4
    assert set(answer) == {"item_id", "model_version", "method", "items"}


@pytest.mark.parametrize("user", ["u00001", "ghost"])
def test_predict_a_pair(als_dir: Path, http: TestClient, user: str) -> None:
    answer = cli("predict", "--model-dir", str(als_dir), "--user", user, "--item", "p00003")
    assert answer == untag(
        http.post("/predict/rating", json={"user_id": user, "item_id": "p00003"}).json()
    )
    assert answer["strategy"] == ("personalized" if user == "u00001" else "fallback")


def test_unknown_item_exits_2_with_the_404_sentence(als_dir: Path, http: TestClient) -> None:
    r = http.post("/predict/rating", json={"user_id": "u00001", "item_id": "no-such-item"})
    assert r.status_code == 404
    sentence = r.json()["detail"]
    for args in (("predict", "--user", "u00001"), ("similar",)):
        proc = run_cli(*args, "--model-dir", str(als_dir), "--item", "no-such-item", check=False)
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.strip() == f"error: {sentence}"
    assert untag(http.get("/items/no-such-item/similar").json())["detail"] == sentence


def test_batch_rows_are_the_batch_route_answers(
    als_dir: Path, http: TestClient, tmp_path: Path
) -> None:
    users = ["u00001", "not-a-user", "u00002"]
    (tmp_path / "users.csv").write_text("user_id\n" + "\n".join(users) + "\n")
    result = CliRunner().invoke(
        app,
        ["batch", "--model-dir", str(als_dir), "--users", str(tmp_path / "users.csv"), "-k", "4"]
        + ["--out", str(tmp_path / "top.csv")],
    )
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "top.csv", dtype={"user_id": str, "item_id": str})
    body = untag(http.post("/recommend/batch", json={"user_ids": users, "k": 4}).json())
    expected = [
        (a["user_id"], item["rank"], item["item_id"], item["score"], a["strategy"])
        for a in body["results"]
        for item in a["recommendations"]
    ]
    assert list(rows.itertuples(index=False, name=None)) == expected
    assert "(1 unknown users got popular items)" in " ".join(result.output.split())
