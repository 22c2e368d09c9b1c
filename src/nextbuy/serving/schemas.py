"""Request and response models of the REST API, with a description and an example per field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

#: Most items one answer can hold (the schema's hard cap; ``NEXTBUY_MAX_K`` may lower it).
MAX_K = 1000


def _as_list(value: Any) -> Any:
    """Accept one string where a list of strings is expected (``"shoes"`` -> ``["shoes"]``)."""
    return [value] if isinstance(value, str) else value


class _Schema(BaseModel):
    # IDs are strings end to end, but seed clients send numbers: 42 becomes "42", never 42.0.
    model_config = ConfigDict(coerce_numbers_to_str=True, protected_namespaces=())


UserId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        description="The shop's user ID (a string; numbers are read as their decimal text).",
        examples=["u_00042"],
    ),
]
ItemId = Annotated[
    str,
    Field(min_length=1, max_length=256, description="The shop's item ID.", examples=["p_01234"]),
]
StrList = Annotated[list[Annotated[str, Field(max_length=256)]], BeforeValidator(_as_list)]
Strategy = Literal["personalized", "fallback"]


# ---------------------------------------------------------------------------- recommendations
class RecommendOptions(_Schema):
    """How many items to return and which ones are allowed."""

    n_recommendations: int = Field(
        10,
        ge=1,
        le=MAX_K,
        validation_alias=AliasChoices("n_recommendations", "num_recommendations", "k"),
        description="How many items to return (1..1000); also accepted as "
        "`num_recommendations` or `k`.",
        examples=[10],
    )
    exclude_seen: bool = Field(
        True,
        description="Leave out items the user interacted with in the training data.",
        examples=[True],
    )
    exclude_item_ids: StrList = Field(
        default_factory=list,
        max_length=10_000,
        description="Item IDs never to return (e.g. what is already in the cart); "
        "unknown IDs are ignored.",
        examples=[["p_00007", "p_00019"]],
    )
    categories: StrList | None = Field(
        None,
        max_length=100,
        description="Only items in any of these categories (case-insensitive).",
        examples=[["shoes", "outdoor"]],
    )
    brands: StrList | None = Field(
        None,
        max_length=100,
        description="Only items of any of these brands (case-insensitive).",
        examples=[["Acme"]],
    )
    in_stock_only: bool = Field(
        False,
        description="Only items the catalog marks in stock (items with unknown stock count as "
        "in stock). Out-of-stock items are left out by default anyway; this also overrides "
        "`include_out_of_stock`.",
        examples=[False],
    )
    include_out_of_stock: bool = Field(
        False,
        description="Also return items marked out of stock (hidden and deleted items never "
        "come back).",
        examples=[False],
    )
    explain: bool = Field(
        False,
        description="Add `because` to every item: the user's past items that contributed most "
        "to its score (als, itemknn and ease; others answer empty lists and `explain_note`). "
        "Single-user requests only.",
        examples=[False],
    )


class RecommendRequest(RecommendOptions):
    """Body of ``POST /recommend``."""

    user_id: UserId


class BatchRecommendRequest(RecommendOptions):
    """Body of ``POST /recommend/batch``: the same options for every user."""

    user_ids: list[UserId] = Field(
        min_length=1,
        description="Users to answer for, in order (at most 1,000 by default, "
        "NEXTBUY_MAX_BATCH_USERS).",
        examples=[["u_00042", "u_00043", "someone_new"]],
    )


class RecommendedItem(_Schema):
    """One ranked item, with the catalog fields the model knows (null when unknown)."""

    item_id: str = Field(description="The item's ID.", examples=["p_01234"])
    rank: int = Field(description="Position in the answer, 1 = best.", examples=[1])
    score: float = Field(
        description="The model's score (higher is better; popularity share for fallbacks).",
        examples=[0.8731],
    )
    name: str | None = Field(None, description="Catalog name.", examples=["Trail running shoe"])
    brand: str | None = Field(None, description="Catalog brand.", examples=["Acme"])
    category: str | None = Field(None, description="Catalog category.", examples=["shoes"])
    price: float | None = Field(None, description="Catalog price.", examples=[89.9])
    because: list[Reason] | None = Field(
        None,
        description="With `explain`: the user's past items that contributed most, largest first.",
        examples=[[{"item_id": "p_00042", "name": "Trail sock", "contribution": 0.41}]],
    )


class Reason(_Schema):
    """One past item behind a recommendation."""

    item_id: str = Field(description="The past item.", examples=["p_00042"])
    name: str | None = Field(None, description="Its catalog name.", examples=["Trail sock"])
    contribution: float = Field(
        description="How much it added to the recommended item's score.", examples=[0.41]
    )


class RecommendResponse(_Schema):
    """Recommendations for one user."""

    user_id: str = Field(description="The user asked about.", examples=["u_00042"])
    model_version: str = Field(
        description="Version of the model that answered.", examples=["20240501T120000Z-3f2a9c1d"]
    )
    strategy: Strategy = Field(
        description="`personalized` for known users, `fallback` (popular items) for users the "
        "model has never seen.",
        examples=["personalized"],
    )
    recommendations: list[RecommendedItem] = Field(
        description="Items best first; fewer than asked when filters leave fewer.",
        examples=[
            [
                {
                    "item_id": "p_01234",
                    "rank": 1,
                    "score": 0.8731,
                    "name": "Trail running shoe",
                    "brand": "Acme",
                    "category": "shoes",
                    "price": 89.9,
                }
            ]
        ],
    )
    explain_note: str | None = Field(
        None,
        description="With `explain`: why there are no reasons (model, empty history, fallback).",
        examples=["no past items to explain from"],
    )


class BatchRecommendResponse(_Schema):
    """One answer per requested user, in request order."""

    model_version: str = Field(
        description="Version of the model that answered every user.",
        examples=["20240501T120000Z-3f2a9c1d"],
    )
    results: list[RecommendResponse] = Field(
        description="Answers in the order of `user_ids`.",
        examples=[
            [
                {
                    "user_id": "u_00042",
                    "model_version": "20240501T120000Z-3f2a9c1d",
                    "strategy": "personalized",
                    "recommendations": [{"item_id": "p_01234", "rank": 1, "score": 0.87}],
                }
            ]
        ],
    )


class PopularResponse(_Schema):
    """The most popular items (the answer new users get)."""

    model_version: str = Field(
        description="Version of the model whose training data was counted.",
        examples=["20240501T120000Z-3f2a9c1d"],
    )
    items: list[RecommendedItem] = Field(
        description="Items by share of training users who interacted with them, best first.",
        examples=[[{"item_id": "p_00007", "rank": 1, "score": 0.31, "category": "shoes"}]],
    )


# ---------------------------------------------------------------------------- items
class SimilarItemsResponse(_Schema):
    """Items similar to one item."""

    item_id: str = Field(description="The item asked about.", examples=["p_01234"])
    model_version: str = Field(
        description="Version of the model that answered.", examples=["20240501T120000Z-3f2a9c1d"]
    )
    method: Literal["cosine", "model", "attributes"] = Field(
        description="`cosine` of the model's item vectors (als, bpr, mf) or the `model`'s own "
        "item-item similarity (knn, ease, popularity); for a new item in a model without "
        "vectors, `attributes` (its attribute weights over the trained items).",
        examples=["cosine"],
    )
    items: list[RecommendedItem] = Field(
        description="Most similar first; the item itself is never included.",
        examples=[[{"item_id": "p_04321", "rank": 1, "score": 0.93, "category": "shoes"}]],
    )


class ItemDetail(_Schema):
    """Catalog entry and training statistics of one item."""

    item_id: str = Field(description="The item's ID.", examples=["p_01234"])
    name: str | None = Field(None, description="Catalog name.", examples=["Trail running shoe"])
    brand: str | None = Field(None, description="Catalog brand.", examples=["Acme"])
    category: str | None = Field(None, description="Catalog category.", examples=["shoes"])
    price: float | None = Field(None, description="Catalog price.", examples=[89.9])
    in_stock: bool | None = Field(
        None, description="Catalog stock flag (null when unknown).", examples=[True]
    )
    hidden: bool = Field(
        False, description="Hidden or deleted: never recommended.", examples=[False]
    )
    deleted: bool = Field(False, description="Deleted from the catalog.", examples=[False])
    new: bool = Field(
        False,
        description="Added after the served model was trained (scored from its attributes).",
        examples=[False],
    )
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description="Any other catalog columns.",
        examples=[{"color": "blue"}],
    )
    n_users: int = Field(
        description="Training users who interacted with the item.", examples=[1532]
    )
    popularity_rank: int = Field(
        description="Rank by `n_users` among all items, 1 = most popular.", examples=[17]
    )
    model_version: str = Field(
        description="Version of the model whose data this is.",
        examples=["20240501T120000Z-3f2a9c1d"],
    )


# ---------------------------------------------------------------------------- predictions
class RatingRequest(_Schema):
    """Body of ``POST /predict/rating``."""

    user_id: UserId
    item_id: ItemId


class RatingResponse(_Schema):
    """Predicted rating (explicit models) or score (implicit models) of one pair."""

    user_id: str = Field(description="The user asked about.", examples=["u_00042"])
    item_id: str = Field(description="The item asked about.", examples=["p_01234"])
    prediction: float = Field(description="Rating or score (see `kind`).", examples=[4.21])
    kind: Literal["rating", "score"] = Field(
        description="`rating` on the data's scale (explicit models) or a relative `score` "
        "(implicit models: only its order means something).",
        examples=["rating"],
    )
    strategy: Strategy = Field(
        description="`fallback` for unknown users: the item's mean training rating (explicit) "
        "or its popularity share (implicit).",
        examples=["personalized"],
    )
    rating_range: tuple[float, float] | None = Field(
        None,
        description="The scale ratings are clipped to (explicit models only).",
        examples=[[1.0, 5.0]],
    )
    clipped: bool = Field(
        False,
        description="True when the raw prediction fell outside `rating_range`.",
        examples=[False],
    )
    model_version: str = Field(
        description="Version of the model that answered.", examples=["20240501T120000Z-3f2a9c1d"]
    )


# ---------------------------------------------------------------------------- model and health
class ModelCard(_Schema):
    """What is being served."""

    name: str = Field(description="Model name (its folder under MODELS_DIR).", examples=["als"])
    model: str = Field(description="Algorithm.", examples=["als"])
    version: str = Field(description="Version folder.", examples=["20240501T120000Z-3f2a9c1d"])
    trained_at: str | None = Field(
        None,
        description="When the version was saved (UTC, ISO 8601).",
        examples=["2024-05-01T12:00:00Z"],
    )
    loaded_at: str = Field(
        description="When this server loaded it (UTC, ISO 8601).",
        examples=["2024-05-01T12:05:00Z"],
    )
    params: dict[str, Any] = Field(
        description="Hyper-parameters.", examples=[{"factors": 64, "iterations": 15}]
    )
    metrics: dict[str, Any] = Field(
        description="Held-out evaluation stored with the model.",
        examples=[{"ndcg@10": 0.21, "recall@10": 0.18}],
    )
    n_users: int = Field(description="Users the model knows.", examples=[100000])
    n_items: int = Field(description="Items the model can recommend.", examples=[20000])
    explicit: bool = Field(description="Trained on ratings (true) or events.", examples=[False])
    predicts_ratings: bool = Field(
        description="`/predict/rating` answers ratings (true) or scores.", examples=[False]
    )
    rating_range: tuple[float, float] | None = Field(
        None, description="Rating scale of explicit data.", examples=[[1.0, 5.0]]
    )
    path: str = Field(description="Folder the version was loaded from.", examples=["models/als/v1"])


class Health(_Schema):
    """Liveness."""

    status: Literal["ok"] = Field(
        description="Always `ok` while the process answers.", examples=["ok"]
    )


class Readiness(_Schema):
    """Readiness: a model is loaded."""

    status: Literal["ready", "loading"] = Field(
        description="`ready` once a model is loaded.", examples=["ready"]
    )
    model_version: str | None = Field(
        None, description="Version being served.", examples=["20240501T120000Z-3f2a9c1d"]
    )


class ErrorMessage(_Schema):
    """An error a caller can act on."""

    detail: str = Field(
        description="What went wrong, in a sentence.",
        examples=["unknown item 'p_99999': it is not in the model's catalog"],
    )


class ValidationIssue(_Schema):
    """One problem pydantic found in a request."""

    loc: list[str | int] = Field(
        description="Where: `body`, `query` or `path`, then the field.",
        examples=[["body", "n_recommendations"]],
    )
    msg: str = Field(
        description="What is wrong.", examples=["Input should be less than or equal to 1000"]
    )
    type: str = Field(description="pydantic's error type.", examples=["less_than_equal"])


class ValidationErrorMessage(_Schema):
    """A request that does not match the schema (422)."""

    detail: str = Field(
        description="The problems in one line.",
        examples=["n_recommendations: Input should be less than or equal to 1000"],
    )
    errors: list[ValidationIssue] = Field(
        default_factory=list,
        description="Each problem with its location.",
        examples=[
            [
                {
                    "loc": ["body", "n_recommendations"],
                    "msg": "Input should be less than or equal to 1000",
                    "type": "less_than_equal",
                }
            ]
        ],
    )


#: The 422 entry of every route with a body or parameters (replaces FastAPI's default schema).
INVALID = {422: {"model": ValidationErrorMessage, "description": "Invalid body or parameters."}}


# ---------------------------------------------------------------------------- admin and training
class ReloadResponse(_Schema):
    """Outcome of ``POST /admin/reload``."""

    previous_version: str | None = Field(
        description="Version served before.", examples=["20240501T120000Z-3f2a9c1d"]
    )
    version: str = Field(description="Version served now.", examples=["20240502T080000Z-9b1c22aa"])
    changed: bool = Field(
        description="False when LATEST named the version already served.", examples=[True]
    )
    seconds: float = Field(description="Time spent loading.", examples=[0.42])


TrainSplit = Literal["random", "user", "time", "last", "none"]


class TrainRequest(_Schema):
    """Body of ``POST /train``."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    data: str = Field(
        min_length=1,
        max_length=4096,
        description="Path of the interaction file on the server (csv, tsv, parquet, jsonl, "
        "movielens u.data, retail export).",
        examples=["data/shop/interactions.csv"],
    )
    model: str = Field(
        "als", min_length=1, max_length=64, description="Algorithm to train.", examples=["als"]
    )
    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Model name under MODELS_DIR (default: the name being served).",
        examples=["als"],
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Hyper-parameter overrides for the algorithm.",
        examples=[{"factors": 64, "iterations": 10}],
    )
    items: str | None = Field(
        None,
        max_length=4096,
        description="Path of a catalog file on the server (item_id, name, brand, ...).",
        examples=["data/shop/items.csv"],
    )
    split: TrainSplit = Field(
        "random", description="How the held-out evaluation set is drawn.", examples=["user"]
    )
    test_fraction: float = Field(
        0.2, gt=0, lt=1, description="Share of interactions held out.", examples=[0.2]
    )


class TrainJob(_Schema):
    """State of one training job."""

    job_id: str = Field(description="Job ID.", examples=["6f1c2a9b0d3e"])
    status: Literal["queued", "running", "succeeded", "failed"] = Field(
        description="Where the job is.", examples=["running"]
    )
    stage: str | None = Field(None, description="Current step.", examples=["fitting"])
    progress: float = Field(description="Fraction done, 0..1.", examples=[0.4])
    created_at: str = Field(description="Submitted (UTC).", examples=["2024-05-01T12:00:00Z"])
    started_at: str | None = Field(
        None, description="Training started (UTC).", examples=["2024-05-01T12:00:01Z"]
    )
    finished_at: str | None = Field(
        None, description="Training ended (UTC).", examples=["2024-05-01T12:03:10Z"]
    )
    request: dict[str, Any] = Field(
        description="The request that started it.",
        examples=[{"data": "data/shop/interactions.csv", "model": "als", "params": {}}],
    )
    metrics: dict[str, float] | None = Field(
        None, description="Held-out metrics of the new version.", examples=[{"ndcg@10": 0.2}]
    )
    version: str | None = Field(
        None,
        description="The new version (serve it with POST /admin/reload).",
        examples=["20240502T080000Z-9b1c22aa"],
    )
    error: str | None = Field(
        None, description="Why the job failed.", examples=["data/x.csv: no such file"]
    )
    status_url: str = Field(description="Where to poll.", examples=["/train/6f1c2a9b0d3e"])
