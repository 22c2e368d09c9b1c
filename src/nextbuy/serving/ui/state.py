"""What the dashboard keeps per app: traffic samples and the caches its pages read."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fastapi import Request

from nextbuy.serving.service import RecommendationService
from nextbuy.serving.ui.activity import ActivityCache
from nextbuy.serving.ui.exposure import ExposureCache
from nextbuy.serving.ui.traffic import TrafficWindow


@dataclass
class Lookup:
    """Search arrays of one snapshot: user IDs, and lower-cased item text in popularity order."""

    serial: int
    user_ids: np.ndarray  # str, sorted
    item_order: np.ndarray  # item indices, most popular first
    item_text: np.ndarray  # str: "id name brand category", lower-case, in item_order
    item_index: pd.Index  # item ID -> index in the snapshot's item arrays
    images: dict[str, str]


@dataclass
class UiState:
    """Caches of the dashboard; every one is keyed by the served snapshot or version."""

    traffic: TrafficWindow
    exposure: ExposureCache
    activity: ActivityCache = field(default_factory=ActivityCache)
    reports: dict[str, Any] = field(default_factory=dict)  # version -> ReportData or reason
    _lookup: Lookup | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def lookup(self, service: RecommendationService) -> Lookup:
        """Search arrays of the served snapshot (built once per snapshot)."""
        snapshot = service.snapshot
        with self._lock:
            if self._lookup is not None and self._lookup.serial == snapshot.serial:
                return self._lookup
            order = snapshot.popular_order
            n_total = snapshot.n_total
            if n_total > len(order):  # new items after the trained ones
                order = np.concatenate([order, np.arange(len(order), n_total, dtype=order.dtype)])
            frame = pd.DataFrame(snapshot.item_info, columns=["name", "brand", "category"])
            text = pd.Series(snapshot.item_ids, dtype="string").fillna("")
            for column in frame.columns:
                text = text + " " + frame[column].astype("string").fillna("")
            text = text.str.lower().to_numpy(dtype=str)[order]
            self._lookup = Lookup(
                snapshot.serial,
                np.sort(np.asarray(snapshot.artifact.user_map.ids, dtype=str)),
                order,
                text,
                pd.Index(np.asarray(snapshot.item_ids, dtype=str)),
                _images(snapshot.artifact.catalog),
            )
            return self._lookup


def _images(catalog: Any) -> dict[str, str]:
    """Item ID -> picture URL, from the catalog's ``image_url`` (or ``image``) column."""
    if catalog is None:
        return {}
    for column in ("image_url", "image", "picture_url"):
        if column in catalog.columns:
            urls = catalog[column].astype("string").fillna("")
            ok = urls.str.match(r"^(https?://|/)").fillna(False).to_numpy(dtype=bool)
            return dict(zip(catalog["item_id"].astype(str)[ok], urls[ok], strict=True))
    return {}


async def get_ui(request: Request) -> UiState:
    """The dashboard's state (set by :func:`nextbuy.serving.ui.mount_ui`)."""
    return request.app.state.ui  # type: ignore[no-any-return]
