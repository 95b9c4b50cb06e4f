"""A lead and a page of leads are written straight from the domain's leads (one orjson
call), and say exactly what the declared models (``LeadOut``, ``PageOut``) would."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from lad_domain.leads.model import Lead
from lad_entrypoints.http.leads import LeadOut, _lead_document
from lad_entrypoints.http.schemas import PageOut, json_response
from lad_entrypoints.http.tenancy import MeOut
from tests.integration.tenancy.api import sign_up


def _lead(at: datetime, **fields: object) -> Lead:
    return Lead(id=uuid.uuid4(), tenant_id=uuid.uuid4(), stage="new", status="open",
                created_at=at, updated_at=at, **fields)  # type: ignore[arg-type]  # test fields


def test_the_written_leads_are_what_the_models_say() -> None:
    leads = [
        _lead(datetime(2026, 1, 31, 9, 0, tzinfo=UTC)),
        _lead(datetime(2026, 2, 1, 9, 0, 1, 120, tzinfo=UTC), first_name="Ada",
              last_name="Lovelace", email="ada@example.com", phone="+15551234567",
              company="Acme", title="CTO", owner_id=uuid.uuid4(), source="api",
              custom_fields={"tier": 2, "tags": ["a", "é"], "nested": {"x": None}}),
    ]
    for lead in leads:
        assert (json.loads(json_response(_lead_document(lead)).body)
                == json.loads(LeadOut.of(lead).model_dump_json()))
    page = PageOut[LeadOut](items=[LeadOut.of(x) for x in leads], next_cursor="c1")
    written = json_response({"items": [_lead_document(x) for x in leads], "next_cursor": "c1"})
    assert json.loads(written.body) == json.loads(page.model_dump_json())
    assert written.media_type == "application/json"


def test_me_a_lead_and_a_page_read_back_as_their_models(client: TestClient) -> None:
    owner = sign_up(client)
    created = client.post("/v1/leads", json={"email": "ada@example.com",
                                             "custom_fields": {"tier": 1}}, headers=owner.auth)
    lead = created.json()
    for path, model in [("/v1/me", MeOut), (f"/v1/leads/{lead['id']}", LeadOut),
                        ("/v1/leads?limit=1", PageOut[LeadOut])]:
        response = client.get(path, headers=owner.auth)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert model.model_validate(body).model_dump(mode="json") == body
    assert client.get(f"/v1/leads/{lead['id']}", headers=owner.auth).json() == lead
