"""Provider webhooks: Unipile's (a LinkedIn message received, an invitation accepted, an
account disconnected) and the voice providers' (a call's progress, its end, its analysis).
Checked against the shared secret or the signature on the raw body before anything is
parsed or stored; applied once, in any order, in the account's or the call's tenant. No
bearer token: the secret or the signature is the authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from lad_adapters.unipile import WEBHOOK_AUTH_HEADER, parse_webhook, webhook_is_authentic
from lad_domain.campaigns.services.inbound import InboundService
from lad_domain.shared.errors import AuthenticationFailed, ValidationFailed
from lad_domain.voice.services.events import CallEvents
from lad_entrypoints.http.dependencies import container, provided
from lad_entrypoints.http.openapi import problems
from lad_entrypoints.settings import Settings, revealed

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

Inbound = Annotated[InboundService, Depends(provided(lambda c: c.inbound()))]
Events = Annotated[CallEvents, Depends(provided(lambda c: c.call_events()))]
#: A voice provider's delivery, at most (a call's transcript and analysis fit many times).
MAX_VOICE_WEBHOOK = 1024 * 1024


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
    if not webhook_is_authentic(request.headers, revealed(settings.unipile_webhook_secret) or ""):
        raise AuthenticationFailed("the webhook does not carry the shared secret")
    try:
        event = parse_webhook(raw)
    except ValueError as error:
        raise ValidationFailed.single("body", str(error)) from None
    if event is None:
        return WebhookOut(result="ignored")
    outcome = await run_in_threadpool(inbound.apply_linkedin, event, raw)
    return WebhookOut(result=outcome.result, detail=outcome.detail)


class VoiceWebhookOut(BaseModel):
    applied: int = Field(description="Events that changed a call")
    duplicates: int = Field(description="Events received before: no second effect")
    ignored: int = Field(description="Events about no call of ours, or of no interest")


async def _capped_body(request: Request, limit: int) -> bytes:
    """The raw bytes, refused as too large past ``limit`` (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"the webhook is larger than {limit:,} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                                f"the webhook is larger than {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/voice/{provider}", responses=problems(401, 404, 413), openapi_extra={
    "requestBody": {"required": True, "description": "The provider's webhook, verified on "
                    "its raw bytes: Vapi's x-signature and x-timestamp, Retell's "
                    "x-retell-signature, the local provider's X-Lad-Signature (see "
                    "docs/voice.md)",
                    "content": {"application/json": {"schema": {"type": "object"}}}}})
async def voice_webhook(provider: str, request: Request, events: Events) -> VoiceWebhookOut:
    """A call provider's webhook (vapi, retell, local). A bad or stale signature: 401 and
    nothing stored; a provider that is not configured: 404. Each event is applied once,
    in its call's tenant; a delivery seen before has no second effect."""
    raw = await _capped_body(request, MAX_VOICE_WEBHOOK)
    headers = {name.lower(): value for name, value in request.headers.items()}
    report = await run_in_threadpool(events.ingest, provider, raw, headers)
    return VoiceWebhookOut(applied=report.applied, duplicates=report.duplicates,
                           ignored=report.ignored)
