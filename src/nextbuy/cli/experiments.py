"""``nextbuy experiments create|stop|list|report``: A/B tests kept in the event store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nextbuy.cli.options import AsJson
from nextbuy.cli.output import cell, console, write_json

app = typer.Typer(help="A/B tests: create, stop, list and report (stored in the event store).")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(envvar="NEXTBUY_DATABASE_URL",
                 help="Event store (default MODELS_DIR/events.db beside --model-dir)."),
]  # fmt: skip
ModelFolder = Annotated[
    Path | None,
    typer.Option("--model-dir", help="The served MODELS_DIR/NAME (its store and data set)."),
]
Dataset = Annotated[
    str | None, typer.Option(envvar="NEXTBUY_DATASET", help="Data set (default: the model's).")
]
ExperimentId = Annotated[str, typer.Argument(help="The experiment's ID.")]


def _store(model_dir: Path | None, database_url: str | None, dataset: str | None) -> Any:
    from nextbuy.artifacts import read_manifest, resolve_version_dir
    from nextbuy.data.datasets import DEFAULT_DATASET, dataset_of
    from nextbuy.errors import ConfigError
    from nextbuy.store import EventStore
    from nextbuy.store.experiments import ExperimentStore

    if model_dir is not None:
        version_dir = resolve_version_dir(model_dir)
        dataset = dataset or dataset_of(read_manifest(version_dir))
        database_url = database_url or f"sqlite:///{version_dir.parent.parent.resolve()}/events.db"
    if database_url is None:
        raise ConfigError("name the event store: --model-dir MODELS_DIR/NAME or --database-url")
    return ExperimentStore(EventStore(database_url, dataset=dataset or DEFAULT_DATASET))


def _arms(exp: Any) -> str:
    pairs = zip(exp.variants, exp.weights, strict=True)
    return ", ".join(f"{v.name}={v.model} ({w:.0%})" for v, w in pairs)


@app.command()
def create(
    experiment_id: ExperimentId,
    variant: Annotated[
        list[str],
        typer.Option(help="NAME=MODEL[:WEIGHT], repeated; the first is control "
                     "(control=@champion:50 --variant new=@challenger:50)."),
    ],
    eligible: Annotated[str, typer.Option(help="all, or known (users the model knows).")] = "all",
    hours: Annotated[
        float | None, typer.Option(min=0.0, help="Ends after this many hours.")
    ] = None,
    model_dir: ModelFolder = None,
    database_url: DatabaseUrl = None,
    dataset: Dataset = None,
) -> None:  # fmt: skip
    """Create (and start) an experiment; every server of the data set picks it up in seconds."""
    import time

    from nextbuy.errors import ConfigError
    from nextbuy.experiments import manage
    from nextbuy.experiments.definition import Experiment, parse_variants

    if eligible not in ("all", "known"):
        raise typer.BadParameter(f"{eligible!r}: expected all or known", param_hint="--eligible")
    now = int(time.time() * 1000)
    ends = None if hours is None else now + int(hours * 3_600_000)
    try:
        exp = Experiment(
            experiment_id=experiment_id,
            variants=parse_variants(variant),
            eligible=eligible,  # type: ignore[arg-type]
            starts_at=now,
            ends_at=ends,
        )
    except ValueError as exc:
        raise ConfigError(f"experiment {experiment_id!r}: {exc}") from None
    made = manage.create(_store(model_dir, database_url, dataset), exp)
    split = _arms(made)
    console.print(f"experiment {made.experiment_id} running: {split}", highlight=False)


@app.command()
def stop(
    experiment_id: ExperimentId,
    model_dir: ModelFolder = None,
    database_url: DatabaseUrl = None,
    dataset: Dataset = None,
) -> None:
    """Stop an experiment: every user gets the served model again."""
    from nextbuy.experiments import manage

    exp = manage.stop(_store(model_dir, database_url, dataset), experiment_id)
    console.print(f"experiment {exp.experiment_id}: {exp.status()}", highlight=False)


@app.command("list")
def list_(
    model_dir: ModelFolder = None,
    database_url: DatabaseUrl = None,
    dataset: Dataset = None,
    as_json: AsJson = False,
) -> None:
    """Every experiment of the data set with its variants and status."""
    from nextbuy.experiments import manage

    rows = manage.list_all(_store(model_dir, database_url, dataset))
    if as_json:
        return write_json([{**e.model_dump(), "status": e.status()} for e in rows])
    table = Table(title="experiments")
    for col in ("experiment", "status", "variants", "eligible"):
        table.add_column(col)
    for e in rows:
        table.add_row(e.experiment_id, e.status(), _arms(e), e.eligible)
    console.print(table)


@app.command()
def report(
    experiment_id: ExperimentId,
    window_hours: Annotated[float, typer.Option(min=0.001, help="Attribution window.")] = 24.0,
    model_dir: ModelFolder = None,
    database_url: DatabaseUrl = None,
    dataset: Dataset = None,
    as_json: AsJson = False,
) -> None:
    """Per-variant results with 95% intervals, the test against control, SRM and a verdict."""
    from nextbuy.experiments import manage

    out = manage.report(_store(model_dir, database_url, dataset), experiment_id,
                        window_hours * 3600)  # fmt: skip
    if as_json:
        return write_json(out)
    table = Table(title=f"experiment {experiment_id} ({out['status']})")
    cols = ("variant", "users", "impressions", "click/imp", "purchase/imp", "purchase/user",
            "95% CI", "revenue", "p95 ms")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="left" if col == "variant" else "right")
    for v in out["variants"]:
        ci = v["purchase_per_user"]["ci95"]
        table.add_row(
            v["variant"], cell(v["users"]), cell(v["impressions"]),
            cell(v["click_per_impression"]["rate"]), cell(v["purchase_per_impression"]["rate"]),
            cell(v["purchase_per_user"]["rate"]), f"[{cell(ci[0])}, {cell(ci[1])}]",
            cell(v["revenue"]), cell(v["latency_ms_p95"]),
        )  # fmt: skip
    console.print(table)
    tests = Table(title=out["method"])
    for col in ("variant", "vs", "outcome", "difference", "95% CI", "p"):
        tests.add_column(col)
    for t in out["tests"]:
        low, high = t["ci95"]
        tests.add_row(t["variant"], t["against"], t["outcome"], cell(t["difference"]),
                      f"[{cell(low)}, {cell(high)}]", cell(t["p_value"]))  # fmt: skip
    console.print(tests)
    srm = out["srm"]
    state = "MISMATCH" if srm["mismatch"] else "ok"
    line = f"sample ratio: p={srm['p_value']:.3g} ({state}); {out['verdict']}"
    console.print(line, highlight=False)
