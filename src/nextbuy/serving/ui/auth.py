"""Dashboard access: the API key rule for pages, signed session cookies and CSRF tokens.

With no API key configured every page is open and every write is off (as in the API). With a
key, ``POST /ui/login`` checks it once and sets a signed, HttpOnly, SameSite=Strict cookie;
the key itself never reaches a URL or the browser again. Writes also need a CSRF token tied
to the session (a hidden field or the ``X-CSRF-Token`` header htmx sends).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from nextbuy.serving.deps import Settings
from nextbuy.serving.settings import ServingSettings

COOKIE = "nextbuy_session"
#: A session lasts this long (seconds); logging in again starts a new one.
SESSION_MAX_AGE_S = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """A page needs a session; the handler redirects to the login form."""


@dataclass(frozen=True)
class Access:
    """Who is looking: whether a key is configured, whether this browser proved it."""

    key_configured: bool
    session: str | None  # the session's nonce once logged in
    csrf: str  # token to embed in write forms ("" without a session)

    @property
    def can_write(self) -> bool:
        """Writes need a configured key and a session that proved it."""
        return self.key_configured and self.session is not None


def _key(settings: ServingSettings) -> str | None:
    key = settings.api_key.get_secret_value() if settings.api_key is not None else ""
    return key or None


def _secret(settings: ServingSettings) -> bytes:
    """The signing key: the configured session secret, else one derived from the API key."""
    if settings.session_secret is not None and settings.session_secret.get_secret_value():
        return settings.session_secret.get_secret_value().encode()
    key = _key(settings) or ""
    return hmac.new(key.encode(), b"nextbuy-ui-session-v1", hashlib.sha256).digest()


def _sign(secret: bytes, text: str) -> str:
    mac = hmac.new(secret, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def new_session(settings: ServingSettings, now: float | None = None) -> str:
    """A cookie value ``expiry.nonce.signature`` for a browser that just proved the key."""
    expires = int((time.time() if now is None else now) + SESSION_MAX_AGE_S)
    body = f"{expires}.{secrets.token_urlsafe(16)}"
    return f"{body}.{_sign(_secret(settings), body)}"


def read_session(
    settings: ServingSettings, cookie: str | None, now: float | None = None
) -> str | None:
    """The session nonce of a valid, unexpired cookie; None otherwise."""
    if not cookie or _key(settings) is None:
        return None
    parts = cookie.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sign(_secret(settings), body), parts[2]):
        return None
    if int(parts[0]) < (time.time() if now is None else now):
        return None
    return parts[1]


def csrf_token(settings: ServingSettings, session: str) -> str:
    """The CSRF token of one session (it changes with every login)."""
    return _sign(_secret(settings), f"csrf:{session}")


def check_key(settings: ServingSettings, offered: str) -> bool:
    """Whether ``offered`` is the configured API key (constant time)."""
    key = _key(settings)
    return key is not None and secrets.compare_digest(offered.encode(), key.encode())


async def get_access(request: Request, settings: Settings) -> Access:
    """The access of this request (never refuses: pages and writes decide)."""
    session = read_session(settings, request.cookies.get(COOKIE))
    token = csrf_token(settings, session) if session is not None else ""
    return Access(_key(settings) is not None, session, token)


async def require_reader(access: Annotated[Access, Depends(get_access)]) -> Access:
    """Pages: open without a key; with one, only to a logged-in browser."""
    if access.key_configured and access.session is None:
        raise LoginRequired()
    return access


async def require_writer(
    request: Request, settings: Settings, access: Annotated[Access, Depends(get_access)]
) -> Access:
    """Writes: a session that proved the key and the session's CSRF token."""
    if not access.key_configured:
        raise HTTPException(
            403,
            detail="writes are off: the server has no API key configured "
            "(set NEXTBUY_API_KEY and restart to enable them)",
        )
    if access.session is None:
        raise HTTPException(401, detail="log in with the API key first (/ui/login)")
    offered = request.headers.get(CSRF_HEADER)
    if offered is None:
        from nextbuy.serving.ui.forms import read_form

        offered = (await read_form(request)).get(CSRF_FIELD)
    if not offered or not hmac.compare_digest(offered, access.csrf):
        raise HTTPException(403, detail="missing or wrong CSRF token; reload the page and retry")
    return access


Reader = Annotated[Access, Depends(require_reader)]
Writer = Annotated[Access, Depends(require_writer)]
AnyAccess = Annotated[Access, Depends(get_access)]
