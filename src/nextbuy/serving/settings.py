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
    retrieval: Literal["exact", "ann", "auto"] = Field(
        default="auto",
        description="Factor models: score every item (exact), search an ANN index (ann), or "
        "the index from 200,000 items up (auto).",
    )
    ann_nprobe: int = Field(
        default=32, ge=1, description="ANN: inverted lists scanned per query (recall vs speed)."
    )
    data_dir: Path | None = Field(
        default=None,
        description="/train only reads data files inside this folder; default: the models "
        "folder's sibling `data` (MODELS_DIR/../data).",
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
    impressions: Literal["experiments", "all"] = Field(
        default="experiments",
        description="Which served lists the impression log writes (ten rows per list): those "
        "of running A/B experiments, the only ones a report reads, or all of them.",
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

    # ------------------------------------------------------------------ hardening (issue 10)
    max_event_value: float = Field(
        default=1000.0,
        gt=0,
        description="Largest value (quantity or strength) of an implicit event; larger ones "
        "answer 422 (a value of 1e308 would blank the user's answers).",
    )
    rating_range: tuple[float, float] | None = Field(
        default=None,
        description="Accepted values of `rating` events, [low, high]; default: the served "
        "model's rating range, else [1, 5]. As JSON in the environment.",
    )
    max_batch_answers: int = Field(
        default=100_000,
        ge=1,
        description="Most items one POST /recommend/batch may return (users x k); more "
        "answers 413 naming the limit.",
    )
    events_write_key: SecretStr | None = Field(
        default=None,
        description="When set, POST /events needs it in the X-Write-Key header (or the API "
        "key in X-API-Key); unset = open, as before.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API cross-site (CORS), e.g. "
        '["https://shop.example"]; empty (the default) = no CORS headers at all.',
    )
    # ------------------------------------------------------------------ store timeouts
    store_connect_timeout_s: float = Field(
        default=3.0, gt=0, le=60, description="Longest wait to connect to the event store."
    )
    store_statement_timeout_s: float = Field(
        default=5.0, gt=0, le=300, description="Longest one event-store statement may run."
    )
    store_pool_size: int = Field(
        default=5, ge=1, le=100, description="Event-store connections one worker process holds."
    )
    store_pool_timeout_s: float = Field(
        default=2.0, gt=0, le=60, description="Longest wait for a free event-store connection."
    )
    store_retry_s: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="While the event store is down: writes answer 503 with this Retry-After "
        "at once, and the server tries the store again this often.",
    )
    pin_dir: Path | None = Field(
        default=None,
        description="Where the private copy of a served model is made before it is mapped "
        "(unlinked at once; default MODELS_DIR/.serving).",
    )
    catalog_signal: Path | None = Field(
        default=None,
        description="File a catalog write touches so sibling worker processes apply it before "
        "their next recommendation (set by nextbuy.serving.run for --workers > 1).",
    )


def _default_event_weights() -> dict[str, float]:
    """The training pipeline's defaults (view 1, cart 3, purchase 5, ...), so both agree."""
    from nextbuy.data.sources import DEFAULT_EVENT_WEIGHTS

    return DEFAULT_EVENT_WEIGHTS
