"""Serving settings: one pydantic-settings class, read from ``NEXTBUY_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServingSettings(BaseSettings):
    """Everything the API server needs; ``NEXTBUY_MODEL_DIR=models/als`` sets ``model_dir``.

    The API key has no default on purpose: without one, ``/admin/*`` and ``/train`` answer 403
    instead of being open to anyone who can reach the port.
    """

    model_config = SettingsConfigDict(
        env_prefix="NEXTBUY_", extra="ignore", protected_namespaces=()
    )

    model_dir: Path = Field(
        default=Path("models/als"),
        description="MODELS_DIR/NAME (follows LATEST) or a version folder.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="Key expected in X-API-Key by /admin/* and /train; unset = disabled.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted."
    )
    max_batch_users: int = Field(default=1000, ge=1, description="Most users in one batch request.")
    max_k: int = Field(
        default=1000, ge=1, le=1000, description="Most items one answer may ask for."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Level of the server's own log lines."
    )
    access_log: bool = Field(default=True, description="One JSON access-log line per request.")
    mmap: bool = Field(
        default=True, description="Memory-map the model's arrays instead of reading them."
    )
    blas_threads: int | None = Field(
        default=1,
        ge=1,
        description="BLAS threads per worker; 1 keeps small matrix products off the thread pool.",
    )
    data_dir: Path | None = Field(
        default=None, description="When set, /train only reads data files inside this folder."
    )
    jobs_dir: Path | None = Field(
        default=None, description="Where training jobs keep their state (default MODELS_DIR/.jobs)."
    )
    reload_signal: Path | None = Field(
        default=None,
        description="File /admin/reload writes so sibling worker processes reload too "
        "(set by nextbuy.serving.run for --workers > 1).",
    )
    train_timeout_s: float = Field(
        default=6 * 3600, gt=0, description="A training job still running after this is stopped."
    )
    ui: bool = Field(default=True, description="Serve the dashboard at /ui.")
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the dashboard's session cookies and CSRF tokens; unset = derived "
        "from the API key (changing the key logs everyone out).",
    )

    # ------------------------------------------------------------------ online learning
    online: bool = Field(
        default=True,
        description="Record /events and catalog changes in the event store and use them at "
        "once; false serves the model read-only (those endpoints answer 503).",
    )
    database_url: str | None = Field(
        default=None,
        description="Event store: a SQLAlchemy URL (postgresql+psycopg://user@host/db, "
        "sqlite:///path.db) or a file path; default MODELS_DIR/events.db (SQLite, WAL).",
    )
    dataset: str | None = Field(
        default=None,
        description="This deployment's data set: events, catalog changes and retraining are "
        "scoped to it; default the served model's own; a model of another data set is refused.",
    )
    follow_interval_s: float = Field(
        default=1.0,
        ge=0,
        description="A server of MODELS_DIR/NAME@ALIAS checks this often where the alias points "
        "and switches by itself after a promote or rollback (0: only on /admin/reload).",
    )
    event_weights: dict[str, float] = Field(
        default_factory=lambda: dict(_default_event_weights()),
        description="Implicit strength of each event type (value x weight); types not listed "
        "are refused. `rating` events feed explicit models only. As JSON in the environment.",
    )
    purchase_events: list[str] = Field(
        default_factory=lambda: ["purchase", "buy", "transaction"],
        description="Event types that count as purchases for the repurchase rule.",
    )
    max_events_per_request: int = Field(
        default=10_000,
        ge=1,
        le=100_000,
        description="Most events (or catalog items) in one request.",
    )
    max_write_body_bytes: int = Field(
        default=16 * 1_048_576,
        ge=1024,
        description="Largest body accepted by POST /events and the catalog writes.",
    )
    exclude_purchased: bool = Field(
        default=True,
        description="Never recommend what a user bought (events since training), even with "
        "exclude_seen=false, except in repurchasable categories.",
    )
    repurchasable_categories: list[str] = Field(
        default_factory=list,
        description="Categories bought again and again (coffee, printer ink): their items stay "
        "recommendable after a purchase or a view.",
    )
    max_per_brand: int | None = Field(
        default=None,
        ge=1,
        description="At most this many items of one brand in one list (unset: no cap).",
    )
    boosts: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Boost (>0) or bury (<0) by attribute, in standard deviations of the "
        'user\'s scores: {"brand": {"Acme": 0.5}, "category": {"Clearance": -1}}.',
    )
    cache_size: int = Field(
        default=10_000,
        ge=0,
        description="Per-user recommendation answers kept (0 turns the cache off).",
    )
    cache_ttl_s: float = Field(
        default=300.0, gt=0, description="A cached answer older than this is recomputed."
    )
    sync_interval_s: float = Field(
        default=1.0,
        ge=0,
        description="How often to pick up events and catalog changes other processes wrote "
        "(0: never; this process's own writes apply at once).",
    )
    sync_reads: bool = Field(
        default=False,
        description="Catch up with the event store before each personal answer, so a user's "
        "event posted to any worker shows at once (set by nextbuy.serving.run for --workers > 1).",
    )


def _default_event_weights() -> dict[str, float]:
    """The training pipeline's defaults (view 1, cart 3, purchase 5, ...), so both agree."""
    from nextbuy.data.sources import DEFAULT_EVENT_WEIGHTS

    return DEFAULT_EVENT_WEIGHTS
