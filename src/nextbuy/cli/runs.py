"""``nextbuy runs list|show|compare``: the local tracking store of train and tune runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nextbuy.cli.options import AsJson
from nextbuy.cli.output import cell, console, write_json

app = typer.Typer(
    help="Tracked train and tune runs (MODELS_DIR/.runs; MLflow with --tracking-uri)."
)

ModelsDir = Annotated[Path, typer.Option("--models-dir", help="Models folder holding .runs/.")]
TrackingUri = Annotated[
    str | None,
    typer.Option(envvar="NEXTBUY_TRACKING_URI",
                 help="Also log the run to MLflow here (sqlite:///mlflow.db, http://host:5000)."),
]  # fmt: skip


@app.command("list")
def list_(models_dir: ModelsDir = Path("models"), as_json: AsJson = False) -> None:
    """Every run, oldest first: kind, model, duration and headline metrics."""
    from nextbuy.tracking import list_runs

    runs = list_runs(models_dir)
    if as_json:
        return write_json(runs)
    names = sorted({k for r in runs for k in r["metrics"] if "@" in k or k == "value"})[:4]
    table = Table(title=f"{len(runs)} runs in {models_dir}")
    for col in ("run", "kind", "name", "version", "seconds", *names):
        table.add_column(col)
    for r in runs:
        values = [cell(r["metrics"].get(n)) for n in names]
        head = [r["run_id"], r["kind"], r["name"], r.get("version") or "-"]
        table.add_row(*head, cell(r.get("duration_s")), *values)
    console.print(table)


@app.command()
def show(run_id: str, models_dir: ModelsDir = Path("models"), as_json: AsJson = True) -> None:
    """One run's record (JSON): params, metrics, per-epoch history, data, artifacts."""
    from nextbuy.tracking import get_run

    write_json(get_run(models_dir, run_id))


@app.command()
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run IDs (prefixes work).")],
    models_dir: ModelsDir = Path("models"),
) -> None:
    """Parameters and metrics of runs side by side."""
    from nextbuy.tracking import get_run

    runs = [get_run(models_dir, r) for r in run_ids]
    table = Table(title="runs compared")
    table.add_column("")
    for r in runs:
        table.add_column(r["run_id"])
    rows: list[tuple[str, list[Any]]] = [
        ("kind", [r["kind"] for r in runs]),
        ("seconds", [r.get("duration_s") for r in runs]),
    ]
    for section in ("params", "metrics"):
        for key in sorted({k for r in runs for k in r[section]}):
            rows.append((f"{section}.{key}", [r[section].get(key) for r in runs]))
    for key, values in rows:
        table.add_row(key, *(cell(v) for v in values))
    console.print(table)
