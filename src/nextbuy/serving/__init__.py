"""The REST API (FastAPI): ``create_app`` builds it, ``run`` serves it with uvicorn."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["create_app", "run"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`nextbuy.serving.app.create_app` (imported lazily: the CLI starts fast)."""
    from nextbuy.serving.app import create_app as factory

    return factory(*args, **kwargs)


def run(
    model_dir: Path | str,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    **settings: Any,
) -> None:
    """Serve ``model_dir`` (MODELS_DIR/NAME or a version folder) until interrupted.

    Extra keyword arguments are :class:`~nextbuy.serving.settings.ServingSettings` fields
    (``api_key="..."``, ``max_body_bytes=...``). They travel to the worker processes as
    ``NEXTBUY_*`` environment variables, which is also how a deployment sets them.
    """
    import uvicorn

    from nextbuy.artifacts import resolve_version_dir
    from nextbuy.serving.settings import ServingSettings

    resolve_version_dir(model_dir)  # a missing or broken model folder fails here, in one line
    env = {"NEXTBUY_MODEL_DIR": str(Path(model_dir).resolve())}
    for key, value in settings.items():
        if value is not None:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            env[f"NEXTBUY_{key.upper()}"] = text
    os.environ.update(env)
    app_settings = ServingSettings()  # validates the environment before any worker starts
    if workers > 1:
        shared = Path(tempfile.mkdtemp(prefix="nextbuy-serve-"))
        # Metrics are summed over workers through files (prometheus_client multiprocess mode),
        # and a reload reaching one worker is announced to the others through a file.
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(shared / "metrics"))
        Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("NEXTBUY_RELOAD_SIGNAL", str(shared / "reload"))
    uvicorn.run(
        "nextbuy.serving.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the app writes its own JSON access log
        log_level=app_settings.log_level,
        timeout_graceful_shutdown=10,
    )
