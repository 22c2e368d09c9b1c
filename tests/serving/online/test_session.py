"""POST /recommend/session: order-aware for sasrec, a folded-in set for the others, with rules;
and a known user's latest event reaching the sequence model at once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from nextbuy.artifacts import save_artifact
from nextbuy.models.sasrec import SASRec
from nextbuy.serving.app import create_app
from nextbuy.serving.settings import ServingSettings
from tests.chains import PARAMS, chains
from tests.serving.conftest import API_KEY
from tests.serving.online.conftest import KEY, AppFactory, OnlineShop, purchases, rec_ids


@pytest.fixture(scope="module")
def chain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sasrec on users walking i00 -> i01 -> ... (mod 30); items i00-i14 are "A", the rest "B"."""
    data = chains()
    model = SASRec(**PARAMS, num_threads=1).fit(data)
    ids = [f"i{i:02d}" for i in range(30)]
    catalog = pd.DataFrame(
        {
            "item_id": ids,
            "name": [f"Item {i}" for i in ids],
            "category": ["A" if i < 15 else "B" for i in range(30)],
        }
    )
    root = tmp_path_factory.mktemp("chain-models")
    save_artifact(model, data, root, "sasrec", catalog=catalog)
    return root / "sasrec"


@pytest.fixture()
def chain_client(chain_dir: Path, tmp_path: Path) -> TestClient:
    settings = ServingSettings(
        model_dir=chain_dir,
        database_url=f"sqlite:///{tmp_path / 'events.db'}",
        api_key=API_KEY,
        blas_threads=None,
        sync_interval_s=0,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def session(client: TestClient, items: list[str], **options: object) -> list[str]:
    return rec_ids(client.post("/recommend/session", json={"items": items, "k": 5, **options}))


def test_sasrec_session_follows_the_order(chain_client: TestClient) -> None:
    forward = session(chain_client, ["i05", "i06", "i07"])
    backward = session(chain_client, ["i07", "i06", "i05"], exclude_seen=False)
    assert forward[0] == "i08"
    assert backward[0] != "i08"  # the same items in another order: another answer
    assert not {"i05", "i06", "i07"} & set(forward)  # the session's items are left out
    again = session(chain_client, ["i05", "i06", "i07"], exclude_seen=False)
    assert again[0] == "i08"


def test_session_answer_shape_and_label(chain_client: TestClient) -> None:
    body = chain_client.post(
        "/recommend/session", json={"items": ["i01"], "k": 3, "session_id": "s-9"}
    ).json()
    assert body["user_id"] == "s-9" and body["strategy"] == "personalized"
    assert [r["rank"] for r in body["recommendations"]] == [1, 2, 3]
    assert body["recommendations"][0]["name"] == "Item i02"


def test_session_rules_and_filters(chain_client: TestClient) -> None:
    assert all(int(i[1:]) >= 15 for i in session(chain_client, ["i10", "i11"], categories=["B"]))
    hidden = chain_client.put("/items/i12", json={"in_stock": False}, headers=KEY)
    assert hidden.status_code == 200, hidden.text
    assert "i12" not in session(chain_client, ["i10", "i11"])


def test_empty_or_unknown_session_gets_popular_items(chain_client: TestClient) -> None:
    for items in ([], ["nope", "never-seen"]):
        body = chain_client.post("/recommend/session", json={"items": items, "k": 4}).json()
        assert body["strategy"] == "fallback" and len(body["recommendations"]) == 4


def test_known_users_last_click_reaches_the_sequence_model(chain_client: TestClient) -> None:
    user = "u000"
    before = rec_ids(chain_client.get(f"/recommend/{user}", params={"k": 3}))
    posted = chain_client.post("/events", json=purchases(user, ["i20"], event="view"))
    assert posted.status_code == 200, posted.text
    after = rec_ids(chain_client.get(f"/recommend/{user}", params={"k": 3}))
    assert after[0] == "i21" and after != before


def test_other_models_fold_the_session_in(online_app: AppFactory, online_shop: OnlineShop,
                                          sqlite_url: str) -> None:  # fmt: skip
    camping = online_shop.category_items("Camping")[:5]
    with online_app(sqlite_url, "als") as client:
        body = client.post("/recommend/session", json={"items": camping, "k": 10}).json()
        assert body["strategy"] == "personalized"
        ids = [r["item_id"] for r in body["recommendations"]]
        assert not set(camping) & set(ids)
        assert sum(i in set(online_shop.category_items("Camping")) for i in ids) >= 5
        for session_items in (camping, camping[:1]):  # the session itself decides the answer
            one = client.post("/recommend/session", json={"items": session_items, "k": 5})
            assert one.status_code == 200
