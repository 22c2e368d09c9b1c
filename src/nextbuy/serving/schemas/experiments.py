"""Answers of the experiment routes (the request body is :class:`Experiment` itself)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from nextbuy.experiments.definition import Variant
from nextbuy.serving.schemas.common import ResponseSchema


class ExperimentOut(ResponseSchema):
    """One stored experiment and its status."""

    experiment_id: str
    variants: list[Variant]
    eligible: str
    starts_at: int = Field(description="Epoch milliseconds.")
    ends_at: int | None
    salt: str
    stopped_at: int | None
    created_at: int | None
    status: str = Field(description="scheduled, running, ended or stopped.")


class ExperimentList(ResponseSchema):
    experiments: list[ExperimentOut]


class ExperimentReport(ResponseSchema):
    """Per-variant results, the tests against control, the SRM check and the verdict."""

    experiment_id: str
    status: str
    split: dict[str, float]
    attribution_window_s: float
    attributed_events: dict[str, int]
    variants: list[dict[str, Any]] = Field(
        description="users, impressions, {click,cart,purchase}_per_{impression,user} "
        "(rate, ci95), revenue, latency_ms_mean, latency_ms_p95."
    )
    tests: list[dict[str, Any]]
    method: str
    srm: dict[str, Any]
    verdict: str
