"""Model registry: names to classes, so configs and the CLI can say ``--model als``.

A leaf module: the built-in models are listed as ``"module:Class"`` strings and imported on
first use, so no model imports the registry and importing the registry imports no model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nextbuy.errors import ConfigError

if TYPE_CHECKING:
    from nextbuy.models.base import Recommender

#: Built-in models: registry name -> ``"module:Class"``.
BUILTIN: dict[str, str] = {
    "popularity": "nextbuy.models.popularity:Popularity",
    "trending": "nextbuy.models.trending:Trending",
    "itemknn": "nextbuy.models.knn:ItemKNN",
    "rp3beta": "nextbuy.models.rp3beta:RP3beta",
    "ease": "nextbuy.models.ease:EASE",
    "userease": "nextbuy.models.userease:UserEASE",
    "infae": "nextbuy.models.infae:InfAE",
    "als": "nextbuy.models.als:ALS",
    "ials": "nextbuy.models.ials:IALS",
    "bpr": "nextbuy.models.bpr:BPR",
    "blend": "nextbuy.models.blend:Blend",
    "mf": "nextbuy.models.mf:MF",
    "bpmf": "nextbuy.models.bpmf:BPMF",
    "globalmean": "nextbuy.models.bias:GlobalMean",
    "bias": "nextbuy.models.bias:Bias",
    "sasrec": "nextbuy.models.sasrec:SASRec",
    "spark_als": "nextbuy.spark.models:SparkALS",
    "spark_als_explicit": "nextbuy.spark.models:SparkExplicitALS",
}

#: Packages of the ``train`` extra: a serving-only install lacks them (see pyproject.toml).
TRAIN_EXTRA = ("torch", "implicit", "optuna", "matplotlib", "onnx")

#: Models added at run time by :func:`register` (plugins, tests).
_EXTRA: dict[str, type[Recommender]] = {}


def register(cls: type[Recommender]) -> type[Recommender]:
    """Class decorator adding a model defined outside this package under its ``name``."""
    _EXTRA[cls.name] = cls
    return cls


def available() -> list[str]:
    """Names of all registered models (built-in and registered)."""
    return sorted({*BUILTIN, *_EXTRA})


def get(name: str) -> type[Recommender]:
    """The class registered under ``name``; a clear error lists the known names."""
    if name in _EXTRA:
        return _EXTRA[name]
    target = BUILTIN.get(name)
    if target is None:
        raise ConfigError(f"unknown model {name!r}; expected one of {', '.join(available())}")
    module, _, attr = target.partition(":")
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise missing_extra(name, exc) from None
    cls: type[Recommender] = getattr(loaded, attr)
    return cls


def missing_extra(name: str, exc: ModuleNotFoundError) -> Exception:
    """The error to raise for ``exc``: one line naming ``nextbuy[train]`` when its package is
    what is missing (a serving-only install), else ``exc`` itself."""
    missing = (exc.name or "").partition(".")[0]
    if missing not in TRAIN_EXTRA:
        return exc
    return ConfigError(
        f"model {name!r} needs {missing}, which this install lacks (a serving-only install); "
        "install the training extra: pip install 'nextbuy[train]'"
    )


def create(name: str, **params: Any) -> Recommender:
    """A new, unfitted model: ``create("als", factors=64)``."""
    return get(name)(**params)


def names_with(capability: type) -> list[str]:
    """Built-in model names whose class has ``capability`` (a runtime-checkable protocol)."""
    return [name for name in BUILTIN if issubclass(get(name), capability)]
