"""The seed service's ``POST /reco``: its request and its answer, field for field."""

from __future__ import annotations

from pydantic import Field, RootModel

from nextbuy.serving.schemas.common import RequestSchema, ResponseSchema, UserId


class SeedRecoRequest(RequestSchema):
    """The seed's body: ``{"user_id_hash": ...}`` (extra fields are ignored, as the seed did)."""

    user_id_hash: UserId


class SeedRecoItem(ResponseSchema):
    """One of the seed's top 5: exactly ``score, item_name, item_id, brand``."""

    score: float = Field(description="The model's score.", examples=[0.8731])
    item_name: str | None = Field(description="Catalog name.", examples=["Trail running shoe"])
    item_id: str = Field(description="The item's ID.", examples=["p_01234"])
    brand: str | None = Field(description="Catalog brand.", examples=["Acme"])


class SeedRecoResponse(RootModel[list[SeedRecoItem]]):
    """The seed's answer: a bare JSON list, best first."""
