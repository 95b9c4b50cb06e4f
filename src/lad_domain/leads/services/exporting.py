"""Export of leads to CSV: streamed page by page, every cell safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator

import attrs

from lad_domain.leads.csv_format import EXPORT_COLUMNS, safe_cell
from lad_domain.leads.model import Lead, LeadFilter
from lad_domain.leads.policy import LeadPermission
from lad_domain.leads.services.leads import LeadsScope, member_emails
from lad_domain.shared.pagination import MAX_LIMIT, PageRequest
from lad_domain.shared.principal import Principal


@attrs.define
class LeadExportService:
    scope: LeadsScope

    def export_leads(self, principal: Principal, filter: LeadFilter, *,
                     tenant_id: uuid.UUID | None = None) -> Iterator[str]:
        """CSV text in chunks, header first. The access check runs now, before the first
        chunk, so a refused caller gets an error and not a half-sent file. Each page is read
        in its own short transaction, so a long download holds no lock."""
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.EXPORT)
            owners = {user_id: email for email, user_id in member_emails(uow).items()}
        return self._chunks(principal, tenant_id, filter, owners)

    def _chunks(self, principal: Principal, tenant_id: uuid.UUID | None, filter: LeadFilter,
                owners: dict[uuid.UUID, str]) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS)
        page = PageRequest(limit=MAX_LIMIT)
        while True:
            with self.scope.open(principal, tenant_id) as uow:
                found = uow.leads.list(filter, page)
            writer.writerows(_cells(lead, owners) for lead in found.items)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if found.next_cursor is None:
                return
            page = PageRequest.parse(limit=MAX_LIMIT, cursor=found.next_cursor)


def _cells(lead: Lead, owners: dict[uuid.UUID, str]) -> list[str]:
    owner = owners.get(lead.owner_id, "") if lead.owner_id else ""
    custom = json.dumps(lead.custom_fields, ensure_ascii=False) if lead.custom_fields else ""
    values = (str(lead.id), lead.first_name, lead.last_name, lead.email, lead.phone,
              lead.company, lead.title, lead.stage, lead.status, owner, lead.source, custom,
              lead.created_at.isoformat(), lead.updated_at.isoformat())
    return [safe_cell(v) if v else "" for v in values]

