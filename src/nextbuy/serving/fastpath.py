"""The three hottest read routes answered in pure ASGI, in front of FastAPI's routing.

FastAPI's route matching, dependency solving and body handling cost more per request than
scoring one user does. :class:`HotRoutes` answers the well-formed common case of
``POST /recommend``, ``POST /predict/rating`` and ``GET /items/{id}/similar`` itself, with
the same request models, service calls and orjson bodies as the routes. Their errors (a body
that does not validate, ``k`` over the limit, an unknown item) are answered here too, by the
app's own exception handlers, so the 4xx bodies are the routes' and nothing runs twice.
Anything else (another route, a body that is not plain JSON, a query in another spelling)
goes to FastAPI unchanged, body replayed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nextbuy.serving.deps import limit_k
from nextbuy.serving.experiments import ExperimentRouter
from nextbuy.serving.schemas.common import MAX_K
from nextbuy.serving.schemas.predict import RatingRequest
from nextbuy.serving.schemas.recommend import RecommendRequest
from nextbuy.serving.service import RecommendationService

#: Bodies larger than this (or without a Content-Length) go to FastAPI: hot bodies are small.
MAX_HOT_BODY = 16_384
#: ``k`` in the one spelling answered here (``k=0010``, ``k=+5``: FastAPI's business).
_K = re.compile(rb"[1-9][0-9]{0,3}")
_JSON = b"application/json"
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

#: The app's exception handlers (``app.exception_handlers``): exception class -> handler.
Handlers = Mapping[Any, Callable[[Request, Any], Response | Awaitable[Response]]]


class HotRoutes:
    """Pure-ASGI answers of the hot routes' 200s; everything else passes through to ``app``.

    Sits inside the request-ID, metrics, access-log, stale-header and body-size middleware,
    so those see these requests as any other; ``scope["route"]`` is set to the route that
    would have matched (metrics and logs label by its path).
    """

    def __init__(
        self,
        app: ASGIApp,
        service: RecommendationService,
        experiments: ExperimentRouter,
        routes: Iterable[BaseRoute],
        handlers: Handlers | None = None,
    ) -> None:
        self.app = app
        self._handlers = handlers if handlers is not None else {}
        self.service = service
        self.experiments = experiments
        by_path = {getattr(route, "path", None): route for route in routes}
        posts: dict[str, Callable[[Any], Awaitable[dict[str, Any]]]] = {
            "/recommend": self._recommend,
            "/recommend/": self._recommend,
            "/predict/rating": self._predict,
            "/predict/rating/": self._predict,
        }
        self._posts = {
            path: (handler, by_path[path]) for path, handler in posts.items() if path in by_path
        }
        self._similar_route = by_path.get("/items/{item_id}/similar")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and path in self._posts:
            await self._post(scope, receive, send, *self._posts[path])
        elif method == "GET" and self._similar_route is not None and path.startswith("/items/"):
            await self._similar(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    # ------------------------------------------------------------------ POST routes
    async def _post(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        handler: Callable[[Any], Awaitable[dict[str, Any]]],
        route: BaseRoute,
    ) -> None:
        """Read a small JSON body, answer it with ``handler``, or replay it to FastAPI."""
        length = content_type = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"content-type":
                content_type = value
        if content_type != _JSON or length is None or not length.isdigit():
            await self.app(scope, receive, send)
            return
        if int(length) > MAX_HOT_BODY:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left: FastAPI's business
                await self.app(scope, _replay(chunks, receive, message), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:  # FastAPI's decoder and its error (rare: not plain JSON)
            await self.app(scope, _replay([body], receive), send)
            return
        scope["route"] = route
        try:
            answer = await handler(parsed)
        except ValidationError as exc:  # as FastAPI reports a body that does not validate
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            await self._error(scope, receive, send, RequestValidationError(errors, body=parsed))
            return
        except Exception as exc:
            await self._error(scope, receive, send, exc)
            return
        await _send_json(send, answer)

    async def _recommend(self, body: Any) -> dict[str, Any]:
        request = RecommendRequest.model_validate(body, from_attributes=True)
        limit_k(request.k, self.service.settings, "n_recommendations")
        return await self.experiments.recommend(request.user_id, request)

    async def _predict(self, body: Any) -> dict[str, Any]:
        request = RatingRequest.model_validate(body, from_attributes=True)
        return self.service.predict(request.user_id, request.item_id)

    async def _error(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        """Answer ``exc`` with the app's handler for it, as a route raising it would be; an
        exception without one propagates (the error middleware's 500, as from a route)."""
        for kind in type(exc).__mro__:
            handler = self._handlers.get(kind)
            if handler is not None:
                response = handler(Request(scope, receive), exc)
                if not isinstance(response, Response):  # the app's handlers are coroutines
                    response = await response
                await response(scope, receive, send)
                return
        raise exc

    # ------------------------------------------------------------------ GET similar
    async def _similar(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``GET /items/{item_id}/similar`` with at most ``k`` and ``include_out_of_stock``."""
        parts = scope["path"].split("/")
        query = _similar_query(scope.get("query_string", b""))
        if len(parts) != 4 or parts[3] != "similar" or not 0 < len(parts[2]) <= 256 or not query:
            await self.app(scope, receive, send)
            return
        k, include_out_of_stock = query
        scope["route"] = self._similar_route
        scope["path_params"] = {"item_id": parts[2]}
        try:
            limit_k(k, self.service.settings)
            found = await self.service.similar_async(parts[2], k, include_out_of_stock)
        except Exception as exc:  # over the limit, unknown item, no similarity: the 4xx
            await self._error(scope, receive, send, exc)
            return
        await _send_json(send, self.experiments.tag_similar(found))


def _similar_query(raw: bytes) -> tuple[int, bool] | None:
    """``(k, include_out_of_stock)`` of a plain query (each at most once, ``true``/``false``);
    None for anything else, which FastAPI then parses and validates."""
    k, include_out_of_stock, seen = 10, False, set()
    for part in raw.split(b"&") if raw else ():
        name, eq, value = part.partition(b"=")
        if name in seen or not eq:
            return None
        seen.add(name)
        if name == b"k" and _K.fullmatch(value) and int(value) <= MAX_K:
            k = int(value)  # above MAX_K: the query model's own 422
        elif name == b"include_out_of_stock" and value in (b"true", b"false"):
            include_out_of_stock = value == b"true"
        else:
            return None
    return k, include_out_of_stock


def _replay(chunks: list[bytes], receive: Receive, last: Message | None = None) -> Receive:
    """A ``receive`` that hands out the body already read (and ``last``), then ``receive``."""
    pending: list[Message] = [
        {"type": "http.request", "body": b"".join(chunks), "more_body": False}
    ]
    if last is not None:
        pending = [{**pending[0], "more_body": True}, last] if chunks else [last]

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _send_json(send: Send, answer: dict[str, Any]) -> None:
    """A 200 ``application/json`` answer, as :class:`~.responses.ORJSONResponse` sends it."""
    body = orjson.dumps(answer, option=_OPTIONS)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"%d" % len(body)), (b"content-type", _JSON)],
        }
    )
    await send({"type": "http.response.body", "body": body})
