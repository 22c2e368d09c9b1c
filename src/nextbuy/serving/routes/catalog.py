"""Catalog writes (API key required): ``PUT /items/{item_id}`` and ``POST /items`` (batch)."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from nextbuy.serving.deps import ApiKey, Online, Service, Settings
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.schemas.catalog import CatalogBatch, CatalogItem, CatalogUpdated, ItemChange
from nextbuy.serving.schemas.common import AUTH, INVALID, error
from nextbuy.serving.schemas.items import ItemDetail
from nextbuy.serving.writes import batch_docs, read_rows, refuse, validate_rows

STORE_DOWN = "nothing changed"

router = APIRouter(
    prefix="/items",
    tags=["catalog"],
    dependencies=[ApiKey],
    responses=INVALID | AUTH | error(503, f"The event store is down: {STORE_DOWN}."),
)


@router.put("/{item_id}", response_model=ItemDetail, summary="Add or change one catalog item")
async def put_item(
    item_id: Annotated[
        str,
        Path(min_length=1, max_length=256, description="The shop's item ID.", examples=["p_09999"]),
    ],
    body: ItemChange,
    service: Service,
    online: Online,
) -> ORJSONResponse:
    """Set the fields given (the others keep their value) and answer the item as served now.

    An ID the served model does not know becomes a **new item**: it is scored from its
    category, brand, name and price and can be recommended at once. `in_stock: false` takes
    it out of answers (unless a request asks for out-of-stock items); `hidden` or `deleted`
    take it out for good.
    """
    try:
        item = CatalogItem(item_id=item_id, **body.model_dump(exclude_none=True))
    except ValidationError as exc:  # the path's ID breaks the ID rules: the client's error
        raise RequestValidationError(
            [
                {**e, "loc": ("path", "item_id")}
                for e in exc.errors(include_url=False, include_input=False)
            ]
        ) from None
    await anyio.to_thread.run_sync(online.update_items, [item])
    return ORJSONResponse(service.item(item_id))


@router.post(
    "",
    response_model=CatalogUpdated,
    summary="Add or change many catalog items",
    **batch_docs(CatalogBatch, "items", "applied", STORE_DOWN),
)
async def post_items(request: Request, online: Online, settings: Settings) -> ORJSONResponse:
    """`{"items": [...]}` or a bare list (up to 10,000), all or nothing, like `POST /events`."""
    rows = await read_rows(request, "items", settings.max_events_per_request)

    def apply() -> ORJSONResponse:
        items, _, errors = validate_rows(rows, "items")
        if errors:
            return refuse(errors, len(rows))
        return ORJSONResponse(online.update_items(items))

    return await anyio.to_thread.run_sync(apply)
