"""Answers of the experiment routes (the request body is :class:`Experiment` itself)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from nextbuy.experiments.definition import Variant
from nextbuy.serving.schemas.common import ResponseSchema


def _f(description: str, example: Any) -> Any:
    return Field(description=description, examples=[example])


class ExperimentOut(ResponseSchema):
    """One stored experiment and its status."""

    experiment_id: str = _f("The experiment's ID.", "pop-vs-ease")
    variants: list[Variant] = _f("Its arms; the first is the control.",
                                 [{"name": "control", "model": "@champion"}])  # fmt: skip
    eligible: str = _f("all, or known users only.", "all")
    starts_at: int = _f("Start, epoch milliseconds.", 1764806400000)
    ends_at: int | None = _f("End, epoch milliseconds (null: until stopped).", None)
    salt: str = _f("Salt of the assignment hash.", "9f3b1c2a")
    stopped_at: int | None = _f("When it was stopped (epoch ms).", None)
    created_at: int | None = _f("When it was stored (epoch ms).", 1764806400000)
    status: str = _f("scheduled, running, ended or stopped.", "running")


class ExperimentList(ResponseSchema):
    """Every experiment of the deployment's data set."""

    experiments: list[ExperimentOut] = _f("Oldest first.", [])


class ExperimentReport(ResponseSchema):
    """Per-variant results, the tests against control, the SRM check and the verdict."""

    experiment_id: str = _f("The experiment's ID.", "pop-vs-ease")
    status: str = _f("scheduled, running, ended or stopped.", "running")
    split: dict[str, float] = _f("Traffic share per variant.", {"control": 0.5, "ease": 0.5})
    attribution_window_s: float = _f("Window of attribution without an id.", 86400)
    attributed_events: dict[str, int] = _f("Events attributed by id and by window.",
                                           {"by_id": 120, "by_window": 80})  # fmt: skip
    variants: list[dict[str, Any]] = _f(
        "Per variant: users, impressions, {click,cart,purchase}_per_{impression,user} "
        "(rate, ci95), *_users, revenue, latency_ms_mean, latency_ms_p95.",
        [{"variant": "control", "users": 1000, "impressions": 1200}],
    )
    tests: list[dict[str, Any]] = _f(
        "Each variant against control per outcome: difference, ci95, p_value.",
        [{"variant": "ease", "against": "control", "outcome": "purchase_per_user",
          "difference": 0.02, "ci95": [0.005, 0.035], "p_value": 0.01}],
    )  # fmt: skip
    method: str = _f("The test used.", "two-proportion z-test on users (pooled)")
    srm: dict[str, Any] = _f("Sample-ratio-mismatch check.", {"p_value": 0.6, "mismatch": False})
    verdict: str = _f("Whether a winner can be declared yet, in one sentence.",
                      "not yet: fewer than 100 users in ease")  # fmt: skip
