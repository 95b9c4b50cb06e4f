"""The template port: checked when a template is saved, rendered when a step is sent.

The variables a template may use are fixed, so that a mistake is a 422 when the template
is saved and never a failure at send time: ``lead.<field>`` (LEAD_FIELDS), ``lead.custom``
(the lead's custom fields: ``lead.custom.<name>``, empty when missing), ``sender.<field>``
(SENDER_FIELDS) and ``unsubscribe_url``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs

LEAD_FIELDS = frozenset({"first_name", "last_name", "full_name", "email", "phone", "company",
                         "title", "custom"})
SENDER_FIELDS = frozenset({"name", "email"})
TOP_LEVEL = frozenset({"lead", "sender", "unsubscribe_url"})


@attrs.frozen
class RenderContext:
    """What a template sees: ``lead`` and ``sender`` as mappings of LEAD_FIELDS and
    SENDER_FIELDS (missing values are empty strings; ``lead["custom"]`` is a mapping)."""

    lead: Mapping[str, Any]
    sender: Mapping[str, str]
    unsubscribe_url: str


@attrs.frozen
class Rendered:
    subject: str | None
    text: str
    #: The HTML alternative (email): the same body, escaped, with paragraphs.
    html: str | None


class TemplateRenderer(Protocol):
    def check(self, *, subject: str | None, body: str) -> list[str]:
        """The template's variables (sorted: "lead.first_name", "unsubscribe_url", ...);
        raises ValidationFailed naming ``subject`` or ``body`` (with the line) for a syntax
        error, an unknown variable or an unsafe construct."""
        ...

    def render(self, *, subject: str | None, body: str, context: RenderContext,
               html: bool) -> Rendered:
        """Render a checked template; never raises for a missing lead value (empty)."""
        ...
