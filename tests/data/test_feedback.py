"""Explicit ratings or implicit feedback: the decision, its reason, the scale, positives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nextbuy.data.columns import ColumnMap
from nextbuy.data.feedback import choose_value, looks_like_ratings, parse_scale, positives
from nextbuy.data.sources import read_interactions
from nextbuy.errors import DataError

REVIEWS = "reviewer,asin,overall\nA1,B1,5\nA1,B2,1\nA2,B1,4\nA2,B3,2\nA3,B2,3\n"


@pytest.mark.parametrize(
    ("value", "explicit", "found", "expected"),
    [
        ("overall", True, ["overall"], ("overall", True)),
        ("overall", None, ["overall"], ("overall", False)),
        ("rating", None, ["rating"], ("rating", True)),
        (None, None, ["rating", "value"], ("rating", True)),
        (None, False, ["rating"], ("rating", False)),
        (None, True, ["value"], ("value", True)),
        (None, None, ["value", "event"], ("value", False)),
        (None, None, ["event"], (None, False)),
        (None, None, [], (None, False)),
    ],
)
def test_choose_value(value, explicit, found, expected) -> None:
    choice = choose_value(value, explicit, found, "event" if "event" in found else None)
    assert (choice.column, choice.explicit) == expected
    assert choice.reason


def test_explicit_without_a_value_column_is_an_error() -> None:
    with pytest.raises(DataError, match="explicit ratings need a value column: name it with"):
        choose_value(None, True, ["user_id", "item_id"], None, "f.csv")


def test_rating_column_under_another_name(write) -> None:
    path = write("r.csv", REVIEWS)
    cols = ColumnMap(user="reviewer", item="asin", value="overall", explicit=True)
    ds = read_interactions(path, columns=cols)
    assert ds.explicit
    assert ds.feedback.startswith("explicit ratings 1-5 from column 'overall'")
    implicit = read_interactions(path, columns=ColumnMap("reviewer", "asin", "overall"))
    assert not implicit.explicit
    assert "--rating-col overall reads them as ratings" in implicit.feedback


def test_rating_scale_checks_values_and_clips_the_range(write) -> None:
    path = write("r.csv", REVIEWS)
    cols = ColumnMap(user="reviewer", item="asin", value="overall", explicit=True, scale=(1, 10))
    ds = read_interactions(path, columns=cols)
    assert ds.to_interactions().rating_range == (1, 10)  # the data alone says 1-5
    assert "explicit ratings 1-10" in ds.feedback and "scale given" in ds.feedback
    narrow = ColumnMap(user="reviewer", item="asin", value="overall", explicit=True, scale=(2, 5))
    with pytest.raises(DataError, match="data row 2: expected a rating from 2 to 5, got '1'"):
        read_interactions(path, columns=narrow)


@pytest.mark.parametrize(
    ("text", "scale"),
    [("1-5", (1.0, 5.0)), ("0.5-5", (0.5, 5.0)), ("1..10", (1.0, 10.0)), ([0, 100], (0.0, 100.0))],
)
def test_parse_scale(text, scale) -> None:
    assert parse_scale(text) == scale


@pytest.mark.parametrize("text", ["5-1", "abc", "1-", "3-3"])
def test_bad_scales(text) -> None:
    with pytest.raises(DataError, match="rating scale"):
        parse_scale(text)


def test_positives_keep_ratings_at_or_above_the_threshold() -> None:
    frame = pd.DataFrame({"user_id": list("aabb"), "item_id": list("xyxy"), "value": [5, 3, 4, 1]})
    out = positives(frame, 4)
    assert out[["user_id", "item_id"]].values.tolist() == [["a", "x"], ["b", "x"]]
    assert out["value"].tolist() == [1.0, 1.0]


def test_looks_like_ratings() -> None:
    assert looks_like_ratings(np.array([1, 2, 3, 4, 5.0]))  # a full 1-5 scale, any name
    assert looks_like_ratings(np.array([1, 2, 4, 5.0]), "overall")  # a rating-like name
    assert not looks_like_ratings(np.array([1, 2, 4.0]), "qty")  # small quantities
    assert not looks_like_ratings(np.array([1.0, 1.0]), "stars")  # one level: a count
    assert not looks_like_ratings(np.array([0.5, 17.25, 3.0]), "score")
    assert not looks_like_ratings(np.arange(40.0), "rating")


def test_event_weights_are_named_in_the_feedback_line(write) -> None:
    """Retailrocket's events (view, addtocart, transaction) are all known types."""
    path = write(
        "events.csv",
        "visitorid,itemid,event\n1,10,view\n1,11,addtocart\n2,10,transaction\n3,12,wishlist_add\n",
    )
    ds = read_interactions(path, columns=ColumnMap(user="visitorid", item="itemid"))
    assert ds.frame["value"].tolist() == [1.0, 3.0, 5.0, 1.0]
    assert "event weights of column 'event': " in ds.feedback
    assert "addtocart 3" in ds.feedback and "transaction 5" in ds.feedback
    assert "unknown types weigh 1: wishlist_add (--event-weights" in ds.feedback
