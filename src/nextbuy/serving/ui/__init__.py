"""The dashboard at ``/ui``: server-rendered pages (Jinja2) with htmx, served by the API.

No front-end build and nothing fetched at run time: htmx and uPlot are vendored under
``static/`` with their licences. Pages read through the same service methods as the API.
``mount_ui(app)`` is all the app factory calls.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from nextbuy.serving.ui.auth import LoginRequired

STATIC = Path(__file__).parent / "static"


def mount_ui(app: FastAPI) -> None:
    """Add the dashboard's routes, static files, state and login redirect to ``app``."""
    from nextbuy.serving.ui import actions, pages
    from nextbuy.serving.ui.exposure import ExposureCache
    from nextbuy.serving.ui.state import UiState
    from nextbuy.serving.ui.traffic import TrafficWindow

    app.state.ui = UiState(
        traffic=TrafficWindow(app.state.metrics), exposure=ExposureCache(app.state.service)
    )
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.add_exception_handler(LoginRequired, _to_login)


async def _to_login(request: Request, exc: Exception) -> Response:
    """Pages without a session go to the login form (htmx fragments redirect the page)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": "/ui/login"})
    from urllib.parse import quote

    return RedirectResponse(f"/ui/login?next={quote(target, safe='/')}", status_code=303)


__all__ = ["mount_ui"]
