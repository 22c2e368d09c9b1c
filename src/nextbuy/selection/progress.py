"""The model search's one rich progress line: trial, family, validation value, best so far."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from nextbuy.progress import console
from nextbuy.selection.leaderboard import Trial


@contextmanager
def search_progress(enabled: bool) -> Iterator[Any]:
    """An ``update(trial, best)`` callable driving one rich progress line (or nothing)."""
    if not enabled:
        yield lambda trial, best: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("model selection: starting", total=None)

        def update(trial: Trial, best: Trial | None) -> None:
            value = "-" if not math.isfinite(trial.value) else f"{trial.value:.4f}"
            top = "-" if best is None else f"{best.family} {best.value:.4f}"
            progress.update(
                task,
                description=f"trial {trial.number:>3}  {trial.family:<10} {value}  best: {top}",
            )

        yield update
