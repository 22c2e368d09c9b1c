"""Typed configuration (pydantic) read from YAML; CLI flags and ``--set`` override it."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nextbuy.errors import ConfigError, NextBuyError

if TYPE_CHECKING:
    from nextbuy.data.columns import ColumnMap

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "default.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """How to read the interaction file: format, column names, ratings or implicit feedback."""

    format: str | None = None
    user_col: str = "user_id"
    item_col: str = "item_id"
    value_col: str | None = None
    time_col: str | None = None
    event_col: str | None = None
    explicit: bool | None = None
    rating_scale: tuple[float, float] | None = None
    positive_threshold: float | None = None
    event_weights: dict[str, float] | None = None
    min_user_interactions: int = Field(default=1, ge=1)
    min_item_interactions: int = Field(default=1, ge=1)
    kcore: bool = False

    @field_validator("rating_scale", mode="before")
    @classmethod
    def _scale(cls, value: Any) -> Any:
        """``"1-5"`` (the CLI's form) or ``[1, 5]``; low below high."""
        if value is None:
            return None
        from nextbuy.data.feedback import parse_scale

        try:
            return parse_scale(value)
        except NextBuyError as exc:
            raise ValueError(str(exc)) from None

    def column_map(self) -> ColumnMap:
        """The columns as :func:`nextbuy.data.sources.read_interactions` takes them."""
        from nextbuy.data.columns import ColumnMap

        return ColumnMap(
            user=self.user_col,
            item=self.item_col,
            value=self.value_col,
            time=self.time_col,
            event=self.event_col,
            explicit=self.explicit,
            scale=self.rating_scale,
        )


class SplitConfig(_Strict):
    """How to hold out a test set for the evaluation stored with the model."""

    method: Literal["auto", "random", "user", "time", "last", "latest", "none"] = "auto"
    test_fraction: float = Field(default=0.2, gt=0, lt=1)
    seed: int = 42


class ModelConfig(_Strict):
    """Which model to train and its hyper-parameters (merged over the model's defaults)."""

    name: str = "auto"  # auto = search the families on validation (nextbuy.selection)
    params: dict[str, Any] = Field(default_factory=dict)


class EvaluationConfig(_Strict):
    """Cut-off and baseline of the evaluation run after training."""

    k: int = Field(default=10, ge=1)
    baseline: str | None = "popularity"


class Config(_Strict):
    """The whole training configuration; ``config/default.yaml`` documents every field."""

    data: DataConfig = Field(default_factory=lambda: DataConfig())
    split: SplitConfig = Field(default_factory=lambda: SplitConfig())
    model: ModelConfig = Field(default_factory=lambda: ModelConfig())
    evaluation: EvaluationConfig = Field(default_factory=lambda: EvaluationConfig())
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def model_params(self) -> dict[str, Any]:
        """Parameters for ``model.name``: ``models:`` defaults, then ``model.params``."""
        return {**self.models.get(self.model.name, {}), **self.model.params}


def load_config(path: Path | None = None) -> Config:
    """Read a YAML config (the shipped default when ``path`` is None and it exists)."""
    if path is None:
        if not DEFAULT_CONFIG.exists():
            return Config()
        path = DEFAULT_CONFIG
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: {where}: {err['msg']}") from exc


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Parse ``--set key=value`` pairs; values are YAML scalars (``3``, ``0.1``, ``true``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r}: expected key=value, e.g. --set factors=64")
        try:
            parsed = yaml.safe_load(value) if value.strip() else None
            if isinstance(parsed, str):  # YAML 1.1 reads "1e-3" as a string
                with contextlib.suppress(ValueError):
                    parsed = float(parsed)
            out[key.strip()] = parsed
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {pair!r}: cannot parse value ({exc})") from exc
    return out


# ---------------------------------------------------------------------- config/default.yaml
#: The line that opens the generated ``models:`` part of ``config/default.yaml``.
MODELS_HEADER = (
    "# Per-model hyper-parameters (the defaults; --set key=value or model.params override them)."
)
#: Column at which the generated comments start (as in the hand-written part of the file).
COMMENT_COLUMN = 30


def models_section() -> str:
    """The ``models:`` part of ``config/default.yaml``: every built-in model's defaults, each
    commented with its field description (from the model's typed hyper-parameters)."""
    from nextbuy.models import registry

    lines = [MODELS_HEADER, "models:"]
    for index, name in enumerate(registry.BUILTIN):
        config_class = registry.get(name).config_class
        if index:
            lines.append("")
        empty = not config_class.model_fields  # e.g. globalmean: nothing to set
        lines.append(f"  {name}: {{}}" if empty else f"  {name}:")
        for key, value in config_class.default_values().items():
            comment = config_class.model_fields[key].description or ""
            nested = isinstance(value, dict) and bool(value)
            entry = f"    {key}:" if nested else f"    {key}: {_yaml(value)}"
            lines.append(_commented(entry, comment))
            if nested:
                lines += [f"      {k}: {_yaml(v)}" for k, v in value.items()]
    return "\n".join(lines) + "\n"


def write_default_config(path: Path = DEFAULT_CONFIG) -> None:
    """Regenerate the ``models:`` part of ``path`` from the models, keeping everything above."""
    text = Path(path).read_text()
    head = text.split(MODELS_HEADER, 1)[0]
    Path(path).write_text(head + models_section())


def _commented(line: str, comment: str) -> str:
    if not comment:
        return line
    return f"{line.ljust(COMMENT_COLUMN - 2)}  # {comment}"


def _yaml(value: Any) -> str:
    """A value as inline YAML (``true``, ``null``, ``30000``, ``{}``)."""
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
