"""Retraining a served model: what its manifest recorded (data, columns, family, parameters)
plus the overrides a caller gives, as the arguments of one :func:`~nextbuy.training.train_model`.

``POST /train``, ``GET /train``, ``nextbuy retrain`` and the compose ``trainer`` share this
one rule, so a model trained on ``reviewerID``/``asin`` is retrained on the same file, read
with the same columns, unless told otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nextbuy.config import Config, DataConfig, load_config
from nextbuy.errors import ConfigError

#: The column options ``POST /train`` and the CLI share (DataConfig fields, plus rating_col).
COLUMN_FIELDS = (
    "format", "user_col", "item_col", "value_col", "rating_col", "explicit", "rating_scale",
    "time_col", "event_col", "event_weights", "positive_threshold",
)  # fmt: skip


@dataclass
class RetrainPlan:
    """One training run, resolved: every argument of ``train_model`` but the output folder."""

    data: str | None
    items: str | None
    model: str
    name: str
    params: dict[str, Any]
    config: Config
    split: str | None = None
    test_fraction: float | None = None
    database_url: str | None = None
    notes: list[str] = field(default_factory=list)

    def train_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`nextbuy.training.train_model` (``out`` aside)."""
        return {
            "data": self.data,
            "items": self.items,
            "model": self.model,
            "name": self.name,
            "params": self.params,
            "config": self.config,
            "split": self.split,
            "test_fraction": self.test_fraction,
            "database_url": self.database_url,
        }


def apply_columns(base: DataConfig, options: dict[str, Any]) -> DataConfig:
    """``base`` with the given (non-None) column options; ``rating_col`` is value_col + explicit."""
    update = {k: v for k, v in options.items() if v is not None}
    rating = update.pop("rating_col", None)
    if rating is not None:
        if update.get("value_col", rating) != rating:
            raise ConfigError(
                f"rating_col {rating!r} and value_col {update['value_col']!r} name different "
                "columns; give one (rating_col for ratings)"
            )
        if update.get("explicit") is False:
            raise ConfigError("rating_col reads ratings; explicit=false contradicts it")
        update.update(value_col=rating, explicit=True)
    try:
        return DataConfig.model_validate({**base.model_dump(), **update})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{where}: {str(err['msg']).removeprefix('Value error, ')}") from None


def trained_config(manifest: dict[str, Any]) -> Config:
    """The configuration the served version was trained with (the defaults for old ones)."""
    recorded = manifest.get("config")
    if not isinstance(recorded, dict):
        return load_config()
    try:
        return Config.model_validate(recorded)
    except ValidationError as exc:
        raise ConfigError(
            f"model {manifest.get('name')!r}: its recorded training config no longer reads "
            f"({exc.errors()[0]['msg']}); pass the data and columns explicitly"
        ) from None


def recorded_file(manifest: dict[str, Any], key: str) -> str | None:
    """The data (``path``) or catalog (``items``) file the version was trained on, if recorded.

    Versions trained before the path was recorded name it in ``source`` when it was one file.
    """
    data = manifest.get("data") or {}
    value = data.get(key)
    if value is None and key == "path":
        source = data.get("source")
        if isinstance(source, str) and Path(source).is_file():
            value = source
    return None if value is None else str(value)


def plan_retrain(
    manifest: dict[str, Any],
    served_name: str,
    *,
    data: str | None = None,
    items: str | None = None,
    model: str | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    columns: dict[str, Any] | None = None,
    split: str | None = None,
    test_fraction: float | None = None,
    database_url: str | None = None,
) -> RetrainPlan:
    """Resolve a retraining of the served ``manifest``: given values win, recorded ones fill in.

    Columns: the recorded mapping stays (also for a newer export given as ``data``) and
    ``columns`` overrides it field by field. The same family keeps its recorded parameters
    and name; another family starts from its defaults under its own name unless ``name``.
    """
    cfg = trained_config(manifest)
    family = str(manifest.get("model") or cfg.model.name)
    chosen = model or family
    notes: list[str] = []
    recorded_data = recorded_file(manifest, "path")
    if columns:
        cfg.data = apply_columns(cfg.data, columns)
    if chosen != family:
        cfg.model.params = {}
    cfg.model.name = chosen
    data = data if data is not None else recorded_data
    if data is None and database_url is None:
        raise ConfigError(
            f"model {served_name!r} records no data file to retrain on; give one (data / --data)"
        )
    if data is None:
        notes.append("no recorded data file: training on the stored events alone")
    if items is None:
        items = recorded_file(manifest, "items")
    return RetrainPlan(
        data=data,
        items=items,
        model=chosen,
        name=name or (served_name if chosen == family else chosen),
        params=dict(params or {}),
        config=cfg,
        split=split,
        test_fraction=test_fraction,
        database_url=database_url,
        notes=notes,
    )


def served_model_dir(models: Path, name: str | None) -> Path | None:
    """``models/NAME``, or the one model in ``models`` when no name is given (None: none yet).

    Several models and no name is a usage error that lists them.
    """
    if name is not None:
        return models / name if (models / name / "LATEST").is_file() else None
    found = sorted(p for p in models.glob("*/LATEST") if p.is_file()) if models.is_dir() else []
    if len(found) > 1:
        names = ", ".join(p.parent.name for p in found)
        raise ConfigError(f"{models} holds several models ({names}); pick one with --name")
    return found[0].parent if found else None


def parse_every(text: str) -> float:
    """``90s``, ``30m``, ``6h``, ``1d`` or plain seconds as seconds (> 0)."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    raw = text.strip().lower()
    scale = units.get(raw[-1:])
    number = raw[:-1] if scale is not None else raw
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ConfigError(f"--every {text!r}: expected a duration such as 90s, 30m, 6h or 1d")
    return seconds
