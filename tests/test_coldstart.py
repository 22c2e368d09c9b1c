"""New items from attributes: the ridge weights' algebra and their lift over random placement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nextbuy.coldstart import AttributeRidge, ItemFeaturizer, has_attributes


def catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [f"p{i}" for i in range(8)],
            "name": [
                "Red Tent",
                "Blue Tent",
                "Green Tent",
                "Red Kettle",
                "Steel Kettle",
                "Blue Kettle",
                "Tent Pegs",
                "Camping Stove",
            ],
            "brand": ["Trail", "Trail", "Peak", "Home", "Home", "Peak", "Trail", "Peak"],
            "category": ["Camping"] * 3 + ["Kitchen"] * 3 + ["Camping"] * 2,
            "price": [99, 120, 80, 30, 45, 25, 9, 60],
        }
    )


def test_features_are_normalized_and_vocabulary_is_sensible() -> None:
    f = ItemFeaturizer.fit(catalog())
    assert f.categories == ["Camping", "Kitchen"]
    assert "tent" in f.words and "kettle" in f.words and "stove" not in f.words  # 1 item only
    x = f.transform(catalog()).toarray()
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)


def test_weights_equal_explicit_ridge_prediction() -> None:
    cat = catalog()
    ridge = AttributeRidge.fit(cat, alpha=0.5)
    new = pd.DataFrame(
        {
            "item_id": ["n1"],
            "name": ["Yellow Tent"],
            "brand": ["Trail"],
            "category": ["Camping"],
            "price": [110],
        }
    )
    a = ridge.weights(new)
    assert a.shape == (1, 8)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-5)
    # the same prediction written as ridge with an intercept on arbitrary item vectors V
    rng = np.random.default_rng(0)
    v = rng.standard_normal((8, 3))
    x = ridge.featurizer.transform(cat).toarray()
    xn = ridge.featurizer.transform(new).toarray()
    xc = x - x.mean(0)
    w = np.linalg.solve(xc.T @ xc + 0.5 * np.eye(x.shape[1]), xc.T @ (v - v.mean(0)))
    expected = v.mean(0) + (xn - x.mean(0)) @ w
    np.testing.assert_allclose(a @ v, expected, rtol=1e-4, atol=1e-5)
    # a new tent leans on the tents, not the kettles
    assert a[0, :3].sum() > a[0, 3:6].sum()


def test_save_load_round_trip(tmp_path) -> None:
    ridge = AttributeRidge.fit(catalog())
    ridge.save(tmp_path)
    back = AttributeRidge.load(tmp_path)
    new = catalog().iloc[[0, 4]]
    np.testing.assert_allclose(back.weights(new), ridge.weights(new), rtol=1e-6)
    assert has_attributes(catalog()) and not has_attributes(catalog()[["item_id"]])


def test_benchmark_new_items_beat_random_placement() -> None:
    import argparse

    from benchmarks.new_items import run

    rows = run(
        argparse.Namespace(
            users=800,
            items=600,
            interactions=30000,
            holdout=0.1,
            alpha=1.0,
            k=10,
            seed=3,
            models=["als", "ease"],
            json=None,
        )
    )
    for row in rows:
        assert row["recall"] > 2.0 * row["random"], row
