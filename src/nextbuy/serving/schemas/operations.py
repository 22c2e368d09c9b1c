"""Operations answers: liveness, readiness and the model card."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from nextbuy.serving.schemas.common import ResponseSchema


class ModelCard(ResponseSchema):
    """What is being served."""

    name: str = Field(description="Model name (its folder under MODELS_DIR).", examples=["als"])
    model: str = Field(description="Algorithm.", examples=["als"])
    version: str = Field(description="Version folder.", examples=["20240501T120000Z-3f2a9c1d"])
    trained_at: str | None = Field(
        description="When the version was saved (UTC, ISO 8601).",
        examples=["2024-05-01T12:00:00Z"],
    )
    loaded_at: str = Field(
        description="When this server loaded it (UTC, ISO 8601).",
        examples=["2024-05-01T12:05:00Z"],
    )
    params: dict[str, Any] = Field(
        description="Hyper-parameters.", examples=[{"factors": 64, "iterations": 15}]
    )
    metrics: dict[str, Any] = Field(
        description="Held-out evaluation stored with the model.",
        examples=[{"ndcg@10": 0.21, "recall@10": 0.18}],
    )
    n_users: int = Field(description="Users the model knows.", examples=[100000])
    n_items: int = Field(description="Items the model can recommend.", examples=[20000])
    explicit: bool = Field(description="Trained on ratings (true) or events.", examples=[False])
    predicts_ratings: bool = Field(
        description="`/predict/rating` answers ratings (true) or scores.", examples=[False]
    )
    rating_range: tuple[float, float] | None = Field(
        description="Rating scale of explicit data.", examples=[[1.0, 5.0]]
    )
    path: str = Field(
        description="NAME/VERSION: the version's folder inside the models folder.",
        examples=["als/20240501T120000Z-3f2a9c1d"],
    )


class Health(ResponseSchema):
    """Liveness."""

    status: Literal["ok"] = Field(
        description="Always `ok` while the process answers.", examples=["ok"]
    )


class StoreState(ResponseSchema):
    """The event store as this worker sees it."""

    state: Literal["ok", "down", "off"] = Field(
        description="`ok`, `down` (unreachable) or `off` (read-only server).", examples=["ok"]
    )
    writes: bool = Field(description="`/events` and catalog writes work now.", examples=[True])
    stale: bool = Field(
        description="Answers may miss recent events or catalog changes.", examples=[False]
    )
    down_s: float | None = Field(description="Seconds since the store went down.", examples=[None])


class Readiness(ResponseSchema):
    """Readiness: a model is loaded."""

    status: Literal["ready", "loading"] = Field(
        description="`ready` once a model is loaded.", examples=["ready"]
    )
    model_version: str | None = Field(
        description="Version being served.", examples=["20240501T120000Z-3f2a9c1d"]
    )
    store: StoreState | None = Field(
        default=None,
        description="The event store: reads never need it; while it is `down`, writes answer "
        "503 and answers carry `X-NextBuy-Online-State: stale`.",
        examples=[{"state": "ok", "writes": True, "stale": False, "down_s": None}],
    )
