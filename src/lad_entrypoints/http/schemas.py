"""Shared response shapes of the HTTP API."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

import orjson
from fastapi import Path, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer
from pydantic.config import JsonDict

T = TypeVar("T")

#: Money and quantities in JSON: a plain decimal string ("0.0000008000", never "8.000E-7"),
#: the same on every backend.
DecimalText = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str,
                                                 when_used="json")]


_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_8601(value: object) -> object:
    """An ISO 8601 date-time text (``2026-01-31T09:00Z``): never a number read as Unix time."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_8601.match(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-01-31T09:00:00Z")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-01-31T09:00:00Z") from None


#: What the domain accepts, said in the request schemas (the domain still checks it, with
#: its own messages): keys (lad_domain.shared.validation), text that is not blank, emails.
KEY: JsonDict = {"pattern": r"^[a-z][a-z0-9_.-]{0,63}$", "maxLength": 64}
NOT_BLANK: JsonDict = {"pattern": r"\S"}
EMAIL: JsonDict = {"format": "email", "maxLength": 254}

#: A key in the path (a feature, a capability, a stage, ...).
KeyPath = Annotated[str, Path(json_schema_extra=KEY)]

#: Every date-time the API reads, in a body or a query.
Instant = Annotated[datetime, BeforeValidator(_iso_8601)]


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def json_response(document: object) -> Response:
    """A body in one C call, for the hottest reads: UUIDs as text, UTC date-times as ISO
    8601 with ``Z``, enums by value, as pydantic writes the declared models. The route
    declares its model (``response_model``) for the schema; the document is built from the
    domain's typed objects, so it is not validated again."""
    return Response(orjson.dumps(document, option=orjson.OPT_UTC_Z),
                    media_type="application/json")


class Problem(BaseModel):
    """RFC 9457 problem details, as every error is answered."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    errors: list[dict[str, str]] | None = None
