"""Enrichment's domain events."""

from __future__ import annotations

import uuid
from typing import ClassVar

import attrs

from lad_domain.shared.events import Event


@attrs.frozen
class PeopleImported(Event):
    """Apollo people became leads (through the leads import path)."""

    aggregate_type: ClassVar[str] = "tenant"
    event_type: ClassVar[str] = "enrichment.people_imported"
    aggregate_id: uuid.UUID
    selected: int
    created: int
    updated: int
    skipped: int
    already_leads: int


@attrs.frozen
class LeadEnriched(Event):
    """A lead's blanks were filled from Apollo: the fields filled."""

    aggregate_type: ClassVar[str] = "lead"
    event_type: ClassVar[str] = "lead.enriched"
    aggregate_id: uuid.UUID
    fields: tuple[str, ...]
    apollo_id: str | None
