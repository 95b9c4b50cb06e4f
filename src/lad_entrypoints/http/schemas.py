"""Shared response shapes of the HTTP API."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

T = TypeVar("T")

#: Money and quantities in JSON: a plain decimal string ("0.0000008000", never "8.000E-7"),
#: the same on every backend.
DecimalText = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str,
                                                 when_used="json")]


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, as every error is answered."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    errors: list[dict[str, str]] | None = None


PROBLEMS: dict[int | str, dict[str, object]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}}
    for status in (401, 403, 404, 409, 410, 422)
}
