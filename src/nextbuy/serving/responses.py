"""The JSON response class of every route: orjson, straight from dicts (no second validation)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class ORJSONResponse(JSONResponse):
    """``application/json`` rendered by orjson (numpy scalars and arrays allowed).

    Routes build plain dicts and return this directly, so FastAPI skips re-validating the
    answer against its response model. It subclasses ``JSONResponse`` so that OpenAPI
    publishes each route's response model instead of ``{"type": "string"}``.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
