"""The norm prefix (serving.pruning): coalesced /recommend answers from the items of largest
norm are the exact answers, and rows the bound cannot vouch for are scored over every item."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from nextbuy.serving import pruning
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.service import RecommendationService
from nextbuy.serving.settings import ServingSettings
from tests.serving.conftest import Shop, assert_same_ranking


def _ids(answer: dict[str, Any]) -> list[str]:
    return [r["item_id"] for r in answer["recommendations"]]


@pytest.fixture()
def service(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> RecommendationService:
    """A fresh service whose small catalog is pruned too (half of the items scored)."""
    monkeypatch.setattr(pruning, "MIN_ITEMS", 0)
    monkeypatch.setattr(pruning, "PREFIX_SHARE", 0.5)
    service = RecommendationService(ServingSettings(model_dir=shop.root / "als"))
    service.load()
    return service


def test_prefix_answers_are_the_exact_ones(service: RecommendationService, shop: Shop):
    prefix = service._coalescer.prefix(service.snapshot)
    assert prefix is not None and 0 < len(prefix.order) < service.snapshot.n_items
    counts = {"exact": 0, "rows": 0}
    real = prefix.top

    def counted(*args: Any) -> Any:
        found = real(*args)
        if found is not None:
            counts["exact"] += int(found[2].sum())
            counts["rows"] += len(found[2])
        return found

    object.__setattr__(prefix, "top", counted)
    users = [str(u) for u in shop.events["user_id"].value_counts().index[:60]]
    excluded = [str(i) for i in shop.events["item_id"].value_counts().index[:3]]
    options = [
        RecommendOptions(k=5),
        RecommendOptions(k=3, categories=["Books"]),
        RecommendOptions(k=8, exclude_seen=False, exclude_item_ids=excluded),
        RecommendOptions(k=4, include_out_of_stock=True),
    ]
    asks = [(u, options[i % len(options)]) for i, u in enumerate(users)]

    async def together() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(service.recommend_async(u, o) for u, o in asks)))

    answers = asyncio.run(together())
    # some rows answered from the prefix, some scored whole: both paths ran
    assert 0 < counts["exact"] < counts["rows"] == len(asks)
    for (user, opts), answer in zip(asks, answers, strict=True):
        truth = service.recommend(user, opts)  # scored over every item
        assert len(_ids(answer)) == opts.k  # the same items, up to float32 ties
        assert_same_ranking(answer["recommendations"], truth["recommendations"])
        assert not set(excluded) & set(_ids(answer)) or not opts.exclude_item_ids


def test_the_bound_holds_for_every_item_outside(service: RecommendationService):
    """No item outside the prefix scores above the bound the exact test compares with."""
    snapshot = service.snapshot
    prefix = service._coalescer.prefix(snapshot)
    assert prefix is not None
    vectors, _ = prefix.users(np.arange(min(200, snapshot.n_users)))
    outside = np.setdiff1d(np.arange(snapshot.n_items), prefix.order)
    scores = vectors @ np.asarray(snapshot.model.dot_product_form().items)[outside].T
    wide = vectors.astype(np.float64)
    lo, hi = prefix.rest_bias
    bound = np.linalg.norm(wide[:, :-2], axis=1) * prefix.rest_norm + wide[:, -2]
    bound += np.maximum(wide[:, -1] * lo, wide[:, -1] * hi)
    assert (scores.max(axis=1) <= bound + 1e-5).all()
    assert (scores.max(axis=1) > bound - 1.0).any()  # and it is not vacuous


def test_small_catalogs_and_models_without_factors_are_scored_whole(shop: Shop):
    service = RecommendationService(ServingSettings(model_dir=shop.root / "als"))
    service.load()  # below MIN_ITEMS
    assert service._coalescer.prefix(service.snapshot) is None
    assert pruning.NormPrefix.build(object(), 10**6) is None


def test_a_reloaded_away_model_and_its_prefix_are_freed(
    service: RecommendationService, shop: Shop
) -> None:
    import gc
    import weakref

    first = service.snapshot
    prefix = service._coalescer.prefix(first)
    assert prefix is not None  # the cell shared by the version's snapshots holds it
    assert service._coalescer.prefix(first) is prefix
    old = weakref.ref(first.model)
    del first, prefix
    for name in ("popularity", "mf", "popularity"):
        service.load(shop.root / name, force=True)
    gc.collect()
    assert old() is None  # nothing (no cache of prefixes) keeps the ALS model alive
