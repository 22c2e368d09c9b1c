"""Building blocks of every schema: the request and response bases, IDs, errors, 422s."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from nextbuy.data.idrules import check_id, check_written_id

#: Most items one answer can hold (the schema's hard cap; ``NEXTBUY_MAX_K`` may lower it).
MAX_K = 1000


def _as_list(value: Any) -> Any:
    """Accept one string where a list of strings is expected (``"shoes"`` -> ``["shoes"]``)."""
    return [value] if isinstance(value, str) else value


class RequestSchema(BaseModel):
    """Base of request bodies: unknown fields are ignored (seed clients send extras)."""

    # IDs are strings end to end, but seed clients send numbers: 42 becomes "42", never 42.0.
    model_config = ConfigDict(coerce_numbers_to_str=True, protected_namespaces=())


class ResponseSchema(BaseModel):
    """Base of answers: exactly these fields, so a test can hold every route to its model."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


UserId = Annotated[
    str,
    AfterValidator(check_id),
    Field(
        min_length=1,
        max_length=256,
        description="The shop's user ID (a string; numbers are read as their decimal text; no "
        "control characters or `/`; surrounding spaces are removed).",
        examples=["u_00042"],
    ),
]
ItemId = Annotated[
    str,
    AfterValidator(check_id),
    Field(
        min_length=1,
        max_length=256,
        description="The shop's item ID (no control characters or `/`; surrounding spaces "
        "are removed).",
        examples=["p_01234"],
    ),
]
#: IDs written to the store (events, catalog rows): also no ``/`` (see ``data.idrules``).
WrittenUserId = Annotated[UserId, AfterValidator(check_written_id)]
WrittenItemId = Annotated[ItemId, AfterValidator(check_written_id)]
StrList = Annotated[list[Annotated[str, Field(max_length=256)]], BeforeValidator(_as_list)]
Strategy = Literal["personalized", "fallback"]
ModelVersion = Annotated[
    str,
    Field(
        description="Version of the model that answered.", examples=["20240501T120000Z-3f2a9c1d"]
    ),
]


class ErrorMessage(ResponseSchema):
    """An error a caller can act on."""

    detail: str = Field(
        description="What went wrong, in a sentence.",
        examples=["unknown item 'p_99999': it is not in the model's catalog"],
    )


class ValidationIssue(ResponseSchema):
    """One problem pydantic found in a request."""

    loc: list[str | int] = Field(
        description="Where: `body`, `query` or `path`, then the field.",
        examples=[["body", "n_recommendations"]],
    )
    msg: str = Field(
        description="What is wrong.", examples=["Input should be less than or equal to 1000"]
    )
    type: str = Field(description="pydantic's error type.", examples=["less_than_equal"])


class ValidationErrorMessage(ResponseSchema):
    """A request that does not match the schema (422)."""

    detail: str = Field(
        description="The problems in one line.",
        examples=["n_recommendations: Input should be less than or equal to 1000"],
    )
    errors: list[ValidationIssue] = Field(
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


Responses = dict[int | str, dict[str, Any]]


def error(status: int, description: str, model: Any = ErrorMessage) -> Responses:
    """The OpenAPI ``responses`` entry of one error answer (merge several with ``|``)."""
    return {status: {"model": model, "description": description}}


#: The 422 entry of every route with a body or parameters (replaces FastAPI's default schema).
INVALID = error(422, "Invalid body or parameters.", ValidationErrorMessage)
#: The answers of the API-key guard (``deps.ApiKey``).
AUTH = error(401, "No X-API-Key header.") | error(
    403, "Wrong key, or no key configured (disabled)."
)
#: The answer of an unknown item ID.
NOT_FOUND = error(404, "The item is unknown.")
