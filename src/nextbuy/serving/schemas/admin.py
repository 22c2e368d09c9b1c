"""Admin and training: the reload outcome, training requests and jobs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from nextbuy.serving.schemas.common import RequestSchema, ResponseSchema


class ReloadResponse(ResponseSchema):
    """Outcome of ``POST /admin/reload``."""

    previous_version: str | None = Field(
        description="Version served before.", examples=["20240501T120000Z-3f2a9c1d"]
    )
    version: str = Field(description="Version served now.", examples=["20240502T080000Z-9b1c22aa"])
    changed: bool = Field(
        description="False when LATEST named the version already served.", examples=[True]
    )
    seconds: float = Field(description="Time spent loading.", examples=[0.42])


TrainSplit = Literal["random", "user", "time", "last", "none"]


class TrainRequest(RequestSchema):
    """Body of ``POST /train``; every field is optional (an empty body retrains the served model).

    Unset fields come from the served model's manifest: its data file, catalog, column
    mapping, split, family and parameters.
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    data: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="Path of the interaction file on the server (csv, tsv, parquet, jsonl, "
        "movielens u.data, retail export); default: the file the served model was trained on.",
        examples=["data/shop/interactions.csv"],
    )
    model: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Algorithm to train (default: the served model's).",
        examples=["als"],
    )
    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Model name under MODELS_DIR (default: the served name for the served "
        "family, else the family's name, so an ials job never overwrites the served als).",
        examples=["als"],
    )
    events: bool | None = Field(
        default=None,
        description="Also train on every event in the event store (default: true when `data` "
        "is not given, i.e. when retraining the served model).",
        examples=[True],
    )
    format: str | None = Field(
        default=None, max_length=32, description="Input format (as --format).", examples=["csv"]
    )
    user_col: str | None = Field(
        default=None, max_length=256, description="User ID column.", examples=["reviewerID"]
    )
    item_col: str | None = Field(
        default=None, max_length=256, description="Item ID column.", examples=["asin"]
    )
    value_col: str | None = Field(
        default=None, max_length=256, description="Implicit strength column.", examples=["qty"]
    )
    rating_col: str | None = Field(
        default=None, max_length=256, description="Explicit rating column.", examples=["overall"]
    )
    explicit: bool | None = Field(
        default=None, description="Read value_col as ratings (as --explicit).", examples=[True]
    )
    rating_scale: str | None = Field(
        default=None, max_length=32, description="Rating scale LOW-HIGH.", examples=["1-5"]
    )
    time_col: str | None = Field(
        default=None, max_length=256, description="Timestamp column.", examples=["unixReviewTime"]
    )
    event_col: str | None = Field(
        default=None, max_length=256, description="Event type column.", examples=["event"]
    )
    event_weights: dict[str, float] | None = Field(
        default=None, description="Implicit weight per event type.", examples=[{"view": 1}]
    )
    positive_threshold: float | None = Field(
        default=None, description="Ratings >= this are positives.", examples=[4]
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Hyper-parameter overrides for the algorithm.",
        examples=[{"factors": 64, "iterations": 10}],
    )
    items: str | None = Field(
        default=None,
        max_length=4096,
        description="Path of a catalog file on the server (item_id, name, brand, ...).",
        examples=["data/shop/items.csv"],
    )
    split: TrainSplit | None = Field(
        default=None,
        description="How the held-out evaluation set is drawn (default: as the served model).",
        examples=["user"],
    )
    test_fraction: float | None = Field(
        default=None, gt=0, lt=1, description="Share of interactions held out.", examples=[0.2]
    )


class TrainJob(ResponseSchema):
    """State of one training job."""

    job_id: str = Field(description="Job ID.", examples=["6f1c2a9b0d3e"])
    status: Literal["queued", "running", "succeeded", "failed"] = Field(
        description="Where the job is.", examples=["running"]
    )
    stage: str | None = Field(description="Current step.", examples=["fitting"])
    progress: float = Field(description="Fraction done, 0..1.", examples=[0.4])
    created_at: str = Field(description="Submitted (UTC).", examples=["2024-05-01T12:00:00Z"])
    started_at: str | None = Field(
        description="Training started (UTC).", examples=["2024-05-01T12:00:01Z"]
    )
    finished_at: str | None = Field(
        description="Training ended (UTC).", examples=["2024-05-01T12:03:10Z"]
    )
    request: dict[str, Any] = Field(
        description="The request that started it.",
        examples=[{"data": "data/shop/interactions.csv", "model": "als", "params": {}}],
    )
    metrics: dict[str, float] | None = Field(
        description="Held-out metrics of the new version.", examples=[{"ndcg@10": 0.2}]
    )
    version: str | None = Field(
        description="The new version (serve it with POST /admin/reload).",
        examples=["20240502T080000Z-9b1c22aa"],
    )
    error: str | None = Field(
        description="Why the job failed.", examples=["data/x.csv: no such file"]
    )
    status_url: str = Field(description="Where to poll.", examples=["/train/6f1c2a9b0d3e"])
