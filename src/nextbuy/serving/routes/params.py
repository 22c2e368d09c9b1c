"""Query parameters shared by the GET routes, declared once with their docs and examples."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from nextbuy.serving.schemas import MAX_K

K = Annotated[int, Query(ge=1, le=MAX_K, description="How many items (1..1000).", examples=[10])]
Categories = Annotated[
    list[str] | None,
    Query(description="Only these categories (repeat for any of several).", examples=[["shoes"]]),
]
Brands = Annotated[
    list[str] | None,
    Query(description="Only these brands (repeat for any of several).", examples=[["Acme"]]),
]
InStockOnly = Annotated[bool, Query(description="Only items in stock.", examples=[False])]
AnyStock = Annotated[bool, Query(description="Also return out-of-stock items.", examples=[False])]
