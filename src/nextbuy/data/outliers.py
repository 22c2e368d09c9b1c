"""Stored event values checked before training: what a bad writer left in the event store
must not turn into NaN factors (1e308 x a weight overflows) or scores in the hundreds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nextbuy.errors import DataError

#: Largest implicit value (quantity or strength) trained on as is; larger ones are clipped.
MAX_IMPLICIT_VALUE = 1000.0
#: Row IDs named in one message.
_SHOWN = 5


def _rows(ids: np.ndarray) -> str:
    shown = ", ".join(str(i) for i in ids[:_SHOWN])
    more = f" and {len(ids) - _SHOWN:,} more" if len(ids) > _SHOWN else ""
    return f"{shown}{more}"


def bound_values(
    frame: pd.DataFrame,
    row_ids: np.ndarray,
    *,
    explicit: bool,
    source: str,
    max_value: float = MAX_IMPLICIT_VALUE,
    scale: tuple[float, float] | None = None,
) -> tuple[pd.DataFrame, str]:
    """``frame`` with implicit values clipped to ``max_value``, and a note naming the rows.

    Non-finite values, implicit values <= 0 and ratings outside ``scale`` (default
    +-``max_value``) are refused with a
    DataError naming the rows (``row_ids``: the store's ``id`` of each row), so that a retrain
    fails with one line saying what to delete instead of producing NaN factors.
    """
    values = frame["value"].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if explicit:  # without a configured scale, the bound of implicit values either way
        low, high = scale if scale is not None else (-max_value, max_value)
        bad |= (values < low) | (values > high)
        what = f"ratings that are not finite or outside {low:g} to {high:g}"
    else:
        bad |= values <= 0
        what = "values that are not finite and positive"
    if bad.any():
        raise DataError(
            f"{source}: {int(bad.sum()):,} {what} (event store ids {_rows(row_ids[bad])}); "
            "delete those rows or fix their value, then train again"
        )
    if explicit:
        return frame, ""
    over = values > max_value
    if not over.any():
        return frame, ""
    frame = frame.copy()
    frame["value"] = np.minimum(values, max_value)
    note = (
        f"clipped {int(over.sum()):,} stored values above {max_value:g} to {max_value:g} "
        f"(event store ids {_rows(row_ids[over])})"
    )
    return frame, note
