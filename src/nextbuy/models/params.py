"""Typed hyper-parameters (LensKit style): one pydantic class per model, checked at construction.

Each field carries its default, a one-line description (the comment ``config/default.yaml``
shows) and its range; :meth:`Hyperparameters.build` turns a mistake into one
:class:`~nextbuy.errors.ConfigError` naming the parameter, the value and what was expected.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

import annotated_types as at
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from typing_extensions import Self

from nextbuy.errors import ConfigError

#: A parameter that may be left to its density rule (:mod:`nextbuy.models.defaults`) at fit.
Auto = Literal["auto"]
#: Bounded numbers for ``X | Auto`` fields (the bounds must sit on the number, not the union).
AtLeastOne = Annotated[int, at.Ge(1)]
NonNegative = Annotated[float, at.Ge(0)]
Positive = Annotated[float, at.Gt(0)]


class Hyperparameters(BaseModel):
    """Base of every model's hyper-parameters: no unknown names, frozen once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def build(cls, model: str, params: Mapping[str, Any]) -> Self:
        """Validated parameters of ``model``; the first problem raises a :class:`ConfigError`."""
        unknown = sorted(set(params) - set(cls.model_fields))
        if unknown:
            raise ConfigError(
                f"model {model!r}: unknown parameter(s) {', '.join(unknown)}; "
                f"expected some of {', '.join(sorted(cls.model_fields))}"
            )
        try:
            return cls.model_validate(dict(params))
        except ValidationError as exc:
            raise ConfigError(_message(cls, model, exc)) from None

    def values(self) -> dict[str, Any]:
        """The parameters as a plain dict (JSON-ready), in declaration order."""
        return self.model_dump()

    def replace(self, model: str, changes: Mapping[str, Any]) -> Self:
        """A validated copy with ``changes`` applied (``set_params``)."""
        return self.build(model, {**self.values(), **changes})

    @classmethod
    def default_values(cls) -> dict[str, Any]:
        """Every parameter's default (a fresh dict each call)."""
        return cls().model_dump()

    @classmethod
    def expected(cls, name: str) -> str:
        """What parameter ``name`` accepts, in words: ``"an integer >= 1"``."""
        return describe(cls.model_fields[name])


def param(default: Any, description: str, **bounds: Any) -> Any:
    """One hyper-parameter: ``factors: int = param(64, "latent dimensions", ge=1)``.

    ``bounds`` are pydantic's ``ge``, ``gt``, ``le``, ``lt``; the description becomes the
    comment in ``config/default.yaml``.
    """
    return Field(default=default, description=description, **bounds)


def describe(field: FieldInfo) -> str:
    """A field's type and bounds in words, e.g. ``"a number > 0 and < 1"`` or ``"one of ..."``."""
    annotation: Any = field.annotation
    metadata = list(field.metadata)
    args = typing.get_args(annotation)
    auto = typing.get_origin(annotation) in (Union, types.UnionType) and Auto in args
    if auto:  # "an integer >= 1 or 'auto'": the bounds sit on the number
        rest = [a for a in args if a is not Auto]
        annotation = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
        if typing.get_origin(annotation) is Annotated:
            annotation, *extra = typing.get_args(annotation)
            metadata += extra
    text = _type_words(annotation)
    bounds = [
        f"{symbol} {getattr(item, attr)}"
        for item in metadata
        for kind, attr, symbol in _BOUNDS
        if isinstance(item, kind)
    ]
    words = f"{text} {' and '.join(bounds)}" if bounds else text
    return f"{words} or 'auto'" if auto else words


_BOUNDS = ((at.Ge, "ge", ">="), (at.Gt, "gt", ">"), (at.Le, "le", "<="), (at.Lt, "lt", "<"))


def _type_words(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(annotation))
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        words = " or ".join(_type_words(a) for a in args)
        return f"{words} or null" if len(args) < len(typing.get_args(annotation)) else words
    if origin is dict or annotation is dict:
        return "a mapping"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        annotation, "a value"
    )


def _message(cls: type[Hyperparameters], model: str, exc: ValidationError) -> str:
    """One sentence for the first error: ``model 'als': factors must be ..., not 0``."""
    err = exc.errors()[0]
    loc = [str(part) for part in err["loc"]]
    if loc and loc[0] in cls.model_fields and typing.get_args(cls.model_fields[loc[0]].annotation):
        loc = loc[:1] if Auto in typing.get_args(cls.model_fields[loc[0]].annotation) else loc
    if len(loc) == 1 and loc[0] in cls.model_fields:
        return f"model {model!r}: {loc[0]} must be {cls.expected(loc[0])}, not {err['input']!r}"
    if loc:  # inside a mapping, e.g. blend weights.ease
        what = str(err["msg"]).removeprefix("Input should be ")
        return f"model {model!r}: {'.'.join(loc)} must be {what}, not {err['input']!r}"
    reason = str(err["msg"]).removeprefix("Value error, ")
    return f"model {model!r}: {reason}"


def untyped(name: str, defaults: Mapping[str, Any]) -> type[Hyperparameters]:
    """Hyper-parameters of a model that declares only a ``defaults`` dict (any value type)."""
    fields: dict[str, Any] = {key: (Any, value) for key, value in defaults.items()}
    return create_model(f"{name}Params", __base__=Hyperparameters, **fields)
