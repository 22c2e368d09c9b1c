"""Searched values move from the fit part to the refit relative to their density rules."""

from __future__ import annotations

import pytest

from nextbuy.models.defaults import (
    DataShape,
    ease_regularization,
    rp3_alpha,
    rp3_beta,
    sparsity,
)
from nextbuy.selection import space
from nextbuy.selection.transfer import moved_words, transfer, transfer_winner

#: A sparse shop's training data (4 per user) and its validation fit part (80% of each user).
FULL = DataShape(5000, 900, 20_000, 4.0, 22.2, False, 0.69, 1.0)
FIT = DataShape(5000, 900, 16_000, 3.2, 17.8, False, 0.69, 1.0)


def test_a_searched_scale_keeps_its_ratio_to_the_rule() -> None:
    defaults = space.family_defaults("ease")
    moved = transfer("ease", {**defaults, "regularization": 300.0}, defaults, FIT, FULL)
    ratio = ease_regularization(FULL) / ease_regularization(FIT)
    assert ratio == pytest.approx(1.117, abs=0.01)  # sqrt(22.2 / 17.8): items seen more often
    assert moved["regularization"] == pytest.approx(300.0 * ratio, rel=1e-3)
    assert moved["dropout"] == defaults["dropout"]


def test_a_signed_share_is_shifted_by_the_rules_difference() -> None:
    defaults = space.family_defaults("rp3beta")
    moved = transfer("rp3beta", {**defaults, "beta": -0.2}, defaults, FIT, FULL)
    assert rp3_beta(FULL) - rp3_beta(FIT) == pytest.approx(0.078, abs=0.002)  # 0.35 ln 1.25
    assert moved["beta"] == pytest.approx(-0.2 + rp3_beta(FULL) - rp3_beta(FIT), abs=1e-3)
    assert moved["alpha"] == "auto" and moved["neighbors"] == "auto"
    # alpha's rule is a scale (0.95 / sqrt(sparsity)): on MovieLens-like shapes 0.85 -> 0.95
    ml_fit = DataShape(943, 1682, 64_000, 67.8, 38.0, False, 0.69, 1.0)
    ml_full = DataShape(943, 1682, 80_000, 84.8, 47.6, False, 0.69, 1.0)
    scaled = transfer("rp3beta", {**defaults, "alpha": 0.1}, defaults, ml_fit, ml_full)["alpha"]
    assert rp3_alpha(ml_full) / rp3_alpha(ml_fit) == pytest.approx(1.118, abs=0.01)
    assert scaled == pytest.approx(0.1 * 1.118, abs=0.002)


def test_user_set_values_and_axes_without_a_rule_stay() -> None:
    user = {**space.family_defaults("ease"), "regularization": 300.0}
    assert transfer("ease", user, user, FIT, FULL)["regularization"] == 300.0
    ials = {**space.family_defaults("ials"), "unobserved_weight": 0.06}
    assert transfer("ials", ials, space.family_defaults("ials"), FIT, FULL) == ials


def test_a_blend_moves_each_member_and_keeps_its_weights() -> None:
    defaults = {f: space.family_defaults(f) for f in ("itemknn", "ials")}
    knn = {**defaults["itemknn"], "neighbors": 200}
    params = {"components": {"itemknn": knn, "ials": defaults["ials"]},
              "weights": {"itemknn": 1.0, "ials": 2.0}}  # fmt: skip
    moved = transfer_winner("blend", params, defaults, FIT, FULL)
    assert moved["weights"] == params["weights"]
    assert moved["components"]["ials"] == defaults["ials"]
    # neighbours follow 10 x sparsity: 4 per user is sparser by 1.25x less than 3.2
    assert sparsity(FIT) / sparsity(FULL) == pytest.approx(1.25)
    assert moved["components"]["itemknn"]["neighbors"] == 160


def test_what_moved_is_said_in_words() -> None:
    defaults = {"ease": space.family_defaults("ease")}
    params = {**defaults["ease"], "regularization": 300.0}
    moved = transfer_winner("ease", params, defaults, FIT, FULL)
    assert moved_words(params, moved) == f"regularization 300 -> {moved['regularization']:g}"
    assert moved_words(defaults["ease"], defaults["ease"]) == ""
