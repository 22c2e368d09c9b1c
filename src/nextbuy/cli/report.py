"""``nextbuy report``: one self-contained HTML evaluation report of a saved model version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nextbuy.cli.options import ModelDir
from nextbuy.cli.output import console

app = typer.Typer()


@app.command()
def report(
    model_dir: ModelDir,
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    test: Annotated[
        Path | None,
        typer.Option(help="Held-out file (default: the split training made, read back)."),
    ] = None,
) -> None:
    """Evaluate a version against the baselines and write the charts into one HTML file.

    Metrics with 95% intervals over users, NDCG by user activity and item popularity,
    popularity bias and coverage, rating errors for rating models, the training curve.
    """
    from nextbuy.reporting import write_report

    path = write_report(model_dir, out, test)
    console.print(f"report written to {path}", highlight=False, soft_wrap=True)
