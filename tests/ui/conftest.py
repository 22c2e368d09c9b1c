"""Dashboard fixtures: ALS and MF trained by the real pipeline on the small shop (so their
manifests name a data file that the pages read back), and apps with and without a key."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nextbuy.serving.app import create_app
from nextbuy.serving.settings import ServingSettings

API_KEY = "ui-test-key-0123456789"


@dataclass
class Models:
    """MODELS_DIR with als/ and mf/, and the shop they were trained on."""

    root: Path
    shop: Path


def train_shop_models(shop_dir: Path, root: Path) -> None:
    """ALS on events (per-user split) and MF on ratings (random split), small and quick."""
    from nextbuy.training import train_model

    items = shop_dir / "items.csv"
    als = {"factors": 16, "iterations": 6, "num_threads": 1}
    train_model(shop_dir / "interactions.csv", model="als", out=root, name="als", items=items,
                split="user", params=als)  # fmt: skip
    train_model(shop_dir / "ratings.csv", model="mf", out=root, name="mf", items=items,
                split="random", params={"epochs": 4, "factors": 8})  # fmt: skip


@pytest.fixture(scope="session")
def ui_models(shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Models:
    root = tmp_path_factory.mktemp("ui-models")
    train_shop_models(shop_dir, root)
    return Models(root, shop_dir)


@pytest.fixture()
def models_copy(ui_models: Models, tmp_path: Path) -> Path:
    """A private copy of MODELS_DIR (its own event store and LATEST files)."""
    root = tmp_path / "models"
    shutil.copytree(ui_models.root, root)
    return root


def ui_client(model_dir: Path, **settings: object) -> TestClient:
    """A TestClient (use it as a context manager) for an app serving ``model_dir``."""
    settings.setdefault("blas_threads", None)
    settings.setdefault("access_log", False)
    return TestClient(create_app(ServingSettings(model_dir=model_dir, **settings)))


@pytest.fixture()
def open_client(models_copy: Path) -> Iterator[TestClient]:
    """ALS with no API key: pages open, writes off."""
    with ui_client(models_copy / "als") as client:
        yield client


@pytest.fixture()
def keyed_client(models_copy: Path, shop_dir: Path) -> Iterator[TestClient]:
    """ALS with an API key: pages need a login; the shop's folder is its data folder."""
    with ui_client(models_copy / "als", api_key=API_KEY, data_dir=shop_dir) as client:
        yield client


def log_in(client: TestClient, key: str = API_KEY) -> str:
    """Log ``client`` in through the form; returns the page's CSRF token."""
    response = client.post(
        "/ui/login", data={"api_key": key, "next": "/ui"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    page = client.get("/ui/training")
    marker = 'name="csrf_token" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]
