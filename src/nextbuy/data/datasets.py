"""Data-set names: every event, catalog row and model belongs to one data set (issue 11.4)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nextbuy.errors import ConfigError

#: The data set of rows stored before data sets existed, and of deployments that name none.
DEFAULT_DATASET = "default"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_dataset_name(name: str) -> str:
    """A data-set name: 1-128 letters, digits, ``.``, ``_`` or ``-`` (it names stored rows)."""
    if not _NAME.fullmatch(name or ""):
        raise ConfigError(
            f"data set {name!r}: expected 1-128 letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit)"
        )
    return name


def dataset_of(manifest: Mapping[str, Any]) -> str:
    """The data set a model was trained on (models saved before data sets: ``default``)."""
    return str((manifest.get("data") or {}).get("dataset") or DEFAULT_DATASET)


def mixing_error(model: str, model_dataset: str, other: str, where: str) -> ConfigError:
    """The one message that refuses to mix two data sets."""
    return ConfigError(
        f"{model} was trained on data set {model_dataset!r} but {where} is data set {other!r}; "
        f"data sets never mix: serve or retrain it with --dataset {model_dataset} "
        "(or train a new model on the other data set)"
    )
