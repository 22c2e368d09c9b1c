"""Explicit ratings or implicit feedback: which a file's values are, why, and ratings as positives.

A value column is read as ratings when it is named as such (``ColumnMap(explicit=True)``, the
CLI's ``--rating-col`` / ``--explicit``) or called ``rating``; anything else is an implicit
strength. :class:`ValueChoice` records the decision and its reason, so ``train`` and
``data describe`` can say in one line how the data was read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nextbuy.errors import DataError

#: The line's first words for each kind of feedback.
EXPLICIT, IMPLICIT = "explicit ratings", "implicit feedback"

_RATING_NAME = re.compile(r"rat|star|score|overall|grade|review|vote|like", re.IGNORECASE)
_SCALE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:-|\.\.|to|,|:)\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class ValueChoice:
    """The column the value comes from (None: events or 1.0), whether it holds ratings, and why.

    ``maybe_ratings``: a named value column nobody said is ratings or not (worth a hint to
    the user when its values look like a rating scale).
    """

    column: str | None
    explicit: bool
    reason: str
    maybe_ratings: bool = False


def choose_value(
    value: str | None,
    explicit: bool | None,
    found: Iterable[str],
    event: str | None,
    source: str = "interactions",
) -> ValueChoice:
    """Pick the value column and its kind from the options and the columns ``found``.

    Order: the named ``value`` column (ratings if ``explicit`` or called ``rating``); a
    ``rating`` column (ratings unless ``explicit`` is False); a ``value`` column (ratings only
    if ``explicit``); the weights of the ``event`` column; else 1.0 per row.
    ``explicit=True`` without any value column is an error: there is nothing to read ratings
    from.
    """
    found = list(found)
    cols = set(found)
    if value is not None:
        if explicit is None:
            if value == "rating":
                return ValueChoice(value, True, "a value column called 'rating' holds ratings")
            return ValueChoice(value, False, "a value column is a strength summed per pair", True)
        if explicit:
            return ValueChoice(value, True, "named as the rating column")
        return ValueChoice(value, False, "named as implicit strengths")
    if "rating" in cols:
        if explicit is False:
            return ValueChoice("rating", False, "the 'rating' column read as strengths")
        return ValueChoice("rating", True, "the file has a 'rating' column")
    if "value" in cols:
        if explicit:
            return ValueChoice("value", True, "the 'value' column read as ratings (--explicit)")
        return ValueChoice("value", False, "a 'value' column is a strength summed per pair")
    if explicit:
        raise DataError(
            f"{source}: explicit ratings need a value column: name it with --rating-col COLUMN "
            f"(or --explicit --value-col COLUMN); found: {', '.join(map(str, found))}"
        )
    if event is not None:
        return ValueChoice(None, False, f"weights of the event types in column {event!r}")
    return ValueChoice(None, False, "every row counts 1 (no rating, value or event column)")


def feedback_line(
    choice: ValueChoice, values: np.ndarray, scale: tuple[float, float] | None
) -> str:
    """One line for users: ``explicit ratings 1-5 from column 'overall': named as ...``.

    A named implicit value column whose values look like a rating scale
    (:func:`looks_like_ratings`) gets a hint that ``--rating-col`` reads them as ratings.
    """
    where = f" from column {choice.column!r}" if choice.column else ""
    if choice.explicit:
        lo, hi = scale if scale is not None else value_range(values)
        how = "given" if scale is not None else "from the data (--rating-scale sets it)"
        return f"{EXPLICIT} {lo:g}-{hi:g}{where}: {choice.reason}; scale {how}"
    line = f"{IMPLICIT}{where}: {choice.reason}"
    if choice.maybe_ratings and looks_like_ratings(values, str(choice.column)):
        lo, hi = value_range(values)
        line += (
            f"; values {lo:g}-{hi:g} look like ratings: --rating-col {choice.column} "
            "reads them as ratings"
        )
    return line


def value_range(values: np.ndarray) -> tuple[float, float]:
    """(min, max) of the values, (0, 0) when there are none."""
    if len(values) == 0:
        return (0.0, 0.0)
    return (float(np.min(values)), float(np.max(values)))


def looks_like_ratings(values: np.ndarray, column: str = "") -> bool:
    """True when a value column looks like a rating scale: whole numbers that fill a usual
    scale (every level of 1-5, 0-5, 1-10 or 0-10), or, under a rating-like name (overall,
    stars, score, ...), any 3 to 11 whole levels in 0..10. Quantities rarely do either."""
    if len(values) == 0:
        return False
    levels = np.unique(values)
    if not (np.all(levels == np.floor(levels)) and 3 <= len(levels) <= 11):
        return False
    lo, hi = float(levels[0]), float(levels[-1])
    if lo < 0 or hi > 10:
        return False
    full_scale = lo in (0.0, 1.0) and hi in (5.0, 10.0) and len(levels) == hi - lo + 1
    return full_scale or bool(_RATING_NAME.search(column))


def parse_scale(text: str | Iterable[float]) -> tuple[float, float]:
    """``"1-5"`` (or ``1..5``, ``0.5-5``, ``[1, 5]``) as ``(low, high)`` with low < high."""
    if isinstance(text, str):
        match = _SCALE.match(text)
        if match is None:
            raise DataError(f"rating scale {text!r}: expected LOW-HIGH, e.g. 1-5 or 0.5-5")
        lo, hi = float(match.group(1)), float(match.group(2))
    else:
        bounds = [float(x) for x in text]
        if len(bounds) != 2:
            raise DataError(f"rating scale {bounds!r}: expected two numbers, low and high")
        lo, hi = bounds
    if not lo < hi:
        raise DataError(f"rating scale {lo:g}-{hi:g}: the low end must be below the high end")
    return (lo, hi)


def positives(frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The rows rated at least ``threshold``, each an implicit positive of value 1.0.

    Ranking models learn from what users liked; a 1-star review is not a vote for the item.
    """
    keep = frame["value"].to_numpy(dtype=np.float64) >= threshold
    out = frame.loc[keep].reset_index(drop=True)
    out["value"] = np.ones(len(out), dtype=np.float64)
    return out
