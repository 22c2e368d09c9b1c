"""Artifacts: round trip, LATEST, checksums, foreign and newer folders, atomic saves."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from nextbuy.artifacts import (
    SCHEMA_VERSION,
    data_fingerprint,
    list_versions,
    load_artifact,
    resolve_version_dir,
    save_artifact,
)
from nextbuy.data.interactions import Interactions
from nextbuy.errors import ArtifactError
from nextbuy.models import registry
from nextbuy.models.base import Recommender, State


@registry.register
class FixedFactors(Recommender):
    """A seeded random-factor model: ``score = U[u] @ V.T + b``; tiny, deterministic."""

    name = "test-fixed-factors"
    defaults: dict[str, Any] = {"factors": 4, "seed": 0}

    def fit(self, train: Interactions, valid: Any = None, show_progress: bool = False) -> Any:
        self._remember(train)
        rng = np.random.default_rng(self.params["seed"])
        f = self.params["factors"]
        self.user_factors_ = rng.standard_normal((train.n_users, f)).astype(np.float32)
        self.item_factors_ = rng.standard_normal((train.n_items, f)).astype(np.float32)
        self.item_bias_ = rng.standard_normal(train.n_items).astype(np.float32)
        self.history_ = {"loss": [1.0, 0.5]}
        return self

    def score(self, users: np.ndarray, user_items: sp.csr_matrix | None = None) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T + self.item_bias_

    def state(self) -> State:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_,
                "item_bias": self.item_bias_}  # fmt: skip

    def set_state(self, state: dict[str, Any]) -> None:
        self.user_factors_ = state["user_factors"]
        self.item_factors_ = state["item_factors"]
        self.item_bias_ = state["item_bias"]


class CrashingSave(FixedFactors):
    """Writes part of its files, then fails: the save must leave nothing behind."""

    def save(self, path: str | Path) -> None:
        super().save(path)
        (Path(path) / "extra.npy").write_bytes(b"partial")
        raise OSError("disk full (simulated)")


@pytest.fixture
def train() -> Interactions:
    rng = np.random.default_rng(1)
    dense = rng.random((30, 12)) < 0.3
    users, items = np.nonzero(dense)
    frame = pd.DataFrame(
        {
            "user_id": [f"{u:03d}" for u in users],  # zero-padded: IDs must stay strings
            "item_id": [f"sku-{i}" for i in items],
            "value": rng.integers(1, 6, len(users)).astype(float),
        }
    )
    return Interactions.from_frame(frame, explicit=True)


@pytest.fixture
def catalog() -> pd.DataFrame:
    # sku-0 is missing from the catalog, sku-99 is not in the data; order is shuffled
    ids = [f"sku-{i}" for i in [5, 99, *range(1, 5), *range(6, 12)]]
    return pd.DataFrame(
        {
            "item_id": ids,
            "name": [f"Product {i}" for i in ids],
            "brand": "Acme",
            "category": "tools",
            "price": np.arange(len(ids), dtype=float) + 0.5,
            "in_stock": True,
            "color": "red",
        }
    )


def _save(model: Recommender, train: Interactions, tmp_path: Path, **kw: Any) -> Path:
    return save_artifact(model, train, tmp_path / "models", "demo", **kw)


def test_round_trip_gives_identical_answers(
    train: Interactions, catalog: pd.DataFrame, tmp_path: Path
) -> None:
    model = FixedFactors(factors=6).fit(train)
    version_dir = _save(
        model,
        train,
        tmp_path,
        catalog=catalog,
        metrics={"ndcg@10": 0.25},
        config={"model": {"name": "x"}},
        data={"source": "shop/interactions.csv"},
    )
    art = load_artifact(tmp_path / "models" / "demo")
    assert art.path == version_dir and art.version == version_dir.name and art.name == "demo"
    users = np.arange(train.n_users)
    ids0, sc0 = model.recommend(users, k=5, exclude=train.csr)
    ids1, sc1 = art.model.recommend(users, k=5, exclude=art.seen)
    assert np.array_equal(ids0, ids1) and np.array_equal(sc0, sc1)
    pairs = (train.users, train.items)
    assert np.array_equal(model.predict(*pairs), art.model.predict(*pairs))
    assert isinstance(art.model.user_factors_, np.memmap)  # served from disk, not copied
    assert (art.seen != train.csr).nnz == 0
    assert art.user_map == train.user_map and art.item_map == train.item_map
    assert art.user_map.ids[0] == "000"

    # catalog aligned to the item index: row i describes item i
    assert art.catalog["item_id"].tolist() == list(train.item_map.ids)
    row5 = art.catalog.iloc[train.item_map.index_of("sku-5")]
    assert row5["name"] == "Product sku-5" and row5["price"] == 0.5 and row5["color"] == "red"
    row0 = art.catalog.iloc[train.item_map.index_of("sku-0")]
    assert row0["name"] == "" and np.isnan(row0["price"])

    m = art.manifest
    assert m["format"] == "nextbuy-model" and m["schema_version"] == SCHEMA_VERSION
    assert m["model"] == "test-fixed-factors" and m["params"] == {"factors": 6, "seed": 0}
    assert m["metrics"] == {"ndcg@10": 0.25} and m["config"] == {"model": {"name": "x"}}
    assert (m["n_users"], m["n_items"]) == train.shape
    assert m["explicit"] is True and m["rating_range"] == [1.0, 5.0]
    assert m["history"] == {"loss": [1.0, 0.5]}
    assert m["data"]["source"] == "shop/interactions.csv" and m["data"]["n_rows"] == len(train)
    assert m["data"]["fingerprint"] == data_fingerprint(train, "shop/interactions.csv")
    assert "numpy" in m["packages"] and "nextbuy" in m["packages"]
    assert set(m["files"]) == {
        "params.json",
        "user_factors.npy",
        "item_factors.npy",
        "item_bias.npy",
        "seen.npz",
        "users.parquet",
        "items.parquet",
    }
    assert m["version"] == version_dir.name
    stamp, digest = version_dir.name.split("-")
    assert len(stamp) == 16 and stamp.endswith("Z") and len(digest) == 8


def test_without_catalog_items_hold_only_ids(train: Interactions, tmp_path: Path) -> None:
    metrics = {"ndcg@10": float("nan"), "recall@10": np.float32(0.5)}
    version_dir = _save(FixedFactors().fit(train), train, tmp_path, metrics=metrics)
    text = (version_dir / "manifest.json").read_text()
    assert json.loads(text, parse_constant=pytest.fail)["metrics"] == {
        "ndcg@10": None,  # strict JSON: NaN becomes null
        "recall@10": 0.5,
    }
    art = load_artifact(version_dir, mmap=False)
    assert list(art.catalog.columns) == ["item_id"]
    assert not isinstance(art.model.item_factors_, np.memmap)


def test_fingerprint_depends_on_data_not_row_order(train: Interactions) -> None:
    shuffled = train.subset(np.random.default_rng(0).permutation(len(train)))
    assert data_fingerprint(shuffled) == data_fingerprint(train)
    assert data_fingerprint(train.subset(np.arange(len(train) - 1))) != data_fingerprint(train)
    assert data_fingerprint(train, "a.csv") != data_fingerprint(train, "b.csv")


def test_latest_follows_newest_and_versions_list(train: Interactions, tmp_path: Path) -> None:
    first = _save(FixedFactors(seed=1).fit(train), train, tmp_path)
    second = _save(FixedFactors(seed=2).fit(train), train, tmp_path)
    third = _save(FixedFactors(seed=2).fit(train), train, tmp_path)  # same content again
    model_dir = tmp_path / "models" / "demo"
    assert (model_dir / "LATEST").read_text().strip() == third.name
    assert resolve_version_dir(model_dir) == third
    assert list_versions(model_dir) == [first.name, second.name, third.name]
    assert load_artifact(model_dir).manifest["params"]["seed"] == 2
    assert load_artifact(first).manifest["params"]["seed"] == 1  # older versions stay loadable
    assert not [p for p in model_dir.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_corrupted_array_names_the_file(train: Interactions, tmp_path: Path) -> None:
    version_dir = _save(FixedFactors().fit(train), train, tmp_path)
    target = version_dir / "item_factors.npy"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the last float
    target.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"item_factors\.npy: checksum mismatch"):
        load_artifact(tmp_path / "models" / "demo")
    load_artifact(version_dir, verify=False)  # the escape hatch still loads it


def test_missing_file_is_named(train: Interactions, tmp_path: Path) -> None:
    version_dir = _save(FixedFactors().fit(train), train, tmp_path)
    (version_dir / "seen.npz").unlink()
    with pytest.raises(ArtifactError, match=r"file seen\.npz is missing"):
        load_artifact(version_dir)


def test_foreign_and_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no such model folder"):
        load_artifact(tmp_path / "nope")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ArtifactError, match="not a NextBuy artifact"):
        load_artifact(foreign)
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"format": "mlflow", "schema_version": 1}))
    with pytest.raises(ArtifactError, match="not a NextBuy artifact.*'mlflow'"):
        load_artifact(other)


def test_newer_schema_is_refused(train: Interactions, tmp_path: Path) -> None:
    version_dir = _save(FixedFactors().fit(train), train, tmp_path)
    manifest_path = version_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["schema_version"] = SCHEMA_VERSION + 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=f"schema {SCHEMA_VERSION + 1}.*upgrade nextbuy"):
        load_artifact(version_dir)


def test_latest_missing_or_dangling(train: Interactions, tmp_path: Path) -> None:
    version_dir = _save(FixedFactors().fit(train), train, tmp_path)
    model_dir = version_dir.parent
    (model_dir / "LATEST").write_text("20000101T000000Z-deadbeef\n")
    with pytest.raises(ArtifactError, match="points to '20000101T000000Z-deadbeef'"):
        load_artifact(model_dir)
    (model_dir / "LATEST").write_text("../../etc\n")
    with pytest.raises(ArtifactError, match="not a version folder"):
        load_artifact(model_dir)
    (model_dir / "LATEST").unlink()
    with pytest.raises(ArtifactError, match=f"LATEST is missing.*{version_dir.name}"):
        load_artifact(model_dir)


def test_failed_save_leaves_no_version_and_latest_unchanged(
    train: Interactions, tmp_path: Path
) -> None:
    good = _save(FixedFactors().fit(train), train, tmp_path)
    model_dir = good.parent
    before = sorted(os.listdir(model_dir))
    with pytest.raises(OSError, match="disk full"):
        _save(CrashingSave().fit(train), train, tmp_path)
    assert sorted(os.listdir(model_dir)) == before  # no version, no .tmp- folder
    assert (model_dir / "LATEST").read_text().strip() == good.name
    assert load_artifact(model_dir).path == good
    # a first save that fails leaves no LATEST either
    with pytest.raises(OSError):
        save_artifact(CrashingSave().fit(train), train, tmp_path / "models", "fresh")
    assert os.listdir(tmp_path / "models" / "fresh") == []


def test_bad_names_and_mismatched_data(train: Interactions, tmp_path: Path) -> None:
    model = FixedFactors().fit(train)
    for name in ["", "a/b", ".hidden", "LATEST", ".."]:
        with pytest.raises(ArtifactError, match="invalid model name"):
            save_artifact(model, train, tmp_path, name)
    smaller = train.subset(train.users < 5)
    other = Interactions.from_frame(smaller.to_frame(), explicit=True)
    with pytest.raises(ArtifactError, match="fitted on 30 x 12"):
        save_artifact(model, other, tmp_path, "demo")


@pytest.mark.parametrize("name", ["popularity", "als"])
def test_real_models_round_trip(name: str, train: Interactions, tmp_path: Path) -> None:
    if importlib.util.find_spec(f"nextbuy.models.{name}") is None:
        pytest.skip(f"nextbuy.models.{name} not written yet")
    params = {"factors": 8, "iterations": 3} if name == "als" else {}
    model = registry.create(name, **params).fit(train)
    save_artifact(model, train, tmp_path, name)
    art = load_artifact(tmp_path / name)
    users = np.arange(train.n_users)
    ids0, sc0 = model.recommend(users, k=5, exclude=train.csr)
    ids1, sc1 = art.model.recommend(users, k=5, exclude=art.seen)
    assert np.array_equal(ids0, ids1)
    np.testing.assert_allclose(sc0, sc1, rtol=1e-6)
    assert type(art.model) is type(model) and art.manifest["model"] == name


def _timed(train: Interactions) -> Interactions:
    """``train`` with distinct timestamps: the newest rows are the last items' (they trend)."""
    stamps = 1_700_000_000 + train.items.astype(np.int64) * 86_400 * 30
    return Interactions(
        user_map=train.user_map,
        item_map=train.item_map,
        users=train.users,
        items=train.items,
        values=train.values,
        timestamps=stamps,
    )


def test_every_saved_artifact_of_timed_data_has_the_trending_fallback(
    train: Interactions, tmp_path: Path
) -> None:
    from nextbuy.fallback import FILE, trending_fallback

    timed = _timed(train)
    model = registry.create("test-fixed-factors").fit(timed)
    art = load_artifact(save_artifact(model, timed, tmp_path / "a", "demo"))
    assert art.manifest["fallback"]["file"] == FILE and FILE in art.manifest["files"]
    expected = trending_fallback(timed)
    assert expected is not None and art.fallback is not None
    np.testing.assert_array_equal(art.fallback, expected.scores)
    assert int(np.argmax(art.fallback)) == timed.n_items - 1  # the newest item trends
    # untimed data, or fallback=None: no file, no manifest entry
    untimed = load_artifact(save_artifact(model.fit(train), train, tmp_path / "b", "demo"))
    assert "fallback" not in untimed.manifest and untimed.fallback is None
    model.fit(timed)
    off = load_artifact(save_artifact(model, timed, tmp_path / "c", "demo", fallback=None))
    assert "fallback" not in off.manifest and FILE not in off.manifest["files"]


def test_spark_artifacts_get_the_trending_fallback_too(train: Interactions, tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    from nextbuy.spark.artifact import save_spark_artifact

    timed = _timed(train)
    model = registry.create("test-fixed-factors").fit(timed)
    art = load_artifact(save_spark_artifact(model, timed, tmp_path, "spark"))
    assert art.manifest["fallback"]["kind"] == "trending" and art.fallback is not None
    assert art.manifest["data"]["engine"] == "spark"
