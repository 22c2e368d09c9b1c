"""Model registry: names to classes, so configs and the CLI can say ``--model als``."""

from __future__ import annotations

from typing import Any

from nextbuy.errors import ConfigError
from nextbuy.models.base import Recommender

_MODELS: dict[str, type[Recommender]] = {}


def register(cls: type[Recommender]) -> type[Recommender]:
    """Class decorator adding a model under its ``name``."""
    _MODELS[cls.name] = cls
    return cls


def _load_builtins() -> None:
    # Imported here so that registering is a side effect of asking, not of importing the package.
    from nextbuy.models import (  # noqa: F401
        als,
        blend,
        bpmf,
        bpr,
        ease,
        ials,
        knn,
        mf,
        popularity,
        rp3beta,
        spark_als,
        userease,
    )


def available() -> list[str]:
    """Names of all registered models."""
    _load_builtins()
    return sorted(_MODELS)


def get(name: str) -> type[Recommender]:
    """The class registered under ``name``; a clear error lists the known names."""
    _load_builtins()
    try:
        return _MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; expected one of {', '.join(sorted(_MODELS))}"
        ) from None


def create(name: str, **params: Any) -> Recommender:
    """A new, unfitted model: ``create("als", factors=64)``."""
    return get(name)(**params)
