"""Column validation's Arrow fast paths give what the pandas paths give, errors included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nextbuy.data.columns import (
    _numbers_to_seconds,
    blank_text,
    epoch_seconds,
    event_column,
    id_column,
)
from nextbuy.errors import DataError


def test_event_types_are_cleaned_per_distinct_type_like_pandas() -> None:
    raw = pd.Series([" View", "PURCHASE ", "cart", "Ä b", " View", "\u3000click"], dtype="str")
    got = event_column(raw, "f.csv", "event")
    expected = raw.str.strip().str.lower()
    assert got.tolist() == ["view", "purchase", "cart", "ä b", "view", "click"]
    assert got.dtype == "category" and got.astype("str").equals(expected)
    assert got.cat.categories.tolist() == ["cart", "click", "purchase", "view", "ä b"]
    as_objects = event_column(pd.Series(["A", " b"], dtype=object), "f.csv", "event")
    assert as_objects.tolist() == ["a", "b"]


def test_types_equal_after_cleaning_are_one_category() -> None:
    raw = pd.Series(["View", "view ", "CART", "view"], dtype="str")
    got = event_column(raw, "f.csv", "event")
    assert got.cat.categories.tolist() == ["cart", "view"]
    assert got.cat.codes.tolist() == [1, 1, 0, 1]


@pytest.mark.parametrize("blank", ["  ", None, ""])
def test_a_blank_event_names_its_row(blank: str | None) -> None:
    raw = pd.Series(["view", "cart", blank, "view"], dtype=object)
    with pytest.raises(DataError, match="column 'event', data row 3: expected an event type"):
        event_column(raw, "f.csv", "event")


def test_blank_text_matches_stripping_every_string() -> None:
    raw = pd.Series(["a", "", " ", None, "\u3000", " b", "\t\n", "\u00a0"], dtype="str")
    expected = raw.isna().to_numpy() | (raw.str.strip() == "").to_numpy(dtype=bool, na_value=True)
    np.testing.assert_array_equal(blank_text(raw), expected)
    with pytest.raises(DataError, match="column 'user', data row 2: expected a non-empty ID"):
        id_column(pd.Series(["u1", "\u3000", "u3"]), "f.csv", "user")


@pytest.mark.parametrize(
    "values",
    [
        [1_700_000_000, 5, -3, 1_700_000_001],  # seconds: the integer path
        [1_700_000_000_123, 5, 1_700_000_000_999],  # milliseconds: the float path
        [2**60, 1, 2],  # past 2**53: the float path
    ],
)
def test_integer_timestamps_give_what_the_float_path_gives(values: list[int]) -> None:
    series = pd.Series(np.array(values, dtype=np.int64))
    expected = _numbers_to_seconds(series.to_numpy(np.float64), "f", "t", series, "")
    got = epoch_seconds(series, "f", "t")
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_categorical_events_give_what_text_events_give() -> None:
    raw = pd.Series([" View", "PURCHASE ", "cart", " View"], dtype="str")
    got = event_column(raw.astype("category"), "f.parquet", "event")
    expected = event_column(raw, "f.parquet", "event")
    assert got.equals(expected) and got.dtype == expected.dtype
    blank = pd.Series(["view", " ", "cart"], dtype="category")
    with pytest.raises(DataError, match="column 'event', data row 2: expected an event type"):
        event_column(blank, "f.parquet", "event")
