"""Rich progress bars for long steps (epochs, ALS iterations), silent when disabled."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

#: Callable a long step calls once per unit of work, with optional fields (e.g. loss=0.12).
Advance = Callable[..., None]

console = Console(stderr=True)


@contextmanager
def progress_bar(total: int, description: str, enabled: bool = True) -> Iterator[Advance]:
    """Yield an ``advance(**fields)`` callable that moves a bar of ``total`` steps."""
    if not enabled:
        yield lambda **_: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total, info="")

        def advance(**fields: float | str) -> None:
            info = "  ".join(
                f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items()
            )
            progress.update(task, advance=1, info=info)

        yield advance
