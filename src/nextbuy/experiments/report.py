"""The per-variant report: users, impressions, rates per impression and per user with 95%
intervals, revenue, latency, a z-test against control, the SRM check, and a plain verdict."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nextbuy.experiments.attribution import DEFAULT_WINDOW_S, attribute
from nextbuy.experiments.definition import Experiment
from nextbuy.experiments.stats import SRM_ALPHA, sample_ratio_mismatch, two_proportion_test, wilson

#: Event types counted as each outcome.
OUTCOMES: dict[str, tuple[str, ...]] = {
    "click": ("click", "view"),
    "cart": ("cart", "add_to_cart", "addtocart"),
    "purchase": ("purchase", "buy", "transaction"),
}
METHOD = "two-proportion z-test on users (pooled), 95% Wald interval of the difference"
#: Fewest users per variant before a winner may be declared.
MIN_USERS = 100
ALPHA = 0.05


def build_report(
    experiment: Experiment,
    impressions: pd.DataFrame,
    events: pd.DataFrame,
    prices: Mapping[str, float] | None = None,
    window_s: float = DEFAULT_WINDOW_S,
    purchase_events: Sequence[str] = OUTCOMES["purchase"],
) -> dict[str, Any]:
    """The report of one experiment from its impressions and the events since it started."""
    outcomes = {**OUTCOMES, "purchase": tuple(purchase_events)}
    hits = attribute(impressions, events, window_s) if len(impressions) else events.iloc[:0]
    lists = impressions.drop_duplicates("recommendation_id")
    variants = []
    for v in experiment.variants:
        mine = lists[lists["variant"] == v.name]
        got = hits[hits["variant"] == v.name] if len(hits) else hits
        n_lists, n_users = len(mine), int(mine["user_id"].nunique())
        row: dict[str, Any] = {"variant": v.name, "model": v.model, "users": n_users,
                               "impressions": n_lists}  # fmt: skip
        for outcome, kinds in outcomes.items():
            sel = got[got["event"].isin(kinds)] if len(got) else got
            x_lists = int(sel["recommendation_id"].nunique()) if len(sel) else 0
            x_users = int(sel["user_id"].nunique()) if len(sel) else 0
            row[f"{outcome}_per_impression"] = _rate(x_lists, n_lists)
            row[f"{outcome}_users"] = x_users
            row[f"{outcome}_per_user"] = _rate(x_users, n_users)
        row["revenue"] = _revenue(got, outcomes["purchase"], prices)
        lat = mine["latency_ms"].dropna().to_numpy(dtype=float)
        row["latency_ms_mean"] = float(lat.mean()) if lat.size else None
        row["latency_ms_p95"] = float(np.percentile(lat, 95)) if lat.size else None
        variants.append(row)
    tests = _tests(variants)
    srm_p = sample_ratio_mismatch([r["users"] for r in variants], experiment.weights)
    return {
        "experiment_id": experiment.experiment_id,
        "status": experiment.status(),
        "split": dict(zip([v.name for v in experiment.variants], experiment.weights, strict=True)),
        "attribution_window_s": window_s,
        "attributed_events": {"by_id": int((hits["how"] == "id").sum()) if len(hits) else 0,
                              "by_window": int((hits["how"] == "window").sum())
                              if len(hits) else 0},  # fmt: skip
        "variants": variants,
        "tests": tests,
        "method": METHOD,
        "srm": {"p_value": srm_p, "mismatch": srm_p < SRM_ALPHA, "alpha": SRM_ALPHA,
                "method": "chi-square goodness of fit of users per variant vs the split"},
        "verdict": _verdict(variants, tests, srm_p),
    }  # fmt: skip


def _rate(x: int, n: int) -> dict[str, Any]:
    low, high = wilson(x, n)
    return {"rate": x / n if n else None, "ci95": [_num(low), _num(high)]}


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


def _revenue(
    got: pd.DataFrame, kinds: Sequence[str], prices: Mapping[str, float] | None
) -> float | None:
    if not prices or not len(got):
        return None if not prices else 0.0
    buys = got[got["event"].isin(kinds)]
    price = buys["item_id"].map(prices).astype(float)
    return float((buys["value"].astype(float) * price).sum(skipna=True))


def _tests(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each variant against control (the first), per outcome on users."""
    control, out = variants[0], []
    for v in variants[1:]:
        for outcome in OUTCOMES:
            diff, (low, high), p = two_proportion_test(
                control[f"{outcome}_users"], control["users"], v[f"{outcome}_users"], v["users"]
            )
            out.append({"variant": v["variant"], "against": control["variant"],
                        "outcome": f"{outcome}_per_user", "difference": _num(diff),
                        "ci95": [_num(low), _num(high)], "p_value": _num(p)})  # fmt: skip
    return out


def _verdict(variants: list[dict[str, Any]], tests: list[dict[str, Any]], srm_p: float) -> str:
    """One plain sentence: can a winner be declared yet, and why (not)."""
    if srm_p < SRM_ALPHA:
        return (f"no winner: sample ratio mismatch (p={srm_p:.2g}); the split is broken, "
                "fix the assignment before reading results")  # fmt: skip
    few = [v["variant"] for v in variants if v["users"] < MIN_USERS]
    if few:
        return f"not yet: fewer than {MIN_USERS} users in {', '.join(few)}"
    key = [t for t in tests if t["outcome"] == "purchase_per_user" and t["p_value"] is not None]
    wins = [t for t in key if t["p_value"] < ALPHA]
    if not wins:
        smallest = min((t["p_value"] for t in key), default=1.0)
        return (f"not yet: no variant differs from {variants[0]['variant']} in purchases per "
                f"user at the 5% level (smallest p={smallest:.3f})")  # fmt: skip
    best = max(wins, key=lambda t: t["difference"])
    if best["difference"] > 0:
        return (f"winner: {best['variant']} beats {best['against']} on purchases per user by "
                f"{best['difference']:+.4f} (p={best['p_value']:.3g})")  # fmt: skip
    return (f"winner: {best['against']} (control) beats {best['variant']} on purchases per "
            f"user by {-best['difference']:+.4f} (p={best['p_value']:.3g})")  # fmt: skip


#: A day in milliseconds: daily rates bucket lists by the UTC day they were served.
DAY_MS = 86_400_000


def daily_rates(
    experiment: Experiment,
    impressions: pd.DataFrame,
    events: pd.DataFrame,
    window_s: float = DEFAULT_WINDOW_S,
) -> dict[str, Any]:
    """Per variant and UTC day: the share of lists shown that got a click, with 95% intervals.

    ``{"days": [epoch seconds], "variants": {name: {"rate": [...], "low": [...], "high": [...]}}}``
    (None where a variant showed no list that day): what the dashboard plots over time.
    """
    if impressions.empty:
        return {"days": [], "variants": {}}
    lists = impressions.drop_duplicates("recommendation_id")
    hits = attribute(impressions, events, window_s) if len(events) else events.iloc[:0]
    clicks = hits["event"].isin(OUTCOMES["click"]) if len(hits) else []
    clicked = set(hits.loc[clicks, "recommendation_id"]) if len(hits) else set()
    day = (lists["served_at"].to_numpy(dtype=np.int64) // DAY_MS) * 86_400
    frame = pd.DataFrame(
        {"variant": lists["variant"].to_numpy(), "day": day,
         "clicked": lists["recommendation_id"].isin(clicked).to_numpy()}
    )  # fmt: skip
    counts = frame.groupby(["variant", "day"])["clicked"].agg(["sum", "count"])
    days = sorted(int(d) for d in np.unique(day))
    out: dict[str, dict[str, list[float | None]]] = {}
    for v in experiment.variants:  # a handful of variants x days, not rows
        rows = [counts.loc[(v.name, d)] if (v.name, d) in counts.index else None for d in days]
        rates = [_rate(int(r["sum"]), int(r["count"])) if r is not None else None for r in rows]
        out[v.name] = {
            "rate": [None if r is None else r["rate"] for r in rates],
            "low": [None if r is None else r["ci95"][0] for r in rates],
            "high": [None if r is None else r["ci95"][1] for r in rates],
        }
    return {"days": days, "variants": out}
