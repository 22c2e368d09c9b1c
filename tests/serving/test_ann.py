"""Approximate retrieval (``--retrieval ann``): recall against exact, filters, cache, fallbacks."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from benchmarks.synthetic_factors import factor_artifact
from nextbuy.ann import INDEX_DIR, INDEX_FILE, META_FILE
from nextbuy.serving import approximate
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.service import RecommendationService
from nextbuy.serving.settings import ServingSettings
from tests.serving.conftest import make_client

N_USERS, N_ITEMS = 300, 6000


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A drawn ALS model: 300 users x 6,000 items, 32 factors, 100 taste clusters."""
    root = tmp_path_factory.mktemp("ann-models")
    factor_artifact(root, "big", N_USERS, N_ITEMS, factors=32, n_clusters=100, seed=3)
    return root / "big"


def service(model_dir: Path, retrieval: str, **settings: object) -> RecommendationService:
    """A read-only service with the model loaded (no cache: every answer is computed).

    ``nprobe`` 12 of 77 lists: the index really is approximate on this small catalog.
    """
    settings.setdefault("ann_nprobe", 12)
    svc = RecommendationService(
        ServingSettings(
            model_dir=model_dir, online=False, cache_size=0, retrieval=retrieval, **settings
        )
    )
    svc.load()
    return svc


def answers(svc: RecommendationService, users: list[str], **options: object) -> list[list[str]]:
    opts = RecommendOptions(**options)
    return [[r["item_id"] for r in svc.recommend(u, opts)["recommendations"]] for u in users]


def recall(approx: list[list[str]], exact: list[list[str]]) -> float:
    return float(
        np.mean([len(set(a) & set(e)) / max(len(e), 1) for a, e in zip(approx, exact, strict=True)])
    )


USERS = [f"u{i:07d}" for i in range(0, N_USERS, 2)]


@pytest.fixture(scope="module")
def exact(synthetic: Path) -> RecommendationService:
    return service(synthetic, "exact")


@pytest.fixture(scope="module")
def ann(synthetic: Path) -> RecommendationService:
    return service(synthetic, "ann")


def test_ann_recall_at_10_against_exact(
    ann: RecommendationService, exact: RecommendationService
) -> None:
    assert ann.snapshot.retriever is not None and exact.snapshot.retriever is None
    snap = ann.snapshot
    direct = approximate.recommend(snap, 0, None, None, RecommendOptions())
    assert direct is not None and len(direct[0]) == 10  # answered by the index itself
    assert snap.retriever.index.nlist > 2 * snap.retriever.index.nprobe  # not a full scan
    found, truth = answers(ann, USERS), answers(exact, USERS)
    assert all(len(a) == 10 for a in found)
    assert recall(found, truth) >= 0.95


def test_scores_are_the_models_and_seen_items_are_left_out(
    ann: RecommendationService, exact: RecommendationService
) -> None:
    snap = ann.snapshot
    for user in USERS[:20]:
        body = ann.recommend(user, RecommendOptions())["recommendations"]
        idx = snap.artifact.user_map.index_of(user)
        seen = set(
            snap.item_ids[snap.seen_indices[snap.seen_indptr[idx] : snap.seen_indptr[idx + 1]]]
        )
        assert not seen & {r["item_id"] for r in body}
        scores = [r["score"] for r in body]
        assert scores == sorted(scores, reverse=True)
        items = snap.artifact.item_map.index([r["item_id"] for r in body])
        expected = snap.model.predict(np.full(len(items), idx), items)
        np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)


def test_category_filter_keeping_5_percent(
    ann: RecommendationService, exact: RecommendationService
) -> None:
    """20 categories: one keeps about 5% of the items (300), searched through the bitmap."""
    cats = ann.snapshot.artifact.catalog["category"]
    assert 0.03 < (cats == "cat07").mean() < 0.08
    # the filtered search must not fall back to exact for this test to mean something
    assert (cats == "cat07").sum() <= approximate.EXACT_MAX_CANDIDATES
    found = answers(ann, USERS, categories=["cat07"])
    truth = answers(exact, USERS, categories=["cat07"])
    in_cat = set(ann.snapshot.artifact.catalog.loc[cats == "cat07", "item_id"])
    assert all(set(a) <= in_cat and len(a) == 10 for a in found)
    assert recall(found, truth) >= 0.95


def test_bitmap_search_with_a_filter(
    synthetic: Path, exact: RecommendationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the exact-candidates shortcut off, the IVF search itself honours the 5% filter."""
    monkeypatch.setattr(approximate, "EXACT_MAX_CANDIDATES", 0)
    svc = service(synthetic, "ann")
    found = answers(svc, USERS, categories=["cat03"], exclude_item_ids=["p0000001"])
    truth = answers(exact, USERS, categories=["cat03"], exclude_item_ids=["p0000001"])
    cats = svc.snapshot.artifact.catalog.set_index("item_id")["category"]
    assert all(len(a) == 10 and set(cats[a]) == {"cat03"} for a in found)
    assert recall(found, truth) >= 0.95


def test_exclusions_and_brand_filter_match_exact(
    ann: RecommendationService, exact: RecommendationService
) -> None:
    """A brand keeps ~60 items: ranked exactly over them, so the answers are identical."""
    first = answers(exact, USERS[:10])
    opts = {"brands": ["brand 5"], "k": 5}
    assert answers(ann, USERS[:10], **opts) == answers(exact, USERS[:10], **opts)
    dropped = answers(ann, USERS[:10], exclude_item_ids=[a[0] for a in first])
    assert all(a[0] not in d for a, d in zip(first, dropped, strict=True))


def test_brand_cap_and_boosts(synthetic: Path) -> None:
    capped = service(synthetic, "ann", max_per_brand=1)
    for items in answers(capped, USERS[:20]):
        brands = capped.snapshot.artifact.catalog.set_index("item_id").loc[items, "brand"]
        assert len(items) == 10 and brands.is_unique
    boosted = service(synthetic, "ann", boosts={"brand": {"brand 3": 2.0}})
    exact = service(synthetic, "exact", boosts={"brand": {"brand 3": 2.0}})
    assert answers(boosted, USERS[:10]) == answers(exact, USERS[:10])  # boosts rank exactly


def test_index_is_cached_checksummed_and_rebuilt_when_corrupted(
    synthetic: Path, caplog: pytest.LogCaptureFixture
) -> None:
    version = ServingSettings(model_dir=synthetic).model_dir
    svc = service(version, "ann")
    folder = svc.snapshot.artifact.path / INDEX_DIR
    assert (folder / INDEX_FILE).is_file() and (folder / META_FILE).is_file()
    assert service(version, "ann").snapshot.retriever.index.loaded_from == "cache"
    data = bytearray((folder / INDEX_FILE).read_bytes())
    data[-100] ^= 0xFF
    (folder / INDEX_FILE).write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="nextbuy.ann"):
        rebuilt = service(version, "ann")
    assert rebuilt.snapshot.retriever.index.loaded_from == "built"
    assert "checksum mismatch" in caplog.text
    assert service(version, "ann").snapshot.retriever.index.loaded_from == "cache"


def test_auto_threshold_and_models_without_factors(
    synthetic: Path, shop: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert service(synthetic, "auto").snapshot.retriever is None  # 6,000 < 200,000 items
    monkeypatch.setattr(approximate, "AUTO_MIN_ITEMS", 5000)
    assert service(synthetic, "auto").snapshot.retriever is not None
    popularity = service(shop.root / "popularity", "ann")  # type: ignore[attr-defined]
    assert popularity.snapshot.retriever is None
    assert popularity.recommend("u0001", RecommendOptions())["recommendations"]


def test_fold_in_users_through_the_api(synthetic: Path, tmp_path: Path) -> None:
    """Events since training: the user is folded in, searched, and the bought item left out."""
    import shutil

    models = tmp_path / "models"
    shutil.copytree(synthetic.parent, models)
    user = "u0000004"
    with make_client(models / "big", retrieval="ann", cache_size=0) as client:
        before = client.get(f"/recommend/{user}", params={"k": 10}).json()["recommendations"]
        bought = [r["item_id"] for r in before[:3]]
        events = [
            {"event_id": f"e{i}", "user_id": user, "item_id": item, "event": "purchase"}
            for i, item in enumerate(bought)
        ]
        assert client.post("/events", json=events).status_code < 300
        after = client.get(f"/recommend/{user}", params={"k": 10}).json()
        stranger = client.post("/events", json=[{**events[0], "event_id": "s", "user_id": "new"}])
        assert stranger.status_code < 300
        newcomer = client.get("/recommend/new", params={"k": 10}).json()
    assert after["strategy"] == "personalized" and len(after["recommendations"]) == 10
    assert not set(bought) & {r["item_id"] for r in after["recommendations"]}
    assert newcomer["strategy"] == "personalized" and len(newcomer["recommendations"]) == 10


def test_serve_takes_retrieval_and_refuses_other_values(synthetic: Path) -> None:
    from tests.conftest import run_cli

    assert "--retrieval" in run_cli("serve", "--help").stdout
    bad = run_cli("serve", "--model-dir", str(synthetic), "--retrieval", "fast", check=False)
    assert bad.returncode == 2 and "fast" in bad.stderr
