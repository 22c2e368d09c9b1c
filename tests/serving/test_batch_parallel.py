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
