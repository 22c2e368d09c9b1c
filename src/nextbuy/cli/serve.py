"""``nextbuy serve`` and ``demo``: the HTTP API, and the whole journey on the sample shop."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer()

#: ``serve`` reads its folder (and host, port, workers) from NEXTBUY_* too: images set only those.
ServeModelDir = Annotated[
    Path,
    typer.Option(
        "--model-dir",
        envvar="NEXTBUY_MODEL_DIR",
        help="MODELS_DIR/NAME (follows LATEST) or a version folder.",
    ),
]


class Retrieval(str, Enum):
    """How ``serve`` ranks a factor model's catalog (``--retrieval``)."""

    exact = "exact"
    ann = "ann"
    auto = "auto"


@app.command()
def demo(
    data: Annotated[Path, typer.Option(help="Where to write the sample shop.")] = Path("data/shop"),
    models: Annotated[Path, typer.Option(help="Models folder.")] = Path("models"),
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """The whole journey on the sample shop: generate, train ALS + MF, evaluate, recommend."""
    from nextbuy.demo import run_demo

    run_demo(data, models, show_progress=not quiet)


@app.command()
def serve(
    model_dir: ServeModelDir,
    host: Annotated[str, typer.Option(envvar="NEXTBUY_HOST", help="Interface to bind.")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int, typer.Option(envvar="NEXTBUY_PORT", min=1, max=65535, help="Port.")
    ] = 8000,
    workers: Annotated[
        int, typer.Option(envvar="NEXTBUY_WORKERS", min=1, help="Worker processes.")
    ] = 1,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="NEXTBUY_DATABASE_URL",
            help="Event store for /events and catalog changes: postgresql+psycopg://user@host/db,"
            " sqlite:///path.db or a file path (default MODELS_DIR/events.db).",
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            envvar="NEXTBUY_DATASET",
            help="Data set served: events and catalog changes are scoped to it (default: the "
            "model's own); a model trained on another data set is refused.",
        ),
    ] = None,
    online: Annotated[
        bool | None,
        typer.Option(
            "--online/--read-only",
            help="Record events and catalog changes (default), or serve the model alone.",
        ),
    ] = None,
    max_per_brand: Annotated[
        int | None, typer.Option(min=1, help="At most N items per brand in one list.")
    ] = None,
    repurchasable_category: Annotated[
        list[str] | None,
        typer.Option(help="Category customers buy again and again (repeatable)."),
    ] = None,
    retrieval: Annotated[
        Retrieval | None,
        typer.Option(
            help="Factor models: score every item, search an ANN index, or auto: the index "
            "from 200,000 items up (default auto).",
        ),
    ] = None,
) -> None:
    """Serve the model over HTTP (FastAPI); docs at /docs. Settings: NEXTBUY_* variables."""
    from nextbuy.serving import run

    run(
        model_dir,
        host,
        port,
        workers,
        database_url=database_url,
        dataset=dataset,
        online=online,
        max_per_brand=max_per_brand,
        repurchasable_categories=repurchasable_category or None,
        retrieval=None if retrieval is None else retrieval.value,
    )
