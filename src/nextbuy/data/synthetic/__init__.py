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
  :data:`nextbuy.data.columns.DEFAULT_EVENT_WEIGHTS` (view 1, cart 3, purchase 5), so the
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

Modules: ``taste`` (the latent model: who picks what, what they rate), ``products`` (catalog
rows from ``vocabulary.json``), ``shop`` (generate_shop, write_shop).
"""

from nextbuy.data.synthetic.shop import Shop, generate_shop, write_shop

__all__ = ["Shop", "generate_shop", "write_shop"]
