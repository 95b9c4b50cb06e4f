"""Provider webhooks: Unipile's (a LinkedIn message received, an invitation accepted, an
account disconnected). Checked against the shared secret on the raw body before anything
is parsed or stored; applied once, in any order, in the account's tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from lad_adapters.unipile import WEBHOOK_AUTH_HEADER, parse_webhook, webhook_is_authentic
from lad_domain.campaigns.services.inbound import InboundService
from lad_domain.shared.errors import AuthenticationFailed, ValidationFailed
from lad_entrypoints.http.dependencies import container, provided
from lad_entrypoints.http.openapi import problems
from lad_entrypoints.settings import Settings

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

Inbound = Annotated[InboundService, Depends(provided(lambda c: c.inbound()))]


class WebhookOut(BaseModel):
    result: str = Field(description='"applied", "duplicate" (delivered before: no second '
                        'effect) or "ignored" (nothing of ours)')
    detail: str | None = None


@router.post("/unipile", responses=problems(401), openapi_extra={"requestBody": {
    "required": True, "description": f"Unipile's webhook; the {WEBHOOK_AUTH_HEADER} header "
    "carries the shared secret (LAD_UNIPILE_WEBHOOK_SECRET)",
    "content": {"application/json": {"schema": {"type": "object"}}}}})
async def unipile_webhook(request: Request, inbound: Inbound) -> WebhookOut:
    """A Unipile webhook. Without the shared secret (or with none set) it is refused and
    nothing is stored; a delivery seen before has no second effect."""
    settings: Settings = container(request).settings()
    raw = await request.body()
    if not webhook_is_authentic(request.headers, settings.unipile_webhook_secret or ""):
        raise AuthenticationFailed("the webhook does not carry the shared secret")
    try:
        event = parse_webhook(raw)
    except ValueError as error:
        raise ValidationFailed.single("body", str(error)) from None
    if event is None:
        return WebhookOut(result="ignored")
    outcome = await run_in_threadpool(inbound.apply_linkedin, event, raw)
    return WebhookOut(result=outcome.result, detail=outcome.detail)
