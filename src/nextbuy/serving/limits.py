"""Request body size limit (pure ASGI): 413 before reading an oversized body, or as it streams."""

from __future__ import annotations

import orjson
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit; FastAPI answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=_message(limit))


def _message(limit: int) -> str:
    return f"request body is larger than the limit of {limit:,} bytes; send less per request"


class BodySizeLimitMiddleware:
    """Rejects bodies over ``max_bytes``: by ``Content-Length`` up front, else while streaming.

    ``overrides`` maps exact paths to their own limits (a batch of 10,000 events is larger
    than any read request).
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}
        self._response = orjson.dumps({"detail": _message(max_bytes)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope["path"], self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    await self._reject(send, 413 if value.isdigit() else 400, limit)
                    return
                break
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        await self.app(scope, limited_receive, send)

    async def _reject(self, send: Send, status: int, limit: int) -> None:
        if status != 413:
            body = b'{"detail":"invalid Content-Length header"}'
        elif limit == self.max_bytes:
            body = self._response
        else:
            body = orjson.dumps({"detail": _message(limit)})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
