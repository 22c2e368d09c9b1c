"""The published OpenAPI document, made true to the server: resolvable references, every
answer a route can give (413 for bodies, 422 for unparseable ones) documented."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from nextbuy.serving.schemas.common import ErrorMessage

#: The answer of a body over the size limit (``limits.BodySizeLimitMiddleware``).
TOO_LARGE = {"description": "The body is larger than the server's limit (or the batch too big)."}
#: The server's (uvicorn's) answer to a request line it cannot parse: a URL too long, say.
MALFORMED = {
    "description": "Malformed HTTP request (a URL longer than the server accepts, say).",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}
_METHODS_WITH_BODY = ("post", "put", "patch")


def inline_defs(schema: Any, defs: dict[str, Any] | None = None) -> Any:
    """``schema`` with every local ``#/$defs/NAME`` reference replaced by its definition.

    Bodies documented by hand (``model_json_schema()``) carry their own ``$defs``, which are
    unresolvable once the schema sits inside the OpenAPI document.
    """
    if defs is None and isinstance(schema, dict):
        defs = schema.get("$defs", {})
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and defs:
            target = defs[ref.removeprefix("#/$defs/")]
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return inline_defs(merged, defs)
        return {k: inline_defs(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [inline_defs(v, defs) for v in schema]
    return schema


def truthful(spec: dict[str, Any]) -> dict[str, Any]:
    """Fix the generated document in place: inline hand-written bodies, add 413 where a body
    is read (the size limit applies to every one)."""
    error_ref = {"$ref": f"#/components/schemas/{ErrorMessage.__name__}"}
    spec.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        ErrorMessage.__name__, ErrorMessage.model_json_schema()
    )
    for methods in spec.get("paths", {}).values():
        for method, operation in methods.items():
            if operation.get("parameters"):  # uvicorn's own answer to a URL it cannot take
                operation.setdefault("responses", {}).setdefault("400", MALFORMED)
            body = operation.get("requestBody")
            if body is not None:
                operation["requestBody"] = inline_defs(copy.deepcopy(body))
            if method in _METHODS_WITH_BODY and body is not None:
                responses = operation.setdefault("responses", {})
                responses.setdefault(
                    "413", {**TOO_LARGE, "content": {"application/json": {"schema": error_ref}}}
                )
    return _tuples(spec)


def _tuples(schema: Any) -> Any:
    """Tuples as every validator reads them: ``n`` items of one schema when they are alike
    (``[low, high]``; schemathesis turns ``prefixItems`` into an invalid ``items: [a, b]``),
    else ``prefixItems``."""
    if isinstance(schema, dict):
        for key, value in list(schema.items()):
            if key in ("examples", "example", "default"):  # data, not schemas
                continue
            if key in ("items", "prefixItems") and isinstance(value, list):
                del schema[key]
                # [number, number]: "n numbers" reads the same to every client generator
                if value and all(v == value[0] for v in value):
                    schema.update(items=value[0], minItems=len(value), maxItems=len(value))
                else:
                    schema["prefixItems"] = value
            else:
                _tuples(value)
    elif isinstance(schema, list):
        for value in schema:
            _tuples(value)
    return schema


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the fixed document (built once, like FastAPI's)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = truthful(spec)
        return app.openapi_schema

    method: Callable[[], dict[str, Any]] = openapi
    app.openapi = method  # type: ignore[method-assign]
