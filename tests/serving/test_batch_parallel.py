"""Batch scoring on every core: the same answers as one thread and as single requests."""

from __future__ import annotations

import numpy as np
import pytest

from nextbuy.parallel import map_chunks
from nextbuy.serving import recommending
from nextbuy.serving.options import RecommendOptions
from tests.serving.conftest import Shop


def test_map_chunks_covers_every_row_once() -> None:
    seen = np.zeros(1000, dtype=np.int64)

    def work(start: int, stop: int) -> None:
        seen[start:stop] += 1

    map_chunks(work, 1000, 37, workers=4)
    assert (seen == 1).all()


def test_batch_threads_match_one_thread_and_single_requests(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nextbuy.serving.service import RecommendationService
    from nextbuy.serving.settings import ServingSettings

    svc = RecommendationService(ServingSettings(model_dir=shop.root / "als", online=False))
    svc.load()
    snap = svc.snapshot
    users = [*snap.artifact.user_map.ids[:300].tolist(), "nobody"]
    opts = RecommendOptions(k=7)
    monkeypatch.setattr(recommending, "BATCH_CHUNK", 16)  # many chunks over the threads
    one = recommending.batch_arrays(snap, users, opts, workers=1)
    many = recommending.batch_arrays(snap, users, opts, workers=4)
    np.testing.assert_array_equal(one.ids, many.ids)
    np.testing.assert_array_equal(one.scores, many.scores)
    assert many.personal[:-1].all() and not many.personal[-1]
    for i in (0, 17, 150, 300):
        single = svc.recommend(users[i], opts)["recommendations"]
        ids = [r["item_id"] for r in single]
        assert ids == snap.item_ids[many.ids[i][many.ids[i] >= 0]].tolist()


def test_model_recommend_threads_match_one_thread(shop: Shop) -> None:
    model = shop.artifact("als").model
    users = np.arange(model.n_users_)
    one = model.recommend(users, 10, batch_size=64, workers=1)
    many = model.recommend(users, 10, batch_size=64, workers=3)
    np.testing.assert_array_equal(one[0], many[0])
    np.testing.assert_array_equal(one[1], many[1])


def test_cache_rows_keeps_a_chunk_in_cache_within_bounds() -> None:
    from nextbuy.parallel import CHUNK_SCORES, cache_rows

    assert cache_rows(50_000, 2048) == CHUNK_SCORES // 50_000  # 62 rows of 50,000 scores
    assert cache_rows(100, 2048) == 2048  # capped by the caller's batch size
    assert cache_rows(10_000_000, 2048) == 16  # never thinner than 16 rows
    assert cache_rows(10_000_000, 8) == 8  # unless the caller asks for fewer


def test_row_pairs_match_scipy_rows_nonzero() -> None:
    import scipy.sparse as sp

    from nextbuy.models.common import row_pairs, rows_of

    m = sp.random(50, 30, density=0.2, format="csr", random_state=1, dtype=np.float32)
    m.data[::5] = 0.0  # explicit zeros are not seen items (scipy's nonzero skips them)
    users = np.array([3, -1, 49, 3, 50, 0, 17])  # repeats and unknown users (no entries)
    r, c = row_pairs(m, users)
    er, ec = rows_of(m, users).nonzero()
    assert sorted(zip(r.tolist(), c.tolist(), strict=True)) == sorted(
        zip(er.tolist(), ec.tolist(), strict=True)
    )
    assert len(r) == len(er) > 0


def test_model_recommend_per_user_exclusions_threads_match_one_thread(shop: Shop) -> None:
    import scipy.sparse as sp

    model = shop.artifact("als").model
    users = np.arange(model.n_users_)
    out = sp.random(model.n_users_, model.n_items_, density=0.05, format="csr", random_state=2)
    one = model.recommend(users, 10, batch_size=32, workers=1, exclude=out)
    many = model.recommend(users, 10, batch_size=32, workers=3, exclude=out)
    np.testing.assert_array_equal(one[0], many[0])
    np.testing.assert_array_equal(one[1], many[1])
    r, c = out.nonzero()
    assert len(r) > 0
    picked = set(zip(np.repeat(users, 10).tolist(), one[0].ravel().tolist(), strict=True))
    assert picked.isdisjoint(zip(r.tolist(), c.tolist(), strict=True))


def test_batch_frame_chunks_ahead_and_matches_the_arrays(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``nextbuy batch``'s frame, built while the next chunk scores, holds every chunk's
    answers in order: ranks, items, rounded scores and strategies of the batch arrays."""
    from nextbuy.cli import answers
    from nextbuy.cli.service import open_service

    served = open_service(shop.root / "als")
    ids = served.service.snapshot.artifact.user_map.ids[:50].tolist()
    users = [*ids[:23], "nobody", *ids[23:]]
    item_ids, found = served.recommend_batch_arrays(users, 4)
    monkeypatch.setattr(answers, "BATCH_USERS", 7)  # 8 chunks, the last one short
    frame, n_fallback = answers._batch_frame(served, users, 4)
    assert n_fallback == 1 and len(frame) == int((found.ids >= 0).sum())
    assert frame.dtypes["rank"] == np.int32 and frame.dtypes["score"] == np.float64
    first = frame[frame["user_id"] == users[0]]
    assert first["rank"].tolist() == [1, 2, 3, 4]
    assert first["item_id"].tolist() == item_ids[found.ids[0]].tolist()
    assert first["score"].tolist() == np.round(found.scores[0].astype(np.float64), 6).tolist()
    assert frame["user_id"].drop_duplicates().tolist() == users
    strategies = frame.groupby("user_id", sort=False)["strategy"].first()
    assert (
        strategies["nobody"] == "fallback" and (strategies.drop("nobody") == "personalized").all()
    )
    empty, none = answers._batch_frame(served, [], 4)
    assert empty.empty and none == 0 and list(empty.columns) == answers.BATCH_COLUMNS
    assert empty.dtypes["rank"] == np.int32
