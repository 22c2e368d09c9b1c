"""What the live catalog adds to a model snapshot: the shop's rules and the catalog layer.

Both are immutable data; :mod:`nextbuy.serving.catalog` builds them, :mod:`~.ranking` reads
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nextbuy.serving.filters import match_key

if TYPE_CHECKING:
    from nextbuy.coldstart import AttributeRidge
    from nextbuy.serving.settings import ServingSettings


@dataclass(frozen=True)
class Rules:
    """Shop-wide business rules from the settings, in the form the masks need.

    ``boosts`` maps a catalog column (``brand`` or ``category``) to values and weights, in
    standard deviations of the user's scores: ``{"brand": {"Northpeak": 0.5}}`` lifts
    Northpeak half a standard deviation; negative weights bury.
    """

    exclude_purchased: bool = True
    repurchasable_categories: frozenset[str] = frozenset()
    max_per_brand: int | None = None
    boosts: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: ServingSettings) -> Rules:
        return cls(
            exclude_purchased=settings.exclude_purchased,
            repurchasable_categories=frozenset(
                match_key(c) for c in settings.repurchasable_categories
            ),
            max_per_brand=settings.max_per_brand,
            boosts={col: dict(values) for col, values in settings.boosts.items()},
        )


@dataclass(frozen=True, eq=False)
class LiveCatalog:
    """Everything catalog changes and new items add to a model snapshot; immutable.

    Masks and orders have one entry per item (trained, then new); ``blocked`` items are never
    recommended, ``blocked_stock`` adds the out-of-stock ones (left out unless asked for).
    """

    version: int
    n_trained: int
    rules: Rules
    base_info: list[dict[str, Any]]  # the artifact's catalog fields of the trained items
    new_ids: tuple[str, ...]
    new_index: dict[str, int]  # new item ID -> its index (n_trained + position)
    new_weights: np.ndarray | None  # (n_new, n_trained) float32 affine weights, None: no new
    new_unit: np.ndarray | None  # (n_new, f) unit vectors of new items (vector models only)
    scorable: np.ndarray  # bool per new item: it has a weight row
    hidden: np.ndarray  # bool per item: hidden or deleted
    deleted: np.ndarray  # bool per item
    blocked: np.ndarray  # int32: hidden, deleted, or a new item that cannot be scored
    blocked_stock: np.ndarray  # int32: ``blocked`` plus out of stock
    popular_default: np.ndarray  # popular order without ``blocked_stock``
    popular_any_stock: np.ndarray  # popular order without ``blocked``
    repurchasable: np.ndarray | None  # bool per item, None when no category is repurchasable
    boost: np.ndarray | None  # float32 per item, None when no boost applies
    stored: dict[str, dict[str, Any]]  # the store's row of every item it holds
    attributes: AttributeRidge | None  # the new-item model (None: new items cannot be scored)
    weights_buffer: np.ndarray | None = None  # rows beyond n_new are free (never read)

    @property
    def n_new(self) -> int:
        return len(self.new_ids)

    def blocked_for(self, any_stock: bool) -> np.ndarray:
        """Items never to answer: ``blocked``, plus the out-of-stock ones unless ``any_stock``."""
        return self.blocked if any_stock else self.blocked_stock
