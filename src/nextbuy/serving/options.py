"""What one recommendation request asks for: the one definition of every request option.

:class:`RecommendOptions` is the body of ``POST /recommend`` (with ``user_id`` added), the
query parameters of the GET routes (fields marked :class:`AsQuery`), the service's input
(``service.recommend(user_id, options)``, the CLI builds one too) and the answer cache's key.
Adding an option is one field here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import AliasChoices, ConfigDict, Field

from nextbuy.serving.schemas.common import MAX_K, RequestSchema, StrList


@dataclass(frozen=True)
class AsQuery:
    """Marks an option the GET routes take as a query parameter, under ``name``.

    The parameter is documented by the field's own description (list options add that the
    parameter repeats), or by ``description`` where a query reads differently.
    """

    name: str
    description: str | None = None


#: Catalog values (categories, brands) an item must have one of; case does not matter.
CatalogValues = Annotated[StrList | None, Field(max_length=100)]


class RecommendOptions(RequestSchema):
    """How many items to return and which ones are allowed."""

    model_config = ConfigDict(
        coerce_numbers_to_str=True,
        protected_namespaces=(),
        frozen=True,
        use_attribute_docstrings=True,
    )

    k: Annotated[int, AsQuery("k", "How many items (1..1000).")] = Field(
        default=10,
        ge=1,
        le=MAX_K,
        validation_alias=AliasChoices("n_recommendations", "num_recommendations", "k"),
        examples=[10],
    )
    """How many items to return (1..1000); also accepted as `num_recommendations` or `k`."""
    exclude_seen: Annotated[bool, AsQuery("exclude_seen")] = Field(default=True, examples=[True])
    """Leave out items the user interacted with in the training data."""
    exclude_item_ids: Annotated[StrList, AsQuery("exclude")] = Field(
        default_factory=list, max_length=10_000, examples=[["p_00007", "p_00019"]]
    )
    """Item IDs never to return (e.g. what is already in the cart); unknown IDs are ignored."""
    categories: Annotated[CatalogValues, AsQuery("category")] = Field(
        default=None, examples=[["shoes", "outdoor"]]
    )
    """Only items in any of these categories (case-insensitive)."""
    brands: Annotated[CatalogValues, AsQuery("brand")] = Field(default=None, examples=[["Acme"]])
    """Only items of any of these brands (case-insensitive)."""
    in_stock_only: Annotated[bool, AsQuery("in_stock_only")] = Field(
        default=False, examples=[False]
    )
    """Only items the catalog marks in stock (items with unknown stock count as in stock).
    Out-of-stock items are left out by default anyway; this also overrides
    `include_out_of_stock`."""
    include_out_of_stock: Annotated[bool, AsQuery("include_out_of_stock")] = Field(
        default=False, examples=[False]
    )
    """Also return items marked out of stock (hidden and deleted items never come back)."""
    explain: Annotated[bool, AsQuery("explain")] = Field(default=False, examples=[False])
    """Add `because` to every item: the user's past items that contributed most to its score
    (als, itemknn and ease; others answer empty lists and `explain_note`). Single-user
    requests only."""

    #: Every option, in order (set below): what the cache key is made of.
    OPTIONS: ClassVar[tuple[str, ...]] = ()

    @property
    def any_stock(self) -> bool:
        """True when out-of-stock items may come back (and in-stock-only was not asked for)."""
        return self.include_out_of_stock and not self.in_stock_only

    def cache_key(self, user_id: str) -> tuple[Any, ...]:
        """A hashable key of one user's request: the user and every option (lists as tuples)."""
        return (user_id, *(_hashable(getattr(self, name)) for name in self.OPTIONS))

    def without_filters(self) -> RecommendOptions:
        """These options with no item exclusions and no category or brand filter."""
        return self.model_copy(update={"exclude_item_ids": [], "categories": None, "brands": None})


RecommendOptions.OPTIONS = tuple(RecommendOptions.model_fields)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
