"""Jinja2 templates of the dashboard and the one way a page is answered (with its headers)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

import nextbuy

#: No inline scripts, nothing from elsewhere (catalog pictures excepted): a page can only run
#: the dashboard's own files.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https: http:; connect-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

env = Environment(
    loader=PackageLoader("nextbuy.serving.ui", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{100 * float(value):.{digits}f}%"


def _when(ts: Any) -> str:
    """A Unix time or ISO string as ``2024-05-01 12:00 UTC``."""
    if ts is None or ts == "":
        return "–"
    try:
        if isinstance(ts, (int, float)):
            moment = datetime.fromtimestamp(float(ts), timezone.utc)
        else:
            moment = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return str(ts)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


env.filters.update(num=_num, pct=_pct, when=_when)
env.globals["version"] = nextbuy.__version__


def render(
    request: Request, template: str, status_code: int = 200, headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:  # fmt: skip
    """The template rendered with ``context`` (plus the request) and the dashboard's headers."""
    html = env.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code, headers={**HEADERS, **(headers or {})})
