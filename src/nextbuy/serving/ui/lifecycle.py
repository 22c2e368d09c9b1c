"""Model lifecycle actions of the dashboard: promoting a version goes through the registry.

The dashboard moves the alias the server follows: ``NAME@ALIAS`` moves that alias, a plain
``NAME`` moves ``latest`` (the LATEST file), then the server reloads.
"""

from __future__ import annotations

from typing import Any

from nextbuy import aliases
from nextbuy import modelregistry as registry
from nextbuy.errors import NextBuyError
from nextbuy.serving.errors import ReloadError
from nextbuy.serving.service import RecommendationService


class PromotionError(NextBuyError):
    """The version cannot be promoted; the message says why, and nothing changed."""


def promote(service: RecommendationService, version: str) -> dict[str, Any]:
    """Point the served alias at ``version`` (registry promote) and reload (``ReloadResponse``).

    If the version cannot be loaded, the alias is put back and the old version keeps serving.
    """
    base = service.snapshot.artifact.path.parent
    alias = aliases.split_alias(service.model_dir)[1] or aliases.LATEST_ALIAS
    try:
        before, _ = registry.promote(base, version, alias)
    except NextBuyError as exc:
        raise PromotionError(f"{version!r} is not a version of {base.name}: {exc}") from None
    try:
        return service.reload()
    except ReloadError as exc:
        if before is not None:
            aliases.set_alias(base, alias, before)
        raise PromotionError(str(exc)) from None
