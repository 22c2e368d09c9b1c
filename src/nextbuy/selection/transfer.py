"""Carry a searched setting from the validation fit part to the refit on all the data.

The search fits on the fit part (about 80% of the training data), so a value it finds for an
axis that a density rule governs suits the fit part's shape, not the whole data's: on a
sparse shop the fit part is noticeably sparser, and the rules move fast there. A searched
value is kept *relative to its rule*: multiplied by ``rule(full) / rule(fit part)`` for scales
(regularization, neighbours, shrinkage, RP3beta's alpha), shifted by ``rule(full) - rule(fit
part)`` for the rules that are a difference (RP3beta's beta, linear in log sparsity, may change
sign). Values the user set, and axes without a rule, are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nextbuy.models.defaults import AUTO, RULES, DataShape, resolve
from nextbuy.selection import space

#: (family, parameter) whose rule is additive: the searched value is shifted, not scaled.
SHIFTED: frozenset[tuple[str, str]] = frozenset({("rp3beta", "beta")})


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def transfer(
    family: str,
    params: Mapping[str, Any],
    defaults: Mapping[str, Any],
    fit_shape: DataShape,
    full_shape: DataShape,
) -> dict[str, Any]:
    """``params`` searched on ``fit_shape`` moved to ``full_shape`` by their rules' ratio.

    Only axes whose default (``defaults``: the family's, the config's over them) is ``auto``
    move; an axis still at ``auto`` resolves at the refit by itself.
    """
    rules = RULES.get(family, {})
    kinds = {axis.name: axis for axis in space.AXES.get(family, ())}
    searched = [
        name
        for name in rules
        if defaults.get(name) == AUTO and _number(params.get(name)) and name in kinds
    ]
    if not searched:
        return dict(params)
    at_fit = resolve(family, {**params, **{n: AUTO for n in searched}}, fit_shape)
    at_full = resolve(family, {**params, **{n: AUTO for n in searched}}, full_shape)
    out = dict(params)
    for name in searched:
        axis, value = kinds[name], float(params[name])
        before, after = float(at_fit[name]), float(at_full[name])
        if (family, name) in SHIFTED:
            moved = value + (after - before)
        elif before > 0 and after > 0:
            moved = value * after / before
        else:
            continue
        # not clipped to the search's range: the rules themselves may leave it (a negative beta)
        out[name] = max(1, int(round(moved))) if axis.integer else float(f"{moved:.4g}")
    return out


def transfer_winner(
    family: str,
    params: Mapping[str, Any],
    defaults: Mapping[str, Mapping[str, Any]],
    fit_shape: DataShape,
    full_shape: DataShape,
) -> dict[str, Any]:
    """:func:`transfer` for a winning family, or for each member of a winning blend."""
    if family != "blend":
        return transfer(family, params, defaults.get(family, {}), fit_shape, full_shape)
    components = {
        member: transfer(member, member_params, defaults.get(member, {}), fit_shape, full_shape)
        for member, member_params in params.get("components", {}).items()
    }
    return {**params, "components": components}


def moved_words(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """``"ease regularization 300 -> 335.2, ..."`` for the values :func:`transfer_winner` moved
    (a blend's members by name); empty when nothing moved."""
    pairs = [("", before, after)]
    if "components" in after:
        pairs = [
            (f"{m} ", before["components"][m], after["components"][m]) for m in after["components"]
        ]
    words = [
        f"{prefix}{k} {b[k]:g} -> {a[k]:g}"
        for prefix, b, a in pairs
        for k in a
        if a[k] != b.get(k) and _number(a[k]) and _number(b.get(k))
    ]
    return ", ".join(words)
