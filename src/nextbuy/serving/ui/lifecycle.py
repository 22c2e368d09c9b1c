"""Model lifecycle actions of the dashboard: promoting a version is this one function.

For now promotion means "make it LATEST, atomically, and serve it"; when a registry with
aliases arrives, only :func:`promote` changes.
"""

from __future__ import annotations

from typing import Any

from nextbuy.artifacts import LATEST, list_versions
from nextbuy.errors import NextBuyError
from nextbuy.fsio import atomic_write_text
from nextbuy.serving.errors import ReloadError
from nextbuy.serving.service import RecommendationService


class PromotionError(NextBuyError):
    """The version cannot be promoted; the message says why, and nothing changed."""


def promote(service: RecommendationService, version: str) -> dict[str, Any]:
    """Point the served model's LATEST at ``version`` and reload (``ReloadResponse``).

    If the version cannot be loaded, LATEST is put back and the old version keeps serving.
    """
    base = service.snapshot.artifact.path.parent
    if version not in list_versions(base):
        raise PromotionError(f"{version!r} is not a version of {base.name}")
    latest = base / LATEST
    before = latest.read_text(encoding="utf-8") if latest.is_file() else None
    atomic_write_text(latest, version + "\n")
    try:
        return service.reload()
    except ReloadError as exc:
        if before is not None:
            atomic_write_text(latest, before)
        raise PromotionError(str(exc)) from None
