"""``nextbuy retrain``: retrain the served model on its recorded data plus the stored events,
once or on a schedule, and tell the API to reload (the compose ``trainer`` service)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from nextbuy.cli.options import Columns, PositiveThreshold, with_columns
from nextbuy.cli.output import console, err_console

app = typer.Typer()


@app.command()
@with_columns
def retrain(
    models: Annotated[
        Path, typer.Option(envvar="NEXTBUY_MODELS_DIR", help="Models folder (MODELS_DIR).")
    ],
    name: Annotated[
        str | None,
        typer.Option(envvar="NEXTBUY_RETRAIN_NAME", help="Model to retrain (default: the one)."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="NEXTBUY_DATABASE_URL",
            help="Event store to train on too (default MODELS_DIR/events.db when it exists).",
        ),
    ] = None,
    events: Annotated[
        bool, typer.Option("--events/--no-events", help="Train on the stored events too.")
    ] = True,
    data: Annotated[
        Path | None,
        typer.Option(
            envvar="NEXTBUY_TRAIN_DATA",
            help="Interaction file (default: the served model's; needed for the first model).",
        ),
    ] = None,
    items: Annotated[
        Path | None,
        typer.Option(envvar="NEXTBUY_TRAIN_ITEMS", help="Catalog file (default: recorded)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(envvar="NEXTBUY_TRAIN_MODEL", help="Family (default: the served one)."),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Hyper-parameter override key=value.")
    ] = None,
    every: Annotated[
        str | None,
        typer.Option(
            envvar="NEXTBUY_RETRAIN_EVERY", help="Repeat every 30m, 6h, 1d... (default: once)."
        ),
    ] = None,
    reload_url: Annotated[
        str | None,
        typer.Option(
            envvar="NEXTBUY_RELOAD_URL",
            help="API to tell (POST URL/admin/reload), e.g. http://api:8000.",
        ),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="NEXTBUY_API_KEY", help="Key for /admin/reload.")
    ] = None,
    columns: Columns = Columns(),
    positive_threshold: PositiveThreshold = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Retrain the served model's family and parameters on its data plus every stored event."""
    from nextbuy.config import parse_overrides
    from nextbuy.errors import NextBuyError
    from nextbuy.retraining import parse_every

    period = None if every is None or not every.strip() else parse_every(every)
    update = columns.data_update()
    if positive_threshold is not None:
        update["positive_threshold"] = positive_threshold
    if database_url is None and events and (models / "events.db").is_file():
        database_url = f"sqlite:///{(models / 'events.db').resolve()}"
    job = {
        "models": models, "name": name, "database_url": database_url if events else None,
        "data": data, "items": items, "model": model, "params": parse_overrides(set_ or []),
        "columns": update, "quiet": quiet,
    }  # fmt: skip
    while True:
        try:
            version = _retrain_once(**job)  # type: ignore[arg-type]
            if reload_url:
                _reload(reload_url, api_key, version)
        except NextBuyError as exc:
            if period is None:
                raise
            err_console.print(f"[red]retraining failed:[/red] {exc}", highlight=False)
        if period is None:
            return
        console.print(f"next retraining in {period:g} s", highlight=False)
        time.sleep(period)


def _retrain_once(
    models: Path,
    name: str | None,
    database_url: str | None,
    data: Path | None,
    items: Path | None,
    model: str | None,
    params: dict[str, object],
    columns: dict[str, object],
    quiet: bool,
) -> Path:
    """One run: the served model's plan (or a first model from ``data``); the new version."""
    from nextbuy.artifacts import read_manifest, resolve_version_dir
    from nextbuy.config import load_config
    from nextbuy.errors import ConfigError
    from nextbuy.retraining import apply_columns, plan_retrain, served_model_dir
    from nextbuy.training import train_model

    served = served_model_dir(models, name)
    if served is None:
        if data is None:
            raise ConfigError(
                f"no model in {models} yet: pass --data FILE (NEXTBUY_TRAIN_DATA) for the first"
            )
        cfg = load_config()
        cfg.data = apply_columns(cfg.data, columns)
        kwargs = {
            "data": str(data), "items": None if items is None else str(items),
            "model": model or cfg.model.name, "name": name or model or cfg.model.name,
            "params": params, "config": cfg, "database_url": database_url,
        }  # fmt: skip
        console.print(f"no model in {models} yet: training the first one", highlight=False)
    else:
        manifest = read_manifest(resolve_version_dir(served))
        plan = plan_retrain(
            manifest, served.name,
            data=None if data is None else str(data), items=None if items is None else str(items),
            model=model, name=name, params=params, columns=columns, database_url=database_url,
        )  # fmt: skip
        for note in plan.notes:
            console.print(f"note: {note}", highlight=False)
        kwargs = plan.train_kwargs()
    started = time.perf_counter()
    result = train_model(out=models, show_progress=not quiet, **kwargs)  # type: ignore[arg-type]
    shown = ", ".join(f"{k} {v:.4f}" for k, v in list(result.metrics.items())[:3])
    console.print(
        f"retrained {result.model.name} on {result.n_train:,} interactions "
        f"({time.perf_counter() - started:.1f} s{'; ' + shown if shown else ''}); "
        f"saved [bold]{result.version_dir}[/bold]"
    )
    return result.version_dir


def _reload(url: str, api_key: str | None, version: Path) -> None:
    """``POST URL/admin/reload``; an API not up yet loads LATEST when it starts anyway."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url.rstrip("/") + "/admin/reload",
        method="POST",
        headers={"X-API-Key": api_key or ""},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - operator URL
            answer = json.loads(response.read())
        console.print(
            f"API at {url} now serves {answer.get('version')} (changed: {answer.get('changed')})",
            highlight=False,
        )
    except urllib.error.HTTPError as exc:
        err_console.print(
            f"warning: {url}/admin/reload answered {exc.code}: {exc.read()[:200]!r}; "
            f"{version.name} is LATEST and loads at the API's next start or reload",
            highlight=False,
        )
    except (urllib.error.URLError, OSError) as exc:
        err_console.print(
            f"warning: could not reach {url} ({exc}); {version.name} is LATEST and loads "
            "when the API starts",
            highlight=False,
        )
