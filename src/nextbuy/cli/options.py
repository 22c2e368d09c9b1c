"""Typed option aliases the commands share, and the column options as one :class:`Columns`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nextbuy.errors import ConfigError

if TYPE_CHECKING:
    from nextbuy.config import Config, DataConfig
    from nextbuy.data.columns import ColumnMap
    from nextbuy.data.dataset import Dataset

ModelDir = Annotated[
    Path, typer.Option("--model-dir", help="MODELS_DIR/NAME (follows LATEST) or a version folder.")
]
K = Annotated[int, typer.Option("-k", "--k", min=1, max=10000, help="How many items to return.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Format = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Input format: csv, tsv, parquet, jsonl, movielens, retail (default: extension).",
    ),
]
#: ``--fmt``: the old spelling of ``--format``, still accepted, not shown.
FormatAlias = Annotated[str | None, typer.Option("--fmt", hidden=True)]
UserCol = Annotated[str | None, typer.Option(help="Column holding user IDs (default: user_id).")]
ItemCol = Annotated[str | None, typer.Option(help="Column holding item IDs (default: item_id).")]
ValueCol = Annotated[
    str | None,
    typer.Option(help="Column holding the value: an implicit strength (quantity, clicks)."),
]
RatingCol = Annotated[
    str | None,
    typer.Option(help="Column holding explicit ratings (e.g. overall, stars, score)."),
]
Explicit = Annotated[
    bool | None,
    typer.Option(
        "--explicit/--implicit",
        help="Read --value-col (or a rating or value column) as ratings, or as implicit strengths "
        "(default: ratings only in a column called 'rating').",
    ),
]
RatingScale = Annotated[
    str | None,
    typer.Option(help="Rating scale LOW-HIGH, e.g. 1-5 (default: the ratings' min and max)."),
]
TimeCol = Annotated[str | None, typer.Option(help="Column holding timestamps.")]
EventCol = Annotated[str | None, typer.Option(help="Column holding event types (view, ...).")]
EventWeights = Annotated[
    str | None,
    typer.Option(
        help="Implicit weight per event type, e.g. view=1,addtocart=3,transaction=5 "
        "(default: view 1, cart 3, purchase 5, ...; unknown types 1)."
    ),
]
PositiveThreshold = Annotated[
    float | None,
    typer.Option(
        help="With ratings: ranking models learn only from ratings >= this (e.g. 4), as "
        "positives; rating models are evaluated with them as the relevant items."
    ),
]


@dataclass(frozen=True)
class Columns:
    """How an interaction file is read: ``--format``, the ``--*-col`` options, ratings or not.

    Every field defaults to None (not given), so a ``--config`` file's columns stand unless
    an option is actually passed on the command line.
    """

    fmt: str | None = None
    user_col: str | None = None
    item_col: str | None = None
    value_col: str | None = None
    rating_col: str | None = None
    explicit: bool | None = None
    rating_scale: str | None = None
    time_col: str | None = None
    event_col: str | None = None
    event_weights: str | None = None

    def data_update(self) -> dict[str, Any]:
        """The :class:`~nextbuy.config.DataConfig` fields these options set (given ones only).

        ``--rating-col COL`` is ``--value-col COL --explicit``; contradicting it is an error.
        """
        if self.rating_col is not None:
            if self.value_col is not None and self.value_col != self.rating_col:
                raise typer.BadParameter(
                    f"--rating-col {self.rating_col} and --value-col {self.value_col} name "
                    "different columns; give one (--rating-col for ratings)",
                    param_hint="--rating-col",
                )
            if self.explicit is False:
                raise typer.BadParameter(
                    "--rating-col reads ratings; --implicit contradicts it (use --value-col)",
                    param_hint="--rating-col",
                )
        update: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if value is None:
                continue
            if key == "rating_col":
                update.update(value_col=value, explicit=True)
            elif key == "event_weights":
                update[key] = _weights(value)
            else:
                update["format" if key == "fmt" else key] = value
        return update

    def data_config(self, base: DataConfig | None = None) -> DataConfig:
        """``base`` (or the defaults) with the options given on the command line applied."""
        from pydantic import ValidationError

        from nextbuy.config import DataConfig

        merged = {**(base or DataConfig()).model_dump(), **self.data_update()}
        try:
            return DataConfig.model_validate(merged)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = "--" + "-".join(str(p) for p in err["loc"]).replace("_", "-")
            reason = str(err["msg"]).removeprefix("Value error, ")
            raise ConfigError(f"{where}: {reason}") from None

    def column_map(self) -> ColumnMap:
        """The columns as :func:`nextbuy.data.sources.read_interactions` takes them."""
        return self.data_config().column_map()

    def read(self, path: Path) -> Dataset:
        """Read ``path`` as these options say (no config file: ``data describe``, ``split``)."""
        from nextbuy.data.sources import read_interactions

        dc = self.data_config()
        return read_interactions(path, dc.column_map(), dc.format, dc.event_weights)

    def config(self, path: Path | None, positive_threshold: float | None = None) -> Config:
        """The YAML config at ``path`` (or the default) with the options actually given.

        Options override the file; their defaults never do (a tuned config works as is).
        """
        from nextbuy.config import load_config

        cfg = load_config(path)
        data = self.data_config(cfg.data)
        if positive_threshold is not None:
            data = data.model_copy(update={"positive_threshold": positive_threshold})
        return cfg.model_copy(update={"data": data})


def _weights(text: str) -> dict[str, float]:
    """``view=1,cart=3`` as ``{"view": 1.0, "cart": 3.0}``; anything else is a usage error."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        kind, sep, weight = part.partition("=")
        try:
            out[kind.strip().lower()] = float(weight)
        except ValueError:
            sep = ""
        if not sep or not kind.strip():
            raise typer.BadParameter(
                f"{part!r}: expected TYPE=WEIGHT pairs, e.g. view=1,cart=3",
                param_hint="--event-weights",
            )
    return out


#: The command-line form of each :class:`Columns` field (typer reads these from a signature).
_COLUMN_OPTIONS = {
    "fmt": Format,
    "user_col": UserCol,
    "item_col": ItemCol,
    "value_col": ValueCol,
    "rating_col": RatingCol,
    "explicit": Explicit,
    "rating_scale": RatingScale,
    "time_col": TimeCol,
    "event_col": EventCol,
    "event_weights": EventWeights,
}
_FORMAT_ALIAS = "fmt_alias"


def with_columns(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command that takes ``columns: Columns`` the column options in its place.

    Typer builds options from the signature, so the wrapper shows them where ``columns``
    stood (the order ``--help`` lists) and hands the command one :class:`Columns`; the hidden
    ``--fmt`` (the old spelling of ``--format``) lands in ``Columns.fmt`` too.
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
        params.append(
            inspect.Parameter(
                _FORMAT_ALIAS,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None,
                annotation=FormatAlias,
            )
        )

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        alias = kwargs.pop(_FORMAT_ALIAS)
        columns = Columns(**{name: kwargs.pop(name) for name in _COLUMN_OPTIONS})
        if alias is not None:
            if columns.fmt is not None and columns.fmt != alias:
                raise typer.BadParameter(
                    f"--format {columns.fmt} and --fmt {alias} disagree", param_hint="--format"
                )
            columns = replace(columns, fmt=alias)
        command(columns=columns, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper
