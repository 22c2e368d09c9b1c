"""Exact top-k of trained users from the items that can reach it: a norm-ordered prefix.

A factor model's score is a dot product (``DotProductForm``: ``[p_u, b_u + mu, 1]`` against
``[q_i, 1, b_i]``), so no item scores above ``|p_u| x |q_i| + b_u + mu + b_i``. Factor norms
are very skewed (the load benchmark's ALS model, 20,000 items x 64 factors: median 0.09,
largest 7.8), so the :data:`PREFIX_SHARE` of items with the largest norms almost always holds
a user's top k: when the k-th best score among them (after every exclusion and filter) is
above what any item outside could score, no other item can enter and the answer is exact.
Rows that fail the test (and users without a vector) are scored over every item as before.
One product over an eighth of the catalog instead of all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nextbuy.retrieval import topk
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.ranking import excluded_items

#: Catalogs below this many trained items are scored whole (the prefix would save little).
MIN_ITEMS = 8_192
#: Share of the items (largest norms first) scored for every request.
PREFIX_SHARE = 0.125
#: Slack on the bound for float32 rounding of the products (relative to their terms' sizes).
_SLACK = 1e-4


@dataclass(frozen=True, eq=False)
class NormPrefix:
    """The items of largest norm in dot-product form, and the bound on all the others."""

    #: ``DotProductForm.users``: trained users -> (vectors [n, d], fallback [n]). The form's
    #: full item matrix is not kept (only the prefix's rows), so memory grows by an eighth.
    users: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    order: np.ndarray  # int64 trained item indices of the prefix, largest norm first
    position: np.ndarray  # int64 per trained item: its place in the prefix, or len(order)
    vectors: np.ndarray  # [len(order), d] float32, contiguous
    rest_norm: float  # largest factor norm outside the prefix (-1: the prefix is every item)
    rest_bias: tuple[float, float]  # smallest and largest item bias outside the prefix
    top_norm: float  # the largest factor norm of all (the prefix's first item)

    @classmethod
    def build(cls, model: Any, n_items: int) -> NormPrefix | None:
        """The prefix of a factor model's items; None for other models and small catalogs."""
        form_of = getattr(model, "dot_product_form", None)
        if form_of is None or n_items < MIN_ITEMS:
            return None
        form = form_of()
        items = np.asarray(form.items, dtype=np.float32)
        if len(items) != n_items or items.shape[1] < 3 or not (items[:, -2] == 1).all():
            return None  # not the documented layout: no bound to rely on
        norms = np.linalg.norm(items[:, :-2].astype(np.float64), axis=1)
        size = max(1, int(n_items * PREFIX_SHARE))
        ranked = np.argsort(-norms, kind="stable")
        order = ranked[:size].astype(np.int64)
        position = np.full(n_items, size, dtype=np.int64)
        position[order] = np.arange(size)
        rest, bias = -1.0, (0.0, 0.0)  # -1: nothing outside the prefix
        if size < n_items:
            rest = float(norms[ranked[size]])
            tail = items[ranked[size:], -1].astype(np.float64)
            bias = (float(tail.min()), float(tail.max()))
        vectors = np.ascontiguousarray(items[order])
        return cls(form.users, order, position, vectors, rest, bias, float(norms[ranked[0]]))

    def top(
        self,
        snapshot: Any,
        users: np.ndarray,
        excludes: list[np.ndarray],
        options: RecommendOptions,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(ids, scores, exact)`` of trained ``users`` (item indices, -1 / -inf padded) from
        the prefix, ``exact`` marking the rows it answers exactly; None when the options or
        catalog need the whole row (score boosts and brand caps rank over it, new items)."""
        live, k = snapshot.live, options.k
        if live is not None and (
            live.n_new or live.boost is not None or live.rules.max_per_brand is not None
        ):
            return None
        if k > len(self.order):
            return None
        vectors, fallback = self.users(users)
        scores = np.asarray(vectors @ self.vectors.T, dtype=np.float32)
        size = len(self.order)
        lengths = [len(e) for e in excludes]
        if sum(lengths):
            rows = np.repeat(np.arange(len(excludes)), lengths)
            cols = self.position[np.concatenate(excludes)]
            inside = cols < size
            scores[rows[inside], cols[inside]] = -np.inf
        blocked = None if live is None else live.blocked_for(options.any_stock)
        for idx in (excluded_items(snapshot, options), blocked):
            if idx is not None and len(idx):
                cols = self.position[idx[idx < len(self.position)]]
                scores[:, cols[cols < size]] = -np.inf
        filters = snapshot.filters
        allowed = filters.allowed(options.categories, options.brands, options.in_stock_only)
        if allowed is not None:
            scores[:, ~allowed[self.order]] = -np.inf
        at, vals = topk(scores, k, block=len(scores))
        kth = vals[:, -1] if vals.shape[1] == k else np.full(len(users), -np.inf, np.float32)
        exact = ~fallback
        if self.rest_norm >= 0:  # the best any item outside could score, per user
            wide = vectors.astype(np.float64)
            lo, hi = self.rest_bias
            user_norm = np.linalg.norm(wide[:, :-2], axis=1)
            bound = user_norm * self.rest_norm + wide[:, -2]
            bound += np.maximum(wide[:, -1] * lo, wide[:, -1] * hi)
            # rounding grows with the terms' sizes (not the bound's, which they may cancel to
            # ~0): the largest product in the prefix, the user's bias and the items' biases
            scale = user_norm * self.top_norm + np.abs(wide[:, -2]) + max(abs(lo), abs(hi))
            exact &= kth > bound + (scale + 1.0) * _SLACK
        ids = np.where(np.isfinite(vals), self.order[at], -1)
        return ids, vals, exact
