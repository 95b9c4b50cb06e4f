"""Schemathesis over the served OpenAPI document, on SQLite and PostgreSQL, as a member
with a bearer token: no 5xx, and every status, content type, header and body is the one
the document declares; data outside the schema is refused, an undeclared method is a 405.
Bounded and seeded, so that CI is deterministic and quick."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.integration.http.openapi_cases import openapi_document
from tests.integration.tenancy.api import Account

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection,
          missing_required_header, unsupported_method, allow_header_conformance]
EXAMPLES = 8
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))

schema = schemathesis.openapi.from_dict(openapi_document(), config=SchemathesisConfig.from_dict({
    "seed": 20260101, "base-url": "http://testserver",
    "generation": {"max-examples": EXAMPLES, "deterministic": True}}))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """The SQL backends only: the in-memory one is the library's, not the server's."""
    return str(request.param)


@schema.parametrize()
@SETTINGS
def test_operation_keeps_the_promises_of_its_document(case: Any, app: FastAPI,
                                                     member: Account) -> None:
    case.call_and_validate(app=app, headers=member.auth, checks=CHECKS)


def test_linked_operations_keep_their_promises(app: FastAPI, member: Account) -> None:
    """Stateful: what one call creates, the next reads, changes and deletes."""

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"app": app, "headers": member.auth}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(settings=settings(SETTINGS, max_examples=25, stateful_step_count=6))
