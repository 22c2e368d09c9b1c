"""A synthetic online shop with latent user tastes: events, ratings and a readable catalog.

The generative story, chosen so collaborative models have real structure to find:

* Items belong to categories (Camping, Kitchen, ...) and to one of six brands of their
  category; they carry a price, a name such as "Trailblazer Ultralight 2-Person Tent", a
  latent vector ``q_i`` and a power-law (Zipf-like) popularity rank within their category.
* Users have a preferred category mix (sparse Dirichlet: one to three favourite
  categories), a favourite brand per category with a personal loyalty, a latent vector
  ``p_u`` and a heavy-tailed (log-normal) activity level.
* Each interaction picks a category from the user's mix, stays with the favourite brand
  with probability ``loyalty``, draws a few candidate items by popularity there and keeps
  the one the user likes best (Gumbel-max over ``taste * p_u.q_i``); a small share
  (``explore``) follows global popularity only. What a user touches is therefore driven by
  tastes, not only by popularity.
* Events are views, carts and purchases (about 73/15/11 %; purchases likelier the better
  the match). ``value`` is the event weight of
  :data:`nextbuy.data.sources.DEFAULT_EVENT_WEIGHTS` (view 1, cart 3, purchase 5), so the
  file reads the same with or without its value column. Timestamps span one year from
  2024-01-01 UTC; each user is active from a random first visit on.
* Ratings (integers 1-5, one row per rated pair) exist for every purchased pair and a
  share (``rated_share``) of the other pairs:
  ``round(mu + b_u + b_i + 0.3 p_u.q_i + 0.7 r_u.s_i + 0.3 [favourite brand] + noise)``
  with a 3-dimensional rating taste ``r_u.s_i``, so biased matrix factorization has
  signal beyond the global mean and the biases.

Checked on the defaults (per-user 20 % holdout, NDCG@10): popularity 0.09, EASE 0.21,
ALS (64 factors) 0.14-0.21; ratings RMSE on a random 20 %: global mean 1.05, biases 0.90,
biased MF 0.79. Everything is vectorized (no Python loops over users, items or rows) and
deterministic by seed; 10M interactions for 200k users and 50k items take about 12 s.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pv

from nextbuy.errors import DataError

_START = 1_704_067_200  # 2024-01-01T00:00:00Z
_YEAR = 365 * 86_400
_CHUNK = 262_144  # rows per vectorized block: bounds memory at 10M+ interactions
_EVENTS = ("view", "cart", "purchase")
_EVENT_VALUES = np.array([1.0, 3.0, 5.0])
_N_BRANDS = 6  # brands per category (each category definition lists six)
_RATING_FACTORS = 3  # latent taste dimensions that only show in ratings, not in choices

# name, base price, nouns, adjectives, brands
_CATEGORIES: tuple[tuple[str, float, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "Camping", 70.0,
        ("2-Person Tent", "4-Person Tent", "Sleeping Bag", "Camping Stove", "Headlamp",
         "Trekking Poles", "Camp Chair", "Cooler", "Water Filter", "Hammock", "Backpack 40L",
         "Lantern", "Sleeping Pad", "Dry Bag"),
        ("Ultralight", "Trail", "Summit", "Alpine", "Compact", "Expedition", "Backcountry",
         "All-Season", "Rugged", "Waterproof"),
        ("Trailblazer", "Northpeak", "Ridgeline", "Basecamp", "Wildtrail", "Cedar & Pine"),
    ),
    (
        "Kitchen", 45.0,
        ("Chef's Knife", "Cast Iron Skillet", "Frying Pan", "Stand Mixer", "Blender",
         "Cutting Board", "Espresso Machine", "Dutch Oven", "Kettle", "Knife Block Set",
         "Toaster", "Mixing Bowl Set", "Coffee Grinder", "Measuring Cups"),
        ("Professional", "Classic", "Stainless", "Ceramic", "Artisan", "Everyday", "Compact",
         "Copper", "Heritage", "Nonstick"),
        ("Copperleaf", "HearthHome", "Culina", "Brightstove", "Maison Verte", "IronTable"),
    ),
    (
        "Electronics", 90.0,
        ("Wireless Earbuds", "Bluetooth Speaker", "Smartwatch", "USB-C Charger", "Power Bank",
         "Noise-Cancelling Headphones", "Action Camera", "Mechanical Keyboard",
         "Wireless Mouse", "Tablet Stand", "Smart Plug", "Portable Monitor", "Webcam",
         "E-Reader"),
        ("Pro", "Mini", "Max", "Ultra", "Lite", "Plus", "Air", "Studio", "Go", "Neo"),
        ("Voltix", "Sonora", "Pixelon", "Quantix", "Lumen Labs", "Nexon"),
    ),
    (
        "Books", 18.0,
        ("Cookbook", "Mystery Novel", "Sci-Fi Novel", "Field Guide", "Biography",
         "Travel Guide", "Picture Book", "Poetry Collection", "History of Rome",
         "Self-Help Guide", "Graphic Novel", "World Atlas", "Programming Handbook", "Thriller"),
        ("Illustrated", "Bestselling", "Collected", "Complete", "Annotated", "Pocket",
         "Deluxe", "Hardcover", "Paperback", "Anniversary"),
        ("Inkwell Press", "Harbor Books", "Lantern House", "Blue Owl", "Paperfield",
         "Northstar Publishing"),
    ),
    (
        "Garden", 35.0,
        ("Pruning Shears", "Garden Hose 25m", "Raised Bed Kit", "Watering Can",
         "Seed Starter Kit", "Lawn Mower", "Leaf Blower", "Compost Bin", "Garden Gloves",
         "Planter Pot", "Hedge Trimmer", "Bird Feeder", "Trowel Set", "Solar Path Lights"),
        ("Heavy-Duty", "Ergonomic", "Cordless", "Organic", "Self-Watering", "Weatherproof",
         "Expandable", "Classic", "Terracotta", "Eco"),
        ("GreenThumb", "Bloomfield", "Verdant", "Rootstock", "Meadowlark", "Fern & Stone"),
    ),
    (
        "Toys", 30.0,
        ("Building Blocks Set", "1000-Piece Puzzle", "Plush Bear", "Remote Control Car",
         "Board Game", "Wooden Train Set", "Doll House", "Science Kit", "Kite", "Art Set",
         "Card Game", "Marble Run", "Toy Kitchen", "Mini Drone"),
        ("Deluxe", "Junior", "Classic", "Mega", "Magnetic", "Rainbow", "Adventure", "Starter",
         "Creative", "Family"),
        ("Playwise", "Tinker Tots", "Brightblock", "Funforge", "Little Lark", "Gigglebox"),
    ),
    (
        "Sports", 40.0,
        ("Yoga Mat", "Dumbbell Pair", "Running Shoes", "Tennis Racket", "Football",
         "Basketball", "Resistance Bands", "Jump Rope", "Cycling Helmet", "Foam Roller",
         "Water Bottle", "Gym Bag", "Kettlebell", "Swim Goggles"),
        ("Performance", "Pro", "Training", "Elite", "Grip", "Aero", "Endurance", "Flex",
         "Competition", "Essential"),
        ("Stride", "Apex Athletics", "Pulse", "Kinetic", "Velocity", "Forma"),
    ),
    (
        "Beauty", 22.0,
        ("Face Serum", "Moisturizer", "Lip Balm", "Shampoo", "Conditioner", "Sunscreen SPF 50",
         "Eye Cream", "Body Lotion", "Hair Dryer", "Eau de Parfum", "Cleansing Gel",
         "Nail Polish", "Face Mask", "Hand Cream"),
        ("Hydrating", "Radiance", "Gentle", "Revitalizing", "Botanical", "Daily", "Overnight",
         "Vitamin C", "Sensitive", "Matte"),
        ("Lumière", "Aurelia", "Pure Petal", "Glowwell", "Sorelle", "Dermaclear"),
    ),
    (
        "Fashion", 50.0,
        ("Denim Jacket", "Wool Sweater", "Chino Trousers", "Leather Belt", "Sneakers",
         "Rain Jacket", "Linen Shirt", "Scarf", "Baseball Cap", "Ankle Boots", "Hoodie",
         "T-Shirt", "Summer Dress", "Sunglasses"),
        ("Slim-Fit", "Relaxed", "Vintage", "Organic Cotton", "Merino", "Classic", "Oversized",
         "Tailored", "Everyday", "Recycled"),
        ("Thread & Co", "Northwind", "Loomcraft", "Urban Fable", "Marlow", "Indigo Lane"),
    ),
    (
        "Home", 35.0,
        ("Throw Blanket", "Table Lamp", "Scented Candle", "Cushion Cover", "Wall Clock",
         "Bath Towel Set", "Storage Basket", "Picture Frame", "Duvet Cover", "Area Rug", "Vase",
         "Bookshelf", "Wall Mirror", "Doormat"),
        ("Cozy", "Nordic", "Minimalist", "Boho", "Linen", "Velvet", "Handwoven", "Rustic",
         "Modern", "Stoneware"),
        ("Hearth & Loom", "Casa Nova", "Driftwood", "Still Haus", "Oak & Ember", "Nestwell"),
    ),
    (
        "Pets", 25.0,
        ("Dog Bed", "Cat Scratcher", "Chew Toy", "Leash", "Pet Fountain", "Dog Food 10kg",
         "Cat Litter", "Grooming Brush", "Travel Crate", "Treat Jar", "Feeding Bowl",
         "Cat Tree", "Harness", "Aquarium Filter"),
        ("Orthopedic", "Durable", "Calming", "Reflective", "Grain-Free", "Washable",
         "Automatic", "Adjustable", "Natural", "Deluxe"),
        ("Pawsome", "Tailwag", "Whisker & Co", "Furbright", "Petopia", "Barkley"),
    ),
    (
        "Office", 20.0,
        ("A5 Notebook", "Fountain Pen", "Desk Organizer", "Office Chair", "Standing Desk",
         "Monitor Arm", "Weekly Planner", "Sticky Notes", "Desk Lamp", "Paper Shredder",
         "Whiteboard", "Label Maker", "File Folders", "Stapler"),
        ("Dotted", "Executive", "Compact", "Premium", "Recycled", "Adjustable", "Classic",
         "Magnetic", "Slimline", "Studio"),
        ("Papertrail", "Deskwise", "Inkline", "Officio", "Quillmark", "Worksmith"),
    ),
)  # fmt: skip
_VARIANTS = ("", ", Black", ", White", ", Navy", ", Olive", ", Grey", ", Red", ", Sand", ", Teal")


@dataclass
class Shop:
    """A generated shop: event log, explicit ratings, catalog, and the users' ground truth.

    ``users`` (user_id, favorite_category, category_share) is what the generator knows about
    each user's taste; it is not written by :func:`write_shop` and exists for checks.
    """

    interactions: pd.DataFrame  # user_id, item_id, value, timestamp, event (sorted by time)
    ratings: pd.DataFrame  # user_id, item_id, rating (int 1-5), timestamp; one row per pair
    items: pd.DataFrame  # item_id, name, brand, category, price, in_stock
    users: pd.DataFrame | None = None


def generate_shop(
    n_users: int = 2000,
    n_items: int = 500,
    n_interactions: int = 100_000,
    seed: int = 42,
    n_categories: int = 10,
    factors: int = 8,
    taste: float = 2.0,
    candidates: int = 6,
    explore: float = 0.05,
    rated_share: float = 0.5,
) -> Shop:
    """Generate a shop (see the module docstring for the model); deterministic by ``seed``.

    ``taste`` is how strongly latent affinity decides between ``candidates`` items drawn by
    popularity; ``explore`` is the share of interactions that follow global popularity only;
    ``rated_share`` is the share of non-purchased pairs that also get a rating.
    """
    _check_sizes(n_users, n_items, n_interactions, n_categories, factors, candidates)
    rng = np.random.default_rng(seed)
    n_cat = min(n_categories, n_items)
    nb = _N_BRANDS

    # ---- items, sorted internally by (category, brand): popularity, latent vectors, bias
    cat_share = rng.dirichlet(np.full(n_cat, 8.0))
    item_cat = rng.choice(n_cat, size=n_items, p=cat_share)
    item_cat[:n_cat] = np.arange(n_cat)  # every category has at least one item
    brand_share = rng.dirichlet(np.full(nb, 2.0), size=n_cat)
    item_brand = _inverse_cdf(np.cumsum(brand_share, axis=1)[item_cat], rng.random(n_items))
    order = np.lexsort((item_brand, item_cat))
    item_cat, item_brand = item_cat[order], item_brand[order]
    cat_start = np.searchsorted(item_cat, np.arange(n_cat + 1))
    rank = _shuffle_within(np.arange(n_items) - cat_start[item_cat], item_cat, rng)
    size = np.diff(cat_start)[item_cat]
    # P(rank k) of the power-law sampler (see _power_law_pick): about 1/(k+1.5), Zipf-like
    popularity = np.log((rank + 2.0) / (rank + 1.0)) / np.log(size + 1.0)
    item_f = rng.standard_normal((n_items, factors)).astype(np.float32)
    rf = _RATING_FACTORS
    item_r = rng.standard_normal((n_items, rf)).astype(np.float32)
    item_bias = rng.normal(0.0, 0.45, n_items) + 0.1 * np.log(popularity)

    # ---- users: category mix, favourite brand per category, loyalty, latent vectors
    mix = rng.dirichlet(np.full(n_cat, 0.25), size=n_users)
    mix = 0.92 * mix + 0.08 * cat_share  # everyone browses a little everywhere
    mass = np.bincount(item_cat * nb + item_brand, weights=popularity, minlength=n_cat * nb)
    brand_cum = np.cumsum(mass.reshape(n_cat, nb) / mass.reshape(n_cat, nb).sum(1)[:, None], 1)
    fav_brand = _inverse_cdf(brand_cum[None, :, :], rng.random((n_users, n_cat))).astype(np.int8)
    loyalty = rng.beta(3.0, 2.0, n_users)
    user_f = rng.standard_normal((n_users, factors)).astype(np.float32)
    user_r = rng.standard_normal((n_users, rf)).astype(np.float32)
    user_bias = rng.normal(0.0, 0.5, n_users)
    counts = _activity(n_users, n_interactions, rng)

    # ---- interactions
    users = np.repeat(np.arange(n_users, dtype=np.int32), counts)
    items, affinity = _sample_items(
        users, mix, fav_brand, loyalty, popularity, rank, item_cat, item_brand, user_f,
        item_f, taste, candidates, explore, rng,
    )  # fmt: skip
    events = _sample_events(affinity, rng)
    first_seen = rng.uniform(0.0, 0.8, n_users)
    frac = first_seen[users] + rng.random(len(users)) * (1.0 - first_seen[users])
    offsets = (frac * _YEAR).astype(np.int64)  # seconds since _START, < 2**25
    order = _argsort_unique(offsets, _YEAR)
    users, items, events = users[order], items[order], events[order]
    stamps = _START + offsets[order]

    # ---- ratings: one per rated (user, item) pair
    r_users, r_items, r_stamps = _rated_pairs(
        users, items, events, stamps, n_items, rated_share, rng
    )
    z_sel = np.einsum("nf,nf->n", user_f[r_users], item_f[r_items]) / np.sqrt(factors)
    z_rate = np.einsum("nf,nf->n", user_r[r_users], item_r[r_items]) / np.sqrt(rf)
    loyal = fav_brand[r_users, item_cat[r_items]] == item_brand[r_items]
    raw = user_bias[r_users] + item_bias[r_items] + 0.3 * z_sel + 0.7 * z_rate + 0.3 * loyal
    raw += rng.normal(0.0, 0.45, len(r_users))
    raw += 3.6 - raw.mean() if len(raw) else 0.0  # centre like MovieLens (mean about 3.6)
    ratings = np.clip(np.rint(raw), 1, 5).astype(np.int64)

    # ---- string IDs and frames (pyarrow takes: no Python strings per row)
    user_ids = _id_strings("u", n_users)
    perm = rng.permutation(n_items)  # IDs do not reveal the internal category order
    item_ids = _id_strings("p", n_items).take(pa.array(perm))
    catalog = _catalog(item_ids, item_cat, item_brand, n_cat, rng)
    inter = pd.DataFrame(
        {
            "user_id": _take(user_ids, users),
            "item_id": _take(item_ids, items),
            "value": _EVENT_VALUES[events],
            "timestamp": stamps,
            "event": _take(pa.array(_EVENTS), events),
        }
    )
    rating_frame = pd.DataFrame(
        {
            "user_id": _take(user_ids, r_users),
            "item_id": _take(item_ids, r_items),
            "rating": ratings,
            "timestamp": r_stamps,
        }
    )
    fav = mix.argmax(axis=1)
    user_frame = pd.DataFrame(
        {
            "user_id": _take(user_ids, np.arange(n_users)),
            "favorite_category": pd.Series(_category_names(n_cat)[fav], dtype="str"),
            "category_share": mix[np.arange(n_users), fav],
        }
    )
    catalog = catalog.iloc[np.argsort(perm, kind="stable")].reset_index(drop=True)
    return Shop(interactions=inter, ratings=rating_frame, items=catalog, users=user_frame)


def write_shop(shop: Shop, out: str | Path) -> dict[str, Path]:
    """Write ``interactions.csv``, ``ratings.csv`` and ``items.csv`` under ``out``, atomically.

    Each file is written to a temporary name in ``out`` and renamed into place, so a reader
    never sees half a file. Returns the paths by name.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = {
        "interactions": shop.interactions[["user_id", "item_id", "value", "timestamp", "event"]],
        "ratings": shop.ratings[["user_id", "item_id", "rating", "timestamp"]],
        "items": shop.items,
    }
    paths: dict[str, Path] = {}
    for name, frame in frames.items():
        target = out / f"{name}.csv"
        _write_csv_atomic(frame, target)
        paths[name] = target
    return paths


# --------------------------------------------------------------------------- helpers
def _check_sizes(
    n_users: int, n_items: int, n_interactions: int, n_categories: int, factors: int, cand: int
) -> None:
    checks = {
        "n_users": n_users,
        "n_items": n_items,
        "n_categories": n_categories,
        "factors": factors,
        "candidates": cand,
    }
    for name, value in checks.items():
        if value < 1:
            raise DataError(f"generate_shop: {name} must be at least 1, got {value}")
    if n_interactions < n_users:
        raise DataError(
            f"generate_shop: n_interactions ({n_interactions}) must be at least n_users "
            f"({n_users}): every user interacts at least once"
        )


def _shuffle_within(rank: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Permute ``rank`` inside each group of the (sorted) ``groups`` array."""
    order = np.lexsort((rng.random(len(rank)), groups))
    out = np.empty_like(rank)
    out[order] = rank
    return out


def _activity(n_users: int, n_interactions: int, rng: np.random.Generator) -> np.ndarray:
    """Interactions per user: heavy-tailed (log-normal) shares, summing to ``n_interactions``."""
    floor = int(min(3, n_interactions // n_users))
    weights = rng.lognormal(0.0, 1.0, n_users)
    extra = rng.multinomial(n_interactions - floor * n_users, weights / weights.sum())
    return (extra + floor).astype(np.int64)


def _inverse_cdf(cum: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Index drawn from each row's cumulative distribution ``cum[..., k]`` by uniforms ``r``."""
    k = cum.shape[-1]
    return np.minimum((cum < r[..., None]).sum(axis=-1), k - 1)


def _power_law_pick(start: np.ndarray, size: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Positions ``start + k`` with ``k = floor((size + 1) ** u) - 1``: O(1) power-law draws.

    ``P(k) = ln((k + 2) / (k + 1)) / ln(size + 1)``, about ``1 / (k + 1.5)``: a Zipf law over
    popularity ranks, drawn without a search over cumulative weights.
    """
    k = np.floor(np.exp(u * np.log1p(size))).astype(np.int64) - 1
    return start + np.clip(k, 0, size - 1)


def _sample_items(
    users: np.ndarray,
    mix: np.ndarray,
    fav_brand: np.ndarray,
    loyalty: np.ndarray,
    popularity: np.ndarray,
    rank: np.ndarray,
    item_cat: np.ndarray,
    item_brand: np.ndarray,
    user_f: np.ndarray,
    item_f: np.ndarray,
    taste: float,
    candidates: int,
    explore: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One item per interaction row, and the row's affinity ``p_u.q_i / sqrt(f)``.

    Category from the user's mix; with probability ``loyalty[u]`` the user stays with their
    favourite brand of that category. ``candidates`` items are drawn by popularity rank
    (power law) from the category or brand, and the best by taste plus Gumbel noise wins.
    """
    n_cat = mix.shape[1]
    nb = _N_BRANDS
    group = item_cat.astype(np.int64) * nb + item_brand
    # items by popularity rank inside each category and inside each (category, brand)
    by_cat = np.lexsort((rank, item_cat))
    by_brand = np.lexsort((rank, group))
    cat_start = np.searchsorted(item_cat[by_cat], np.arange(n_cat + 1))
    brand_start = np.searchsorted(group[by_brand], np.arange(n_cat * nb + 1))
    cat_size, brand_size = np.diff(cat_start), np.diff(brand_start)
    cum_mix = np.cumsum(mix, axis=1).astype(np.float32)
    global_cum = np.cumsum(popularity * _share_by_item(mix, item_cat, popularity))
    global_cum /= global_cum[-1]

    scale = np.float32(taste / np.sqrt(user_f.shape[1]))
    n = len(users)
    items = np.empty(n, dtype=np.int32)
    affinity = np.empty(n, dtype=np.float32)
    for lo in range(0, n, _CHUNK):  # fixed-size blocks bound memory; all work inside is vector
        u = users[lo : lo + _CHUNK]
        m = len(u)
        cat = _inverse_cdf(cum_mix[u], rng.random(m, dtype=np.float32))
        g = cat * nb + fav_brand[u, cat]
        loyal = (rng.random(m, dtype=np.float32) < loyalty[u]) & (brand_size[g] > 0)
        start = np.where(loyal, brand_start[g], cat_start[cat])[:, None]
        size = np.where(loyal, brand_size[g], cat_size[cat])[:, None]
        pos = _power_law_pick(start, size, rng.random((m, candidates), dtype=np.float32))
        cand = np.where(loyal[:, None], by_brand[pos], by_cat[pos])
        pu = user_f[u]
        aff = np.einsum("mcf,mf->mc", item_f[cand], pu)
        expo = rng.standard_exponential((m, candidates), dtype=np.float32)
        gumbel = -np.log(expo + np.float32(1e-30))
        chosen = cand[np.arange(m), np.argmax(aff * scale + gumbel, axis=1)]
        wander = rng.random(m, dtype=np.float32) < explore
        if wander.any():
            picks = np.searchsorted(global_cum, rng.random(int(wander.sum())), side="right")
            chosen[wander] = np.minimum(picks, len(popularity) - 1)
        items[lo : lo + m] = chosen
        affinity[lo : lo + m] = np.einsum("mf,mf->m", item_f[chosen], pu)
    affinity /= np.sqrt(user_f.shape[1])
    return items, affinity


def _share_by_item(mix: np.ndarray, item_cat: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Per item: the demand for its category over the per-category popularity mass."""
    demand = mix.mean(axis=0)
    mass = np.bincount(item_cat, weights=popularity, minlength=mix.shape[1])
    return (demand / mass)[item_cat]


def _sample_events(affinity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0 view, 1 cart, 2 purchase; better matches convert more (about 75/15/10 overall)."""
    r = rng.random(len(affinity), dtype=np.float32)
    z = affinity.astype(np.float32)
    p_buy = 1 / (1 + np.exp(np.float32(2.9) - np.float32(0.8) * z))
    p_cart = (1 - p_buy) / (1 + np.exp(np.float32(2.0) - np.float32(0.5) * z))
    events = (r < p_buy + p_cart).astype(np.int8)  # cart
    events[r < p_buy] = 2  # purchase
    return events


def _argsort_unique(keys: np.ndarray, bound: int) -> np.ndarray:
    """Stable argsort of non-negative int64 ``keys < bound``, via one value sort.

    Packing ``key * n + row`` makes every value unique, so the fast (SIMD) unstable sort
    gives the same order as a stable argsort, on every machine.
    """
    n = len(keys)
    if n == 0 or bound.bit_length() + n.bit_length() > 62:
        return np.argsort(keys, kind="stable")
    packed = keys.astype(np.int64) * n + np.arange(n, dtype=np.int64)
    return np.sort(packed) % n


def _rated_pairs(
    users: np.ndarray,
    items: np.ndarray,
    events: np.ndarray,
    stamps: np.ndarray,
    n_items: int,
    rated_share: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (user, item) pairs that get a rating: all purchased ones plus a share of the
    rest, ordered by time; each pair's rating time is its last interaction."""
    key = users.astype(np.int64) * n_items + items
    n_pairs_bound = (int(users.max()) + 1) * n_items if len(users) else 1
    order = _argsort_unique(key, n_pairs_bound)
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    bought = np.maximum.reduceat(events[order] == 2, starts) if len(k) else np.zeros(0, bool)
    last = np.maximum.reduceat(stamps[order], starts) if len(k) else np.zeros(0, np.int64)
    keep = bought | (rng.random(len(starts)) < rated_share)
    pairs, r_last = k[starts][keep], last[keep]
    by_time = _argsort_unique(r_last - _START, _YEAR)
    pairs, r_last = pairs[by_time], r_last[by_time]
    return (pairs // n_items).astype(np.int32), (pairs % n_items).astype(np.int32), r_last


def _id_strings(prefix: str, n: int) -> pa.Array:
    """``prefix`` + zero-padded numbers (at least 5 digits), as an Arrow string array."""
    width = max(5, len(str(max(n - 1, 0))))
    return pa.array(np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width)))


def _take(dictionary: pa.Array, codes: np.ndarray) -> pd.Series:
    """Strings ``dictionary[codes]`` as a pandas ``str`` column, without Python objects."""
    return pd.Series(dictionary.take(pa.array(codes)).to_pandas(), dtype="str")


def _category_names(n_cat: int) -> np.ndarray:
    """Category names; beyond the built-in ones, repeats get a numeric suffix."""
    base = [c[0] for c in _CATEGORIES]
    names = [
        base[c % len(base)] + ("" if c < len(base) else f" {c // len(base) + 1}")
        for c in range(n_cat)
    ]
    return np.array(names, dtype=object)


def _catalog(
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
    n = len(item_cat)
    na, nn, nv = 10, 14, len(_VARIANTS)
    combos = na * nn * nv
    counts = np.bincount(item_cat, minlength=n_cat)
    # one draw per category: a loop over categories, not items
    combo = np.concatenate([rng.choice(combos, size=c, replace=c > combos) for c in counts])
    adj, rest = np.divmod(combo.astype(np.int64), nn * nv)
    noun, variant = np.divmod(rest, nv)
    defs = [_CATEGORIES[c % len(_CATEGORIES)] for c in range(n_cat)]
    brands = np.array([d[4] for d in defs], dtype=object)  # (n_cat, brands)
    adjs = np.array([d[3] for d in defs], dtype=object)
    nouns = np.array([d[2] for d in defs], dtype=object)
    brand_name = brands[item_cat, item_brand]
    name = (
        brand_name + " " + adjs[item_cat, adj] + " " + nouns[item_cat, noun]
        + np.array(_VARIANTS, dtype=object)[variant]
    )  # fmt: skip
    base_price = np.array([d[1] for d in defs])[item_cat]
    premium = np.array([0.85, 0.95, 1.0, 1.1, 1.25, 1.45])[item_brand]
    price = base_price * premium * np.exp(rng.normal(0.0, 0.5, n))
    price = np.maximum(np.round(price) - 0.01, 0.99)
    return pd.DataFrame(
        {
            "item_id": pd.Series(item_ids.to_pandas(), dtype="str"),
            "name": pd.Series(name, dtype="str"),
            "brand": pd.Series(brand_name, dtype="str"),
            "category": pd.Series(_category_names(n_cat)[item_cat], dtype="str"),
            "price": price,
            "in_stock": rng.random(n) < 0.95,
        }
    )


def _write_csv_atomic(frame: pd.DataFrame, target: Path) -> None:
    """Write ``frame`` as CSV to a temporary file next to ``target``, then rename it over."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pv.write_csv(table, tmp, write_options=pv.WriteOptions(quoting_style="needed"))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
