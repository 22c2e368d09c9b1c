"""The fallback list for unknown users: trending (time-decayed) popularity on timed data.

A model saved from data with timestamps carries each item's trending score (decayed counts,
:class:`~nextbuy.models.trending.Trending`), so serving answers shoppers it does not know
(and ``/popular``) with what sells now rather than the all-time bestsellers. ``--model
auto`` chooses the half-life on validation (its ``trending`` trials); otherwise it is the
trending model's default. Data without timestamps keeps the plain training counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ArtifactError
from nextbuy.selection.validation import has_timestamps

#: The artifact file holding the scores (float32, one per trained item).
FILE = "fallback_trending.npy"


@dataclass(frozen=True)
class Fallback:
    """Trending scores per trained item and how their half-life was chosen."""

    scores: np.ndarray  # float32 decayed users per item
    half_life_days: float
    chosen_on: str  # "validation" (--model auto's trending trials) or "default"

    def manifest(self) -> dict[str, Any]:
        """The manifest's ``fallback`` entry."""
        return {
            "kind": "trending",
            "file": FILE,
            "half_life_days": self.half_life_days,
            "chosen_on": self.chosen_on,
        }

    def save(self, folder: Path) -> None:
        np.save(folder / FILE, np.asarray(self.scores, dtype=np.float32), allow_pickle=False)


def trending_fallback(
    train: Interactions, selection: dict[str, Any] | None = None
) -> Fallback | None:
    """Trending scores of ``train``'s items, or None when it has no timestamps.

    ``selection`` (``--model auto``'s manifest entry) supplies the half-life of the best
    ``trending`` trial on validation; without one the trending model's default is used.
    """
    if not has_timestamps(train):  # the rule --model auto uses for trending too
        return None
    from nextbuy.models.trending import Trending, TrendingConfig

    chosen = validated_half_life(selection)
    half_life = chosen if chosen is not None else float(TrendingConfig().half_life_days)
    model = Trending(half_life_days=half_life).fit(train)
    scores = np.asarray(model.popularity_, dtype=np.float32)
    return Fallback(scores, half_life, "validation" if chosen is not None else "default")


def validated_half_life(selection: dict[str, Any] | None) -> float | None:
    """The half-life of the best completed ``trending`` trial in a selection, or None."""
    if not selection:
        return None
    for row in selection.get("leaderboard", []):  # best first
        if row.get("family") == "trending" and row.get("status") == "complete":
            value = (row.get("params") or {}).get("half_life_days")
            if isinstance(value, int | float) and value > 0:
                return float(value)
    return None


def load_scores(folder: Path, manifest: dict[str, Any], n_items: int) -> np.ndarray | None:
    """The saved trending scores (None when the manifest has no fallback entry)."""
    entry = manifest.get("fallback")
    if not entry:
        return None
    path = folder / str(entry.get("file", FILE))
    try:
        scores = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: cannot read the trending fallback ({exc})") from exc
    if scores.shape != (n_items,) or not np.isfinite(scores).all():
        raise ArtifactError(
            f"{path}: expected {n_items} finite trending scores, found shape {scores.shape}"
        )
    return np.asarray(scores, dtype=np.float32)
