"""An experiment that has shown lists but seen no event yet reports zeros, not an error."""

from __future__ import annotations

import pandas as pd

from nextbuy.experiments.definition import Experiment
from nextbuy.experiments.report import build_report, daily_rates

EXP = Experiment(
    experiment_id="e0",
    variants=[{"name": "a", "model": "@latest"}, {"name": "b", "model": "@latest"}],
)


def test_lists_shown_but_no_events_yet() -> None:
    impressions = pd.DataFrame(
        {
            "recommendation_id": ["r1", "r1", "r2"],
            "variant": ["a", "a", "b"],
            "user_id": ["u1", "u1", "u2"],
            "item_id": ["i1", "i2", "i1"],
            "position": [1, 2, 1],
            "served_at": [86_400_000, 86_400_000, 2 * 86_400_000],
            "latency_ms": [1.0, 1.0, 2.0],
        }
    )
    events = pd.DataFrame(
        {c: pd.Series(dtype=object) for c in
         ("user_id", "item_id", "event", "value", "received_at", "recommendation_id")}
    )  # fmt: skip
    report = build_report(EXP, impressions, events, None, 3600)
    by_name = {v["variant"]: v for v in report["variants"]}
    assert by_name["a"]["impressions"] == 1 and by_name["b"]["users"] == 1
    assert by_name["a"]["click_per_impression"]["rate"] == 0.0
    daily = daily_rates(EXP, impressions, events, 3600)
    assert daily["days"] == [86_400, 2 * 86_400]
    assert daily["variants"]["a"]["rate"] == [0.0, None]  # b showed nothing on day one
    assert daily["variants"]["b"]["rate"] == [None, 0.0]
