"""Public routes an email's reader reaches without a token of ours: the one-click
unsubscribe (RFC 8058: a POST suppresses; a GET only shows a page whose form POSTs, so
that a mail scanner following links unsubscribes nobody) and the open pixel. The signed
link is the credential: a forged, cut or altered one is a 404."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from lad_domain.campaigns.services.inbound import InboundService
from lad_domain.shared.errors import NotFound, ValidationFailed
from lad_entrypoints.http.dependencies import provided

router = APIRouter(prefix="/v1/public", tags=["public"])

Inbound = Annotated[InboundService, Depends(provided(lambda c: c.inbound()))]

#: A transparent GIF of one pixel.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NOT_CACHED = {"Cache-Control": "no-store, max-age=0"}
BAD_LINK = "this link is not valid (forged, cut short or altered)"

T = TypeVar("T")


def _with_link(read: Callable[[], T]) -> T:
    """A link that does not open is not found: never a 500, never a hint of why."""
    try:
        return read()
    except ValidationFailed:
        raise NotFound(BAD_LINK) from None


class UnsubscribedOut(BaseModel):
    result: str = Field(description='"unsubscribed", or "already unsubscribed" (a second '
                        'POST changes nothing)')


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto;">
<h1>{title}</h1>
{body}
</body></html>
"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), headers=NOT_CACHED)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, inbound: Inbound) -> HTMLResponse:
    """A confirmation page whose button POSTs the unsubscribe; showing it changes nothing."""
    link = _with_link(lambda: inbound.read_link(token, "unsubscribe"))
    whom = f" <strong>{html.escape(link.address)}</strong>" if link.address else ""
    return _page("Unsubscribe", f"<p>Stop receiving these messages at{whom}?</p>\n"
                 '<form method="post">'
                 '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
                 '<button type="submit">Unsubscribe</button></form>')


@router.post("/unsubscribe/{token}", response_model=UnsubscribedOut,
             responses={200: {"content": {"text/html": {}},
                              "description": "HTML for a browser's form, JSON otherwise"}})
def unsubscribe(token: str, request: Request, inbound: Inbound) -> Response:
    """One-click unsubscribe (RFC 8058): the address is suppressed on the link's channel and
    the lead's open sequences stop. Idempotent."""
    added = _with_link(lambda: inbound.unsubscribe(token))
    result = "unsubscribed" if added else "already unsubscribed"
    if "text/html" in request.headers.get("accept", ""):
        return _page("Unsubscribed", "<p>You will not receive these messages any more.</p>")
    return JSONResponse(UnsubscribedOut(result=result).model_dump(), headers=NOT_CACHED)


@router.get("/open/{token}", response_class=Response,
            responses={200: {"content": {"image/gif": {}},
                             "description": "A transparent pixel"}})
def opened(token: str, inbound: Inbound) -> Response:
    """The open pixel: the first open of the enrollment's latest email is recorded."""
    _with_link(lambda: inbound.opened(token))
    return Response(PIXEL, media_type="image/gif", headers=NOT_CACHED)
