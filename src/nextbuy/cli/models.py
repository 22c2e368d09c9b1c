"""``nextbuy models list|show|promote|rollback|diff|delete``: the model registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nextbuy.cli.options import AsJson
from nextbuy.cli.output import cell, console, write_json

app = typer.Typer(help="The model registry: versions, aliases, promote and rollback.")

ModelFolder = Annotated[Path, typer.Argument(help="MODELS_DIR/NAME (the model folder).")]
Ref = Annotated[str, typer.Argument(help="A version folder name, or @ALIAS (@champion).")]
Alias = Annotated[str, typer.Option(help="The alias to move (latest = the LATEST file).")]


@app.command("list")
def list_(model: ModelFolder, as_json: AsJson = False) -> None:
    """Every registered version, oldest first, with its aliases and headline metrics."""
    from dataclasses import asdict

    from nextbuy.modelregistry import versions

    rows = versions(model)
    if as_json:
        return write_json([asdict(r) for r in rows])
    metric_names = sorted({k for r in rows for k in r.metrics if "@" in k})[:3]
    table = Table(title=f"{model.name}: {len(rows)} versions")
    for col in ("version", "model", "aliases", "data set", "fingerprint", "parent", *metric_names):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.version, r.model, ", ".join(r.aliases), r.dataset, r.fingerprint,
            r.parent or "-", *(cell(r.metrics.get(m)) for m in metric_names),
        )  # fmt: skip
    console.print(table)


@app.command()
def show(model: ModelFolder, ref: Ref = "@latest", as_json: AsJson = False) -> None:
    """One version's manifest: parameters, metrics, data, lineage, aliases."""
    from nextbuy.modelregistry import show as show_version

    info = show_version(model, ref)
    if as_json:
        return write_json(info)
    table = Table(title=f"{model.name}/{info['version']}")
    table.add_column("field")
    table.add_column("value")
    for key in ("model", "created_at", "aliases", "lineage", "data", "params", "metrics"):
        table.add_row(key, cell(info.get(key)))
    console.print(table)


@app.command()
def promote(
    model: ModelFolder,
    ref: Ref,
    alias: Alias = "champion",
    tracking_uri: Annotated[
        str | None,
        typer.Option(envvar="NEXTBUY_TRACKING_URI", help="Also set the alias in this MLflow."),
    ] = None,
) -> None:
    """Point an alias at a version (atomic); servers following NAME@ALIAS switch by themselves."""
    from nextbuy.modelregistry import promote as promote_version

    before, now = promote_version(model, ref, alias)
    if tracking_uri:
        from nextbuy.tracking import set_mlflow_alias

        set_mlflow_alias(tracking_uri, model.name, alias, now)
    console.print(f"{model.name}@{alias}: {before or '-'} -> [bold]{now}[/bold]", highlight=False)


@app.command()
def rollback(model: ModelFolder, alias: Alias = "champion") -> None:
    """Point an alias back at the version it named before its last change (atomic)."""
    from nextbuy.modelregistry import rollback as rollback_alias

    before, now = rollback_alias(model, alias)
    console.print(f"{model.name}@{alias}: {before} -> [bold]{now}[/bold]", highlight=False)


@app.command()
def diff(model: ModelFolder, a: Ref, b: Ref, as_json: AsJson = False) -> None:
    """Parameters and metrics of two versions side by side (changed rows first)."""
    from nextbuy.modelregistry import diff as diff_versions

    rows = diff_versions(model, a, b)
    if as_json:
        return write_json([{"kind": k, "key": key, "a": x, "b": y} for k, key, x, y in rows])
    table = Table(title=f"{model.name}: {a} vs {b}")
    for col in ("kind", "key", a, b, "changed"):
        table.add_column(col)
    for kind, key, x, y in rows:
        table.add_row(kind, key, cell(x), cell(y), "" if x == y else "*")
    console.print(table)


@app.command()
def delete(
    model: ModelFolder,
    ref: Ref,
    database_url: Annotated[
        str | None,
        typer.Option(help="Event store whose running experiments are checked "
                     "(default MODELS_DIR/events.db when it exists)."),
    ] = None,
) -> None:  # fmt: skip
    """Remove one version; refused while an alias or a running experiment uses it."""
    from nextbuy.experiments.usage import refs_in_running_experiments
    from nextbuy.modelregistry import delete as delete_version

    used = refs_in_running_experiments(model, database_url)
    gone = delete_version(model, ref, used)
    console.print(f"deleted {model.name}/{gone}", highlight=False)
