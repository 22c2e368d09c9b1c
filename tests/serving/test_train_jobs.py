"""POST /train and GET /train/{id}: a real training job in the background, then a reload."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.serving.conftest import API_KEY, Shop, make_client, wait_for_job

KEY = {"X-API-Key": API_KEY}


def wait_for(client: TestClient, job_id: str, timeout: float = 180) -> dict[str, Any]:
    return wait_for_job(client, job_id, timeout)


@pytest.fixture()
def data_dir(shop: Shop, tmp_path: Path) -> Path:
    """The server's data folder, holding a copy of the shop's files."""
    folder = tmp_path / "data"
    shutil.copytree(shop.data, folder)
    return folder


@pytest.fixture()
def admin(private_models: Path, data_dir: Path):
    with make_client(private_models / "als", api_key=API_KEY, data_dir=data_dir) as c:
        yield c


def test_training_job_trains_in_the_background_and_reload_serves_it(
    admin: TestClient, data_dir: Path
):
    before = admin.get("/model").json()["version"]
    body = {
        "data": str(data_dir / "interactions.csv"),
        "items": "items.csv",  # relative to the data folder
        "model": "als",
        "params": {"factors": 8, "iterations": 2},
        "split": "user",
    }
    r = admin.post("/train", json=body, headers=KEY)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running")
    assert r.headers["location"] == job["status_url"] == f"/train/{job['job_id']}"

    busy = admin.post("/train", json=body, headers=KEY)  # one job at a time
    assert busy.status_code == 409
    assert job["job_id"] in busy.json()["detail"]

    done = wait_for(admin, job["job_id"])
    assert done["status"] == "succeeded", done
    assert done["progress"] == 1.0 and done["version"]
    assert done["metrics"] and all(isinstance(v, float) for v in done["metrics"].values())
    assert done["request"]["params"] == {"factors": 8, "iterations": 2}

    assert admin.get("/model").json()["version"] == before  # old model until reload
    reload = admin.post("/admin/reload", headers=KEY).json()
    assert reload["changed"] is True and reload["version"] == done["version"]
    assert admin.get("/model").json()["params"]["iterations"] == 2


def test_failed_training_reports_why(admin: TestClient, data_dir: Path):
    bad = data_dir / "bad.csv"
    bad.write_text("who,what\n1,2\n")
    r = admin.post("/train", json={"data": str(bad)}, headers=KEY)
    assert r.status_code == 202
    done = wait_for(admin, r.json()["job_id"])
    assert done["status"] == "failed"
    assert done["error"] and "bad.csv" in done["error"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"data": "no/such/file.csv"}, "does not exist"),
        ({"data": "/etc/passwd"}, "outside the data folder"),
        ({"data": "x.csv", "model": "nope"}, "unknown model"),
        ({"data": "x.csv", "params": {"not_a_param": 1}}, "not_a_param"),
        ({"data": "x.csv", "params": {"factors": "abc"}}, "factors must be an integer >= 1"),
        ({"data": "x.csv", "params": {"iterations": 0}}, "iterations must be an integer >= 1"),
        ({"data": "x.csv", "params": {"regularization": "abc"}}, "regularization must be"),
        ({"data": "x.csv", "name": "../escape"}, "name"),
        ({"data": "x.csv", "test_fraction": 1.5}, "test_fraction"),
        ({"data": "x.csv", "surprise": True}, "surprise"),
    ],
)
def test_invalid_training_requests_are_422(admin: TestClient, body: dict, words: str):
    r = admin.post("/train", json=body, headers=KEY)
    assert r.status_code == 422
    assert words in r.text


def test_data_folder_restriction(private_models: Path, shop: Shop, tmp_path: Path):
    with make_client(private_models / "als", api_key=API_KEY, data_dir=tmp_path) as c:
        r = c.post("/train", json={"data": str(shop.data / "interactions.csv")}, headers=KEY)
    assert r.status_code == 422
    assert "outside the data folder" in r.json()["detail"]


@pytest.mark.parametrize("job_id", ["0123456789ab", "../../etc/passwd", "x" * 64])
def test_unknown_job_is_404(admin: TestClient, job_id: str):
    assert admin.get(f"/train/{job_id}", headers=KEY).status_code == 404
