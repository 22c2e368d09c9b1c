"""Form bodies of the dashboard's POSTs (``application/x-www-form-urlencoded``), parsed once.

The standard library parses them, so the dashboard needs no multipart package.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import HTTPException, Request

#: Largest form accepted (a training form is a few hundred bytes).
MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request) -> dict[str, str]:
    """The form's fields (last value wins), cached on the request for later readers."""
    cached = getattr(request.state, "ui_form", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, detail=f"form larger than {MAX_FORM_BYTES} bytes")
    fields: dict[str, str] = {}
    if body and kind in ("application/x-www-form-urlencoded", ""):
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif body:
        raise HTTPException(415, detail="send the form as application/x-www-form-urlencoded")
    request.state.ui_form = fields
    return fields
