"""Typed option aliases the commands share, and the column options as one :class:`Columns`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from nextbuy.config import Config
    from nextbuy.data.columns import ColumnMap

ModelDir = Annotated[
    Path, typer.Option("--model-dir", help="MODELS_DIR/NAME (follows LATEST) or a version folder.")
]
K = Annotated[int, typer.Option("-k", "--k", min=1, max=10000, help="How many items to return.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Format = Annotated[
    str | None,
    typer.Option(help="Input format: csv, tsv, parquet, jsonl, movielens, retail (default: ext)."),
]
UserCol = Annotated[str, typer.Option(help="Column holding user IDs.")]
ItemCol = Annotated[str, typer.Option(help="Column holding item IDs.")]
ValueCol = Annotated[
    str | None,
    typer.Option(help="Column holding the value; 'rating' (or a rating column) means explicit."),
]
TimeCol = Annotated[str | None, typer.Option(help="Column holding timestamps.")]
EventCol = Annotated[str | None, typer.Option(help="Column holding event types (view, ...).")]


@dataclass(frozen=True)
class Columns:
    """How an interaction file is read: ``--format`` and the ``--*-col`` options."""

    fmt: str | None = None
    user_col: str = "user_id"
    item_col: str = "item_id"
    value_col: str | None = None
    time_col: str | None = None
    event_col: str | None = None

    def column_map(self) -> ColumnMap:
        """The columns as :func:`nextbuy.data.sources.read_interactions` takes them."""
        from nextbuy.data.columns import ColumnMap

        return ColumnMap(
            self.user_col, self.item_col, self.value_col, self.time_col, self.event_col
        )

    def config(self, path: Path | None) -> Config:
        """The YAML config at ``path`` (or the default) with the column options actually set."""
        from nextbuy.config import load_config

        cfg = load_config(path)
        update: dict[str, Any] = {"user_col": self.user_col, "item_col": self.item_col}
        for key, value in asdict(self).items():
            if value is not None and key not in update:
                update["format" if key == "fmt" else key] = value
        return cfg.model_copy(update={"data": cfg.data.model_copy(update=update)})


#: The command-line form of each :class:`Columns` field (typer reads these from a signature).
_COLUMN_OPTIONS = {
    "fmt": Format,
    "user_col": UserCol,
    "item_col": ItemCol,
    "value_col": ValueCol,
    "time_col": TimeCol,
    "event_col": EventCol,
}


def with_columns(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command that takes ``columns: Columns`` the six column options in its place.

    Typer builds options from the signature, so the wrapper shows them where ``columns``
    stood (the order ``--help`` lists) and hands the command one :class:`Columns`.
    """
    signature = inspect.signature(command, eval_str=True)
    params: list[inspect.Parameter] = []
    for param in signature.parameters.values():
        if param.name != "columns":
            params.append(param)
            continue
        params.extend(
            inspect.Parameter(
                f.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=f.default,
                annotation=_COLUMN_OPTIONS[f.name],
            )
            for f in fields(Columns)
        )

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        columns = Columns(**{name: kwargs.pop(name) for name in _COLUMN_OPTIONS})
        command(columns=columns, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper
