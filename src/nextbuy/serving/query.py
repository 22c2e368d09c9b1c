"""Query parameters generated from a pydantic model's fields (the GET forms of the options).

Each field marked :class:`~nextbuy.serving.options.AsQuery` becomes one documented query
parameter with the field's type and constraints, so a GET route and the POST body it mirrors
cannot drift apart.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar, get_args, get_origin

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from nextbuy.serving.options import AsQuery

M = TypeVar("M", bound=BaseModel)


def query_model(
    model: type[M], fields: tuple[str, ...] | None = None
) -> Callable[..., Coroutine[Any, Any, M]]:
    """A FastAPI dependency building ``model`` from query parameters (``fields``: which ones;
    default every field marked :class:`AsQuery`). Fields left out keep their defaults."""
    marked = {
        name: mark
        for name, info in model.model_fields.items()
        for mark in info.metadata
        if isinstance(mark, AsQuery)
    }
    names = tuple(marked) if fields is None else fields
    parameters = [_parameter(model, name, marked[name]) for name in names]

    async def dependency(**values: Any) -> M:
        given = {name: value for name, value in values.items() if value is not None}
        try:
            return model.model_validate(given, by_name=True)
        except ValidationError as exc:  # constraints the query types could not express
            errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
            raise RequestValidationError(errors) from None

    dependency.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return dependency


def _parameter(model: type[BaseModel], name: str, mark: AsQuery) -> inspect.Parameter:
    """One keyword parameter ``name`` read from the query parameter ``mark.name``."""
    info = model.model_fields[name]
    constraints = [m for m in info.metadata if not isinstance(m, AsQuery)]
    description = mark.description or info.description or ""
    if _is_list(info.annotation):
        description += " Repeat the parameter for several."
    examples = info.examples[:1] if info.examples else None
    query = Query(alias=mark.name, description=description, examples=examples)
    default = None if info.default is PydanticUndefined else info.default
    annotation: Any = info.annotation
    if default is None:  # a default factory: the query parameter is optional, then omitted
        annotation = annotation | None
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[(annotation, *constraints, query)],  # type: ignore[valid-type]
    )


def _is_list(annotation: Any) -> bool:
    """True for ``list[...]`` (also inside ``Annotated`` or ``| None``)."""
    if get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in get_args(annotation) if not isinstance(arg, str))
