"""Dataset: the canonical interaction frame every reader returns, with its catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from nextbuy.data.interactions import Interactions


@dataclass
class Dataset:
    """A canonical interaction frame plus what is known about it.

    ``frame`` has ``user_id`` (str), ``item_id`` (str), ``value`` (float64), ``timestamp``
    (int64 epoch seconds, 0 if unknown) and optionally ``event`` (a categorical of the
    cleaned event types: codes, not one string per row); raw rows are kept, so
    duplicated pairs are still there (``Interactions.from_frame`` aggregates them).
    ``feedback`` says in one line whether the values are ratings or implicit, and why;
    ``rating_scale`` is the scale the ratings were checked against (None: their own range).
    """

    frame: pd.DataFrame
    explicit: bool
    source: str
    catalog: pd.DataFrame | None = None
    feedback: str = ""
    rating_scale: tuple[float, float] | None = None

    def to_interactions(self, **kw: Any) -> Interactions:
        """Index the frame: ``Interactions.from_frame(frame, explicit=..., source=..., **kw)``."""
        kw.setdefault("rating_scale", self.rating_scale if self.explicit else None)
        return Interactions.from_frame(self.frame, explicit=self.explicit, source=self.source, **kw)

    def __len__(self) -> int:
        return len(self.frame)
