"""The synthetic shop's catalog: readable product names, brands, categories and prices."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa


@dataclass(frozen=True)
class Vocabulary:
    """Words the catalog is made of (``vocabulary.json``): one entry per built-in category."""

    names: tuple[str, ...]
    prices: tuple[float, ...]  # base price of each category
    nouns: tuple[tuple[str, ...], ...]
    adjectives: tuple[tuple[str, ...], ...]
    brands: tuple[tuple[str, ...], ...]  # six per category, cheapest first
    variants: tuple[str, ...]  # colour suffixes such as ", Black"


@cache
def vocabulary() -> Vocabulary:
    """The built-in vocabulary, read once from the package's ``vocabulary.json``."""
    text = (
        resources.files("nextbuy.data.synthetic")
        .joinpath("vocabulary.json")
        .read_text(encoding="utf-8")
    )
    data = json.loads(text)
    cats = data["categories"]

    def column(key: str) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(c[key]) for c in cats)

    return Vocabulary(
        names=tuple(c["name"] for c in cats),
        prices=tuple(float(c["price"]) for c in cats),
        nouns=column("nouns"),
        adjectives=column("adjectives"),
        brands=column("brands"),
        variants=tuple(data["variants"]),
    )


def category_names(n_cat: int) -> np.ndarray:
    """Category names; beyond the built-in ones, repeats get a numeric suffix."""
    base = vocabulary().names
    names = [
        base[c % len(base)] + ("" if c < len(base) else f" {c // len(base) + 1}")
        for c in range(n_cat)
    ]
    return np.array(names, dtype=object)


def catalog_rows(
    item_ids: pa.Array,
    item_cat: np.ndarray,
    item_brand: np.ndarray,
    n_cat: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Readable catalog rows in internal (category, brand) order.

    Names combine the item's brand with the category's adjectives, nouns and a colour
    variant, drawn without replacement per category where there is room, so names rarely
    repeat. Premium brands (higher brand index) cost more.
    """
    vocab = vocabulary()
    n = len(item_cat)
    na, nn, nv = 10, 14, len(vocab.variants)
    combos = na * nn * nv
    counts = np.bincount(item_cat, minlength=n_cat)
    # one draw per category: a loop over categories, not items
    combo = np.concatenate([rng.choice(combos, size=c, replace=c > combos) for c in counts])
    adj, rest = np.divmod(combo.astype(np.int64), nn * nv)
    noun, variant = np.divmod(rest, nv)
    defs = [c % len(vocab.names) for c in range(n_cat)]  # built-in category of each category
    brands = np.array([vocab.brands[d] for d in defs], dtype=object)  # (n_cat, brands)
    adjs = np.array([vocab.adjectives[d] for d in defs], dtype=object)
    nouns = np.array([vocab.nouns[d] for d in defs], dtype=object)
    brand_name = brands[item_cat, item_brand]
    name = (
        brand_name + " " + adjs[item_cat, adj] + " " + nouns[item_cat, noun]
        + np.array(vocab.variants, dtype=object)[variant]
    )  # fmt: skip
    base_price = np.array([vocab.prices[d] for d in defs])[item_cat]
    premium = np.array([0.85, 0.95, 1.0, 1.1, 1.25, 1.45])[item_brand]
    price = base_price * premium * np.exp(rng.normal(0.0, 0.5, n))
    price = np.maximum(np.round(price) - 0.01, 0.99)
    return pd.DataFrame(
        {
            "item_id": pd.Series(item_ids.to_pandas(), dtype="str"),
            "name": pd.Series(name, dtype="str"),
            "brand": pd.Series(brand_name, dtype="str"),
            "category": pd.Series(category_names(n_cat)[item_cat], dtype="str"),
            "price": price,
            "in_stock": rng.random(n) < 0.95,
        }
    )
