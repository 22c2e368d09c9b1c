"""The one rule for IDs that clients send: what is refused, what is normalised, and why.

Every backend stores the same IDs: PostgreSQL refuses NUL bytes where SQLite keeps them, so
the rule is checked before any store sees an ID, and a bad ID is the client's error (422).
"""

from __future__ import annotations

import re

#: Control characters (C0, DEL, C1): NUL breaks PostgreSQL, the rest cannot be typed back.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Removed from both ends: whitespace and byte-order marks (a CSV export's first cell).
_STRIP = " \t\r\n\ufeff\u00a0\u2000\u2001\u2002\u2003\u2009\u200b\u3000"


def check_id(value: str) -> str:
    """``value`` without surrounding whitespace or BOMs; ValueError for control characters."""
    cleaned = value.strip(_STRIP)
    if not cleaned:
        raise ValueError("must not be empty or only whitespace")
    bad = _CONTROL.search(cleaned)
    if bad is not None:
        raise ValueError(
            f"must not contain control characters (found U+{ord(bad.group()):04X} at "
            f"position {bad.start()})"
        )
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    if "\ufeff" in cleaned:
        raise ValueError("must not contain a byte-order mark (U+FEFF)")
    return cleaned


def check_written_id(value: str) -> str:
    """:func:`check_id`, and no ``/``: an ID written through the API must be readable back
    through ``/items/{item_id}`` and ``/recommend/{user_id}``, whose paths cannot hold one."""
    cleaned = check_id(value)
    if "/" in cleaned:
        raise ValueError(
            "must not contain '/' (it could not be read back through /items/{id} or "
            "/recommend/{id})"
        )
    return cleaned


def check_text(value: str | None) -> str | None:
    """A catalog text field (name, brand, category): no NUL or other control characters, which
    PostgreSQL refuses and no shop means; the same answer (422) on every backend."""
    if value is not None and _CONTROL.search(value):
        raise ValueError("must not contain control characters (NUL, escapes and the like)")
    return value
