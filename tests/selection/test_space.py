"""The search's neighbours: axes left at a density rule (``auto``) are searched too."""

from __future__ import annotations

import pytest

from nextbuy.models.defaults import DataShape, resolve
from nextbuy.selection import space

#: MovieLens-100K-like shape (943 users, 1,682 items, 80,000 pairs).
SHAPE = DataShape(943, 1682, 80_000, 84.8, 47.6, False, 0.69, 1.0)


@pytest.mark.parametrize(
    ("family", "axis"),
    [("ease", "regularization"), ("als", "regularization"), ("rp3beta", "beta"),
     ("itemknn", "neighbors"), ("userease", "regularization")],
)  # fmt: skip
def test_auto_axes_step_from_their_rule_and_keep_the_other_rules(family: str, axis: str) -> None:
    params = space.family_defaults(family)
    assert params[axis] == "auto"
    moves = dict(space.neighbours(family, params, 0, shape=SHAPE))[axis]
    rule_value = resolve(family, params, SHAPE)[axis]
    values = sorted(m[axis] for m in moves)
    assert len(values) == 2 and values[0] < rule_value < values[1]
    for move in moves:  # every other axis still follows its rule at refit
        others = {k: v for k, v in move.items() if k != axis}
        assert others == {k: v for k, v in params.items() if k != axis}


def test_without_a_shape_auto_axes_are_left_alone() -> None:
    params = space.family_defaults("ease")
    assert "regularization" not in dict(space.neighbours("ease", params, 0))
    assert "regularization" in dict(space.neighbours("ease", params, 0, shape=SHAPE))


def test_a_choice_at_auto_moves_only_to_the_choice_its_rule_did_not_make() -> None:
    params = space.family_defaults("als")
    rule = resolve("als", params, SHAPE)["weighting"]
    moves = dict(space.neighbours("als", params, 0, shape=SHAPE))["weighting"]
    assert [m["weighting"] for m in moves] == [c for c in ("linear", "log") if c != rule]
