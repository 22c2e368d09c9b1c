"""The ``nextbuy`` command line: data, train, evaluate, recommend, batch, predict, serve.

One module per command group; each builds its own :class:`typer.Typer`, merged here.
Commands import heavy modules (numpy, torch, fastapi) inside their bodies, so ``--help``
and start-up stay fast.
"""

from __future__ import annotations

import sys

import typer

from nextbuy.cli import answers, data, experiments, models, report, retrain, runs, serve, train
from nextbuy.cli.output import err_console
from nextbuy.errors import NextBuyError

app = typer.Typer(
    help="NextBuy: product recommendations from interaction exports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for group in (
    train.app,
    answers.app,
    report.app,
    serve.app,
    retrain.app,
):  # top-level commands, in help order
    app.add_typer(group)
app.add_typer(data.app, name="data")
app.add_typer(models.app, name="models")
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")


def main() -> None:
    """Console entry point: user mistakes end with one line and exit code 2."""
    try:
        app()
    except NextBuyError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except FileNotFoundError as exc:
        err_console.print(f"[red]error:[/red] {exc.filename}: no such file", soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
