"""Catalog writes (API key required): ``PUT /items/{item_id}`` and ``POST /items`` (batch)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Request

from nextbuy.serving.deps import ApiKey, Service
from nextbuy.serving.event_schemas import (
    CatalogBatch,
    CatalogItem,
    CatalogUpdated,
    ItemChange,
    RowErrors,
    validate_rows,
)
from nextbuy.serving.responses import ORJSONResponse
from nextbuy.serving.routes.events import online_layer, read_rows, refuse
from nextbuy.serving.schemas import INVALID, ErrorMessage, ItemDetail

router = APIRouter(prefix="/items", tags=["catalog"], dependencies=[ApiKey], responses=INVALID)

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorMessage, "description": "No X-API-Key header."},
    403: {"model": ErrorMessage, "description": "Wrong key, or no key configured (disabled)."},
    503: {"model": ErrorMessage, "description": "The event store is down: nothing changed."},
}


@router.put(
    "/{item_id}",
    response_model=ItemDetail,
    summary="Add or change one catalog item",
    responses=_ERRORS,
)
async def put_item(
    item_id: Annotated[
        str,
        Path(min_length=1, max_length=256, description="The shop's item ID.", examples=["p_09999"]),
    ],
    body: ItemChange,
    request: Request,
    service: Service,
) -> ORJSONResponse:
    """Set the fields given (the others keep their value) and answer the item as served now.

    An ID the served model does not know becomes a **new item**: it is scored from its
    category, brand, name and price and can be recommended at once. `in_stock: false` takes
    it out of answers (unless a request asks for out-of-stock items); `hidden` or `deleted`
    take it out for good.
    """
    online = online_layer(request)
    item = CatalogItem(item_id=item_id, **body.model_dump(exclude_none=True))
    await anyio.to_thread.run_sync(online.update_items, [item])
    return ORJSONResponse(service.item(item_id))


@router.post(
    "",
    response_model=CatalogUpdated,
    summary="Add or change many catalog items",
    responses={
        **_ERRORS,
        413: {"model": ErrorMessage, "description": "More items than the batch limit."},
        422: {"model": RowErrors, "description": "Invalid rows (index and field): none applied."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CatalogBatch.model_json_schema()}},
        }
    },
)
async def post_items(request: Request) -> ORJSONResponse:
    """`{"items": [...]}` or a bare list (up to 10,000), all or nothing, like `POST /events`."""
    online = online_layer(request)
    rows = await read_rows(request, "items", online.settings.max_events_per_request)

    def apply() -> ORJSONResponse:
        items, _, errors = validate_rows(rows, "items")
        if errors:
            return refuse(errors, len(rows))
        return ORJSONResponse(online.update_items(items))  # type: ignore[arg-type]

    return await anyio.to_thread.run_sync(apply)
