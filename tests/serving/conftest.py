"""Serving fixtures: real models trained on the small shop, saved as artifacts; apps; a server."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from nextbuy.artifacts import ModelArtifact, load_artifact, save_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.models import registry
from nextbuy.serving.app import create_app
from nextbuy.serving.process import ServerProcess, running_server
from nextbuy.serving.settings import ServingSettings

API_KEY = "test-key-0123456789"


def read_shop(shop_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Interactions, ratings (as value) and the catalog of the shared small shop."""
    ids = {"user_id": str, "item_id": str}
    events = pd.read_csv(shop_dir / "interactions.csv", dtype=ids)
    ratings = pd.read_csv(shop_dir / "ratings.csv", dtype=ids).rename(columns={"rating": "value"})
    items = pd.read_csv(shop_dir / "items.csv", dtype={"item_id": str})
    return events, ratings, items


def train_and_save(
    frame: pd.DataFrame,
    items: pd.DataFrame,
    models_dir: Path,
    name: str,
    model: str,
    explicit: bool = False,
    **params: object,
) -> Path:
    """Fit ``model`` on ``frame`` and save it as a new version of ``models_dir/name``."""
    train = Interactions.from_frame(frame, explicit=explicit)
    fitted = registry.create(model, **params).fit(train)
    return save_artifact(fitted, train, models_dir, name, catalog=items, metrics={"ndcg@10": 0.1})


@dataclass
class Shop:
    """The small shop and the models trained on it."""

    root: Path  # MODELS_DIR holding als/, mf/, popularity/
    data: Path  # folder with interactions.csv, ratings.csv, items.csv
    events: pd.DataFrame
    ratings: pd.DataFrame
    items: pd.DataFrame

    def artifact(self, name: str) -> ModelArtifact:
        return load_artifact(self.root / name)


@pytest.fixture(scope="session")
def shop(shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Shop:
    """ALS (implicit events), MF (explicit ratings) and popularity, saved as real artifacts."""
    root = tmp_path_factory.mktemp("models")
    events, ratings, items = read_shop(shop_dir)
    train_and_save(events, items, root, "als", "als", factors=8, iterations=4, num_threads=1)
    train_and_save(ratings, items, root, "mf", "mf", explicit=True, epochs=4, factors=8)
    train_and_save(events, items, root, "popularity", "popularity")
    return Shop(root, shop_dir, events, ratings, items)


def make_client(model_dir: Path, **settings: object) -> TestClient:
    """A TestClient for an app serving ``model_dir`` (use it as a context manager).

    BLAS threads are left alone by default: the limit is process-wide and the session's
    clients outlive the serving tests (the live-server tests run the real default).
    """
    settings.setdefault("blas_threads", None)
    return TestClient(create_app(ServingSettings(model_dir=model_dir, **settings)))


@pytest.fixture(scope="session")
def client(shop: Shop) -> Iterator[TestClient]:
    """The ALS app (read-only tests share it), with an API key configured."""
    with make_client(shop.root / "als", api_key=API_KEY) as c:
        yield c


@pytest.fixture(scope="session")
def mf_client(shop: Shop) -> Iterator[TestClient]:
    """The explicit MF app."""
    with make_client(shop.root / "mf") as c:
        yield c


@pytest.fixture()
def private_models(shop: Shop, tmp_path: Path) -> Path:
    """A copy of the models folder that a test may add versions to."""
    root = tmp_path / "models"
    shutil.copytree(shop.root, root)
    return root


#: A real ``python -m nextbuy.serving`` process on a free port.
LiveServer = ServerProcess


@contextmanager
def serve(model_dir: Path, log: Path, workers: int = 1) -> Iterator[LiveServer]:
    """Run ``python -m nextbuy.serving`` on a free port until the block ends."""
    env = {"NEXTBUY_API_KEY": API_KEY, "NEXTBUY_ACCESS_LOG": "true"}
    with running_server(model_dir, log, env=env, workers=workers, timeout=60) as server:
        yield server


@pytest.fixture()
def live_server(private_models: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """The real server (uvicorn, one worker) serving ``private_models/als``."""
    with serve(private_models / "als", tmp_path / "server.log") as server:
        yield server


def wait_for_job(client: TestClient, job_id: str, timeout: float = 180) -> dict[str, Any]:
    """Poll ``GET /train/{job_id}`` (with the API key) until the job has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/train/{job_id}", headers={"X-API-Key": API_KEY}).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {timeout} s")


def assert_same_ranking(
    a: list[dict[str, Any]], b: list[dict[str, Any]], tol: float = 1e-5
) -> None:
    """``a`` and ``b`` (answer rows with ``item_id`` and ``score``) rank the same items up to
    ties: batched float32 products round differently from a lone row's, so items whose scores
    are within ``tol`` may swap places (or trade the last place)."""
    import numpy as np

    assert len(a) == len(b)
    sa, sb = (np.array([r["score"] for r in rows], dtype=np.float64) for rows in (a, b))
    np.testing.assert_allclose(sa, sb, atol=tol)
    ids_b = [r["item_id"] for r in b]
    for i, row in enumerate(a):
        if row["item_id"] == ids_b[i]:
            continue
        j = ids_b.index(row["item_id"]) if row["item_id"] in ids_b else None
        tied = abs(sa[i] - sb[j]) <= tol if j is not None else abs(sa[i] - sb[-1]) <= tol
        assert tied, f"place {i}: {row['item_id']} is no tie of {ids_b[i]} ({sa[i]} vs {sb[i]})"
