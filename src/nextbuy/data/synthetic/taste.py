"""The synthetic shop's taste model: latent items and users, who picks what, what they rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_BRANDS = 6  # brands per category (each category of the vocabulary lists six)
RATING_FACTORS = 3  # latent taste dimensions that only show in ratings, not in choices
_CHUNK = 262_144  # rows per vectorized block: bounds memory at 10M+ interactions


@dataclass(frozen=True)
class Items:
    """Items in internal (category, brand) order, with what decides who picks and likes them."""

    category_share: np.ndarray  # share of the catalog per category
    category: np.ndarray  # category of each item (sorted)
    brand: np.ndarray  # brand index within the category
    rank: np.ndarray  # popularity rank within the category
    popularity: np.ndarray  # P(rank) of the power-law sampler, Zipf-like
    factors: np.ndarray  # q_i, drives choices and ratings
    rating_factors: np.ndarray  # s_i, shows in ratings only
    bias: np.ndarray  # b_i of the ratings


@dataclass(frozen=True)
class Users:
    """Users' category mix, favourite brands, loyalty, latent vectors and activity."""

    mix: np.ndarray  # (n_users, n_cat) category preferences
    favorite_brand: np.ndarray  # (n_users, n_cat) brand index
    loyalty: np.ndarray  # P(stay with the favourite brand)
    factors: np.ndarray  # p_u
    rating_factors: np.ndarray  # r_u
    bias: np.ndarray  # b_u
    activity: np.ndarray  # interactions per user


def draw_items(n_items: int, n_cat: int, factors: int, rng: np.random.Generator) -> Items:
    """Categories, brands, popularity ranks, latent vectors and rating biases of the items."""
    nb = N_BRANDS
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
    item_r = rng.standard_normal((n_items, RATING_FACTORS)).astype(np.float32)
    item_bias = rng.normal(0.0, 0.45, n_items) + 0.1 * np.log(popularity)
    return Items(cat_share, item_cat, item_brand, rank, popularity, item_f, item_r, item_bias)


def draw_users(
    items: Items, n_users: int, n_interactions: int, factors: int, rng: np.random.Generator
) -> Users:
    """Category mix, favourite brand per category, loyalty, latent vectors and activity."""
    n_cat, nb = len(items.category_share), N_BRANDS
    mix = rng.dirichlet(np.full(n_cat, 0.25), size=n_users)
    mix = 0.92 * mix + 0.08 * items.category_share  # everyone browses a little everywhere
    group = items.category * nb + items.brand
    mass = np.bincount(group, weights=items.popularity, minlength=n_cat * nb)
    brand_cum = np.cumsum(mass.reshape(n_cat, nb) / mass.reshape(n_cat, nb).sum(1)[:, None], 1)
    fav_brand = _inverse_cdf(brand_cum[None, :, :], rng.random((n_users, n_cat))).astype(np.int8)
    loyalty = rng.beta(3.0, 2.0, n_users)
    user_f = rng.standard_normal((n_users, factors)).astype(np.float32)
    user_r = rng.standard_normal((n_users, RATING_FACTORS)).astype(np.float32)
    user_bias = rng.normal(0.0, 0.5, n_users)
    counts = _activity(n_users, n_interactions, rng)
    return Users(mix, fav_brand, loyalty, user_f, user_r, user_bias, counts)


def choose_items(
    users: np.ndarray,
    people: Users,
    items: Items,
    taste: float,
    candidates: int,
    explore: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One item per interaction row of ``users``, and the row's affinity ``p_u.q_i / sqrt(f)``.

    Category from the user's mix; with probability ``loyalty[u]`` the user stays with their
    favourite brand of that category. ``candidates`` items are drawn by popularity rank
    (power law) from the category or brand, and the best by taste plus Gumbel noise wins.
    """
    mix, item_cat, item_f, user_f = people.mix, items.category, items.factors, people.factors
    n_cat = mix.shape[1]
    nb = N_BRANDS
    group = item_cat.astype(np.int64) * nb + items.brand
    # items by popularity rank inside each category and inside each (category, brand)
    by_cat = np.lexsort((items.rank, item_cat))
    by_brand = np.lexsort((items.rank, group))
    cat_start = np.searchsorted(item_cat[by_cat], np.arange(n_cat + 1))
    brand_start = np.searchsorted(group[by_brand], np.arange(n_cat * nb + 1))
    cat_size, brand_size = np.diff(cat_start), np.diff(brand_start)
    cum_mix = np.cumsum(mix, axis=1).astype(np.float32)
    global_cum = np.cumsum(items.popularity * _share_by_item(mix, item_cat, items.popularity))
    global_cum /= global_cum[-1]

    scale = np.float32(taste / np.sqrt(user_f.shape[1]))
    n = len(users)
    chosen_items = np.empty(n, dtype=np.int32)
    affinity = np.empty(n, dtype=np.float32)
    for lo in range(0, n, _CHUNK):  # fixed-size blocks bound memory; all work inside is vector
        u = users[lo : lo + _CHUNK]
        m = len(u)
        cat = _inverse_cdf(cum_mix[u], rng.random(m, dtype=np.float32))
        g = cat * nb + people.favorite_brand[u, cat]
        loyal = (rng.random(m, dtype=np.float32) < people.loyalty[u]) & (brand_size[g] > 0)
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
            chosen[wander] = np.minimum(picks, len(items.popularity) - 1)
        chosen_items[lo : lo + m] = chosen
        affinity[lo : lo + m] = np.einsum("mf,mf->m", item_f[chosen], pu)
    affinity /= np.sqrt(user_f.shape[1])
    return chosen_items, affinity


def sample_events(affinity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0 view, 1 cart, 2 purchase; better matches convert more (about 75/15/10 overall)."""
    r = rng.random(len(affinity), dtype=np.float32)
    z = affinity.astype(np.float32)
    p_buy = 1 / (1 + np.exp(np.float32(2.9) - np.float32(0.8) * z))
    p_cart = (1 - p_buy) / (1 + np.exp(np.float32(2.0) - np.float32(0.5) * z))
    events = (r < p_buy + p_cart).astype(np.int8)  # cart
    events[r < p_buy] = 2  # purchase
    return events


def rate(
    r_users: np.ndarray,
    r_items: np.ndarray,
    people: Users,
    items: Items,
    rng: np.random.Generator,
) -> np.ndarray:
    """Integer ratings 1-5 of (user, item) pairs, centred like MovieLens (mean about 3.6).

    ``mu + b_u + b_i + 0.3 p_u.q_i + 0.7 r_u.s_i + 0.3 [favourite brand] + noise``, rounded.
    """
    factors = people.factors.shape[1]
    sel = np.einsum("nf,nf->n", people.factors[r_users], items.factors[r_items])
    z_sel = sel / np.sqrt(factors)
    tastes = np.einsum("nf,nf->n", people.rating_factors[r_users], items.rating_factors[r_items])
    z_rate = tastes / np.sqrt(RATING_FACTORS)
    fav = people.favorite_brand[r_users, items.category[r_items]]
    loyal = fav == items.brand[r_items]
    raw = people.bias[r_users] + items.bias[r_items] + 0.3 * z_sel + 0.7 * z_rate + 0.3 * loyal
    raw += rng.normal(0.0, 0.45, len(r_users))
    raw += 3.6 - raw.mean() if len(raw) else 0.0  # centre like MovieLens (mean about 3.6)
    return np.clip(np.rint(raw), 1, 5).astype(np.int64)


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


def _share_by_item(mix: np.ndarray, item_cat: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Per item: the demand for its category over the per-category popularity mass."""
    demand = mix.mean(axis=0)
    mass = np.bincount(item_cat, weights=popularity, minlength=mix.shape[1])
    return (demand / mass)[item_cat]
