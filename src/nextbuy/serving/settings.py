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
        Path("models/als"), description="MODELS_DIR/NAME (follows LATEST) or a version folder."
    )
    api_key: SecretStr | None = Field(
        None, description="Key expected in X-API-Key by /admin/* and /train; unset = disabled."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body accepted.")
    max_batch_users: int = Field(1000, ge=1, description="Most users in one batch request.")
    max_k: int = Field(1000, ge=1, le=1000, description="Most items one answer may ask for.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Level of the server's own log lines."
    )
    access_log: bool = Field(True, description="One JSON access-log line per request.")
    mmap: bool = Field(True, description="Memory-map the model's arrays instead of reading them.")
    blas_threads: int | None = Field(
        1,
        ge=1,
        description="BLAS threads per worker; 1 keeps small matrix products off the thread pool.",
    )
    data_dir: Path | None = Field(
        None, description="When set, /train only reads data files inside this folder."
    )
    jobs_dir: Path | None = Field(
        None, description="Where training jobs keep their state (default MODELS_DIR/.jobs)."
    )
    reload_signal: Path | None = Field(
        None,
        description="File /admin/reload writes so sibling worker processes reload too "
        "(set by nextbuy.serving.run for --workers > 1).",
    )
    train_timeout_s: float = Field(
        6 * 3600, gt=0, description="A training job still running after this is stopped."
    )
