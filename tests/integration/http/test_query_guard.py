"""A query parameter an operation does not read is refused, naming it and what the
operation takes; links followed from emails and providers' webhooks take any query."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.tenancy.api import Account


def test_a_misspelt_filter_is_refused_not_ignored(client: TestClient, member: Account) -> None:
    answer = client.get("/v1/leads?stauts=new", headers=member.auth)
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "stauts" and "status" in error["message"]
    assert client.get("/v1/leads?status=new&limit=5", headers=member.auth).status_code == 200


def test_an_operation_without_parameters_takes_none(client: TestClient) -> None:
    answer = client.get("/healthz?verbose=1")
    assert answer.status_code == 422 and "takes: none" in answer.json()["detail"]


def test_email_links_take_any_query(client: TestClient) -> None:
    # An unknown token is still refused for what it is, not for the added parameter.
    answer = client.get("/v1/public/unsubscribe/not-a-token?utm_source=mail")
    assert answer.status_code != 422 or "utm_source" not in answer.text
