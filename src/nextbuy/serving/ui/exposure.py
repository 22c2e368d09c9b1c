"""Who gets which items: the top 10 of a fixed sample of users, through ``recommend_batch``.

The overview's catalog coverage and the item page's "recommended most to" both read one
:class:`Exposure`, computed through the same service method as ``POST /recommend/batch`` and
kept per served snapshot for a minute (events change users' lists, so it is refreshed).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.service import RecommendationService

#: Users whose lists are computed (evenly spaced over the model's users), and their list size.
SAMPLE_USERS = 2000
K = 10
MAX_AGE_S = 60.0


@dataclass(frozen=True)
class Exposure:
    """The top ``K`` item IDs (``""`` pads short lists) and scores of ``user_ids``."""

    version: str
    user_ids: np.ndarray  # object [n]
    item_ids: np.ndarray  # object [n, K]
    scores: np.ndarray  # float64 [n, K]
    personalized: np.ndarray  # bool [n]
    n_catalog: int  # items that could be recommended (trained and new)
    computed_at: float

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct recommended item IDs and how many sampled users get each, most first."""
        flat = self.item_ids[self.item_ids != ""]
        if not len(flat):
            return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
        ids, counts = np.unique(flat.astype(str), return_counts=True)
        order = np.argsort(-counts, kind="stable")
        return ids[order].astype(object), counts[order]

    @property
    def coverage(self) -> float:
        """Share of the catalog in at least one sampled user's top ``K``."""
        return len(self.counts()[0]) / self.n_catalog if self.n_catalog else 0.0

    def audience(self, item_id: str, n: int = 10) -> list[tuple[str, int, float]]:
        """The sampled users ``item_id`` is recommended to, best rank (then score) first."""
        rows, cols = np.nonzero(self.item_ids == item_id)
        order = np.lexsort((-self.scores[rows, cols], cols))[:n]
        return [
            (str(self.user_ids[r]), int(c) + 1, float(self.scores[r, c]))
            for r, c in zip(rows[order].tolist(), cols[order].tolist(), strict=True)
        ]


def sample_users(user_ids: np.ndarray, n: int = SAMPLE_USERS) -> np.ndarray:
    """``n`` user IDs evenly spaced over the model's users (all of them when fewer)."""
    if len(user_ids) <= n:
        return np.asarray(user_ids, dtype=object)
    return np.asarray(user_ids, dtype=object)[np.linspace(0, len(user_ids) - 1, n).astype(np.int64)]


def compute(service: RecommendationService, users: np.ndarray) -> Exposure:
    """Everyone's top ``K`` in one batch call (the API's own path)."""
    snapshot = service.snapshot
    answer = service.recommend_batch([str(u) for u in users], RecommendOptions(k=K))
    items = np.full((len(users), K), "", dtype=object)
    scores = np.full((len(users), K), -np.inf)
    personal = np.zeros(len(users), dtype=bool)
    for i, result in enumerate(answer["results"]):  # K entries per user: the answer's size
        recs = result["recommendations"][:K]
        items[i, : len(recs)] = [r["item_id"] for r in recs]
        scores[i, : len(recs)] = [r["score"] for r in recs]
        personal[i] = result["strategy"] == "personalized"
    return Exposure(snapshot.version, users, items, scores, personal, snapshot.n_total, time.time())


class ExposureCache:
    """One :class:`Exposure` per served snapshot, recomputed when older than ``MAX_AGE_S``."""

    def __init__(self, service: RecommendationService, max_age_s: float = MAX_AGE_S) -> None:
        self.service = service
        self.max_age_s = max_age_s
        self._value: tuple[int, Exposure] | None = None
        self._lock = threading.Lock()

    def get(self) -> Exposure:
        serial = self.service.snapshot.serial
        with self._lock:
            value = self._value
            if (
                value is None
                or value[0] != serial
                or time.time() - value[1].computed_at > self.max_age_s
            ):
                users = sample_users(self.service.snapshot.artifact.user_map.ids)
                value = (serial, compute(self.service, users))
                self._value = value
            return value[1]
