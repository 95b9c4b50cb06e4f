"""The public links an email carries: one-click unsubscribe (RFC 8058) and the open pixel,
signed so that nobody can forge one for another lead or tenant."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from lad_domain.outreach.links import LinkSeal, Purpose, SignedLink
from lad_domain.outreach.model import Channel


@attrs.frozen
class PublicLinks:
    seal: LinkSeal
    #: Where the API is reached from the internet (``LAD_PUBLIC_URL``).
    base_url: str

    def unsubscribe_url(self, *, tenant_id: uuid.UUID, enrollment_id: uuid.UUID | None,
                        lead_id: uuid.UUID, channel: Channel, address: str,
                        at: datetime) -> str:
        return self._url("unsubscribe", tenant_id, enrollment_id, lead_id, channel, address, at)

    def open_url(self, *, tenant_id: uuid.UUID, enrollment_id: uuid.UUID, lead_id: uuid.UUID,
                 address: str, at: datetime) -> str:
        return self._url("open", tenant_id, enrollment_id, lead_id, Channel.EMAIL, address, at)

    def _url(self, purpose: Purpose, tenant_id: uuid.UUID, enrollment_id: uuid.UUID | None,
             lead_id: uuid.UUID, channel: Channel, address: str, at: datetime) -> str:
        token = self.seal.seal(SignedLink(purpose=purpose, tenant_id=tenant_id,
                                          enrollment_id=enrollment_id, lead_id=lead_id,
                                          channel=channel.value, address=address,
                                          issued_at=at))
        return f"{self.base_url.rstrip('/')}/v1/public/{purpose}/{token}"
