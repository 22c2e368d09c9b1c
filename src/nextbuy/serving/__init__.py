"""The REST API (FastAPI): ``create_app`` builds it, ``run`` serves it with uvicorn."""

from __future__ import annotations

import json
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
    (``api_key="..."``, ``database_url="postgresql+psycopg://..."``, ``boosts={...}``). They
    travel to the worker processes as ``NEXTBUY_*`` environment variables (lists and dicts as
    JSON), which is also how a deployment sets them.
    """
    import uvicorn

    from nextbuy.artifacts import read_manifest, resolve_version_dir, verify_files
    from nextbuy.serving.settings import ServingSettings

    # A missing or broken model folder (unreadable LATEST, unknown schema_version, a file
    # that fails its checksum) fails here, in one line, before any worker starts.
    version_dir = resolve_version_dir(model_dir)
    verify_files(version_dir, read_manifest(version_dir))
    env = {"NEXTBUY_MODEL_DIR": str(Path(model_dir).resolve())}
    for key, value in settings.items():
        if value is not None:
            if isinstance(value, bool):
                text = str(value).lower()
            elif isinstance(value, (dict, list, tuple)):
                text = json.dumps(value)
            else:
                text = str(value)
            env[f"NEXTBUY_{key.upper()}"] = text
    os.environ.update(env)
    app_settings = ServingSettings()  # validates the environment before any worker starts
    if app_settings.online:  # a bad store URL fails here in one line; an unreachable
        # store does not: the server starts degraded and retries it in the background
        import sys

        from nextbuy.serving.online import default_database_url, store_limits
        from nextbuy.store import EventStore, StoreError

        url = app_settings.database_url or default_database_url(Path(model_dir))
        store = EventStore(url, migrate=False, limits=store_limits(app_settings))
        try:  # migrate once here, so the workers do not race to create the tables
            store.migrate()
        except StoreError as exc:
            print(f"warning: {exc}; starting without the event store", file=sys.stderr)
        finally:
            store.close()
    if workers > 1:
        shared = Path(tempfile.mkdtemp(prefix="nextbuy-serve-"))
        # Metrics are summed over workers through files (prometheus_client multiprocess mode),
        # and a reload reaching one worker is announced to the others through a file.
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(shared / "metrics"))
        Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("NEXTBUY_RELOAD_SIGNAL", str(shared / "reload"))
        # An event posted to one worker must show in the next answer of any worker.
        os.environ.setdefault("NEXTBUY_SYNC_READS", "true")
        # A catalog write on one worker is applied by the others before their next answer.
        os.environ.setdefault("NEXTBUY_CATALOG_SIGNAL", str(shared / "catalog"))
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
