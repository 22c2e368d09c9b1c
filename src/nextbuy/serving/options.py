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

    ``description`` and ``examples`` replace the field's own where a query reads differently
    (a repeatable ``category`` rather than a list of ``categories``).
    """

    name: str
    description: str | None = None
    examples: list[Any] | None = None


class RecommendOptions(RequestSchema):
    """How many items to return and which ones are allowed."""

    model_config = ConfigDict(coerce_numbers_to_str=True, protected_namespaces=(), frozen=True)

    k: Annotated[int, AsQuery("k", "How many items (1..1000).")] = Field(
        default=10,
        ge=1,
        le=MAX_K,
        validation_alias=AliasChoices("n_recommendations", "num_recommendations", "k"),
        description="How many items to return (1..1000); also accepted as "
        "`num_recommendations` or `k`.",
        examples=[10],
    )
    exclude_seen: Annotated[
        bool, AsQuery("exclude_seen", "Leave out items the user already had.")
    ] = Field(
        default=True,
        description="Leave out items the user interacted with in the training data.",
        examples=[True],
    )
    exclude_item_ids: Annotated[
        StrList, AsQuery("exclude", "Item IDs never to return (repeatable).", [["p_00007"]])
    ] = Field(
        default_factory=list,
        max_length=10_000,
        description="Item IDs never to return (e.g. what is already in the cart); "
        "unknown IDs are ignored.",
        examples=[["p_00007", "p_00019"]],
    )
    categories: Annotated[
        StrList | None,
        AsQuery("category", "Only these categories (repeat for any of several).", [["shoes"]]),
    ] = Field(
        default=None,
        max_length=100,
        description="Only items in any of these categories (case-insensitive).",
        examples=[["shoes", "outdoor"]],
    )
    brands: Annotated[
        StrList | None,
        AsQuery("brand", "Only these brands (repeat for any of several).", [["Acme"]]),
    ] = Field(
        default=None,
        max_length=100,
        description="Only items of any of these brands (case-insensitive).",
        examples=[["Acme"]],
    )
    in_stock_only: Annotated[bool, AsQuery("in_stock_only", "Only items in stock.")] = Field(
        default=False,
        description="Only items the catalog marks in stock (items with unknown stock count as "
        "in stock). Out-of-stock items are left out by default anyway; this also overrides "
        "`include_out_of_stock`.",
        examples=[False],
    )
    include_out_of_stock: Annotated[
        bool, AsQuery("include_out_of_stock", "Also return out-of-stock items.")
    ] = Field(
        default=False,
        description="Also return items marked out of stock (hidden and deleted items never "
        "come back).",
        examples=[False],
    )
    explain: Annotated[
        bool, AsQuery("explain", "Add the past items behind each item (`because`).")
    ] = Field(
        default=False,
        description="Add `because` to every item: the user's past items that contributed most "
        "to its score (als, itemknn and ease; others answer empty lists and `explain_note`). "
        "Single-user requests only.",
        examples=[False],
    )

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
