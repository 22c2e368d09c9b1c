"""The seed service's route, kept so its clients switch without a change: ``POST /reco``.

The seed answered ``{"user_id_hash": ...}`` with a JSON list of the top 5 items, each
``{score, item_name, item_id, brand}``; this route answers the same from ``/recommend``'s
path (fallback to popular items for unknown users, seen items left out).
"""

from __future__ import annotations

from fastapi import APIRouter

from nextbuy.serving.deps import Service
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.common import INVALID
from nextbuy.serving.schemas.compat import SeedRecoRequest, SeedRecoResponse

router = APIRouter(tags=["seed compatibility"], responses=INVALID)

#: The seed always answered five items.
SEED_K = 5


@router.post(
    "/reco",
    response_model=SeedRecoResponse,
    summary="Seed-compatible recommendations (top 5, the seed's shape)",
)
async def seed_reco(body: SeedRecoRequest, service: Service) -> ORJSONResponse:
    """The seed's request and answer: use `POST /recommend` for everything else."""
    answer = await service.recommend_async(body.user_id_hash, RecommendOptions(k=SEED_K))
    return ORJSONResponse(
        [
            {
                "score": item["score"],
                "item_name": item.get("name"),
                "item_id": item["item_id"],
                "brand": item.get("brand"),
            }
            for item in answer["recommendations"]
        ]
    )


# trailing slash as on the other seed paths (no redirect: a POST body would be lost)
router.add_api_route(
    "/reco/",
    seed_reco,
    methods=["POST"],
    response_model=SeedRecoResponse,
    include_in_schema=False,
)
