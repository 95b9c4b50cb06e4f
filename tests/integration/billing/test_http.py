"""HTTP: the billing routes on every backend; money travels as decimal strings."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lad_domain.shared.principal import Role
from tests.integration.billing.conftest import OPERATOR_TOKEN
from tests.unit.billing.books import Books
from tests.unit.tenancy.org import OPERATOR as OPERATOR_PRINCIPAL

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """HTTP over the SQL backends (the contract tests hold memory to the same results)."""
    return str(request.param)
EMAIL = {"category": "email_send", "quantity": "1"}


def _owner(books: Books) -> dict[str, str]:
    """A fresh token: the tests move the clock past a token's lifetime."""
    tenancy = books.lad.tenancy()
    session = tenancy.log_in(email=tenancy.me(books.org.owner).user.email,
                             password="correct horse battery", tenant_id=books.id)
    return {"Authorization": f"Bearer {session.access_token}"}


def _service(books: Books, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {books.service_key}", "Idempotency-Key": key}


def _top_up(client: TestClient, books: Books, amount: Any, key: str = "pay-1") -> Any:
    return client.post(f"/v1/operator/tenants/{books.id}/top-ups", json={"amount": amount},
                       headers={**OPERATOR, "Idempotency-Key": key})


def _use(client: TestClient, books: Books, key: str, items: Any = (EMAIL,)) -> Any:
    return client.post("/v1/billing/usage-events", headers=_service(books, key),
                       json={"feature_key": "outreach", "usage_items": list(items)})


def test_the_operator_tops_up_and_the_owner_sees_the_wallet(client: TestClient,
                                                            books: Books) -> None:
    first = _top_up(client, books, "12.50")
    assert first.status_code == 201 and first.json()["amount"] == "12.500000"
    assert _top_up(client, books, "12.50").json()["id"] == first.json()["id"]
    wallet = client.get("/v1/billing/wallet", headers=_owner(books)).json()
    assert (wallet["current_balance"], wallet["available"]) == ("12.500000", "12.500000")


def test_a_top_up_retry_with_another_amount_is_409(client: TestClient, books: Books) -> None:
    _top_up(client, books, "12.50")
    assert _top_up(client, books, "13").status_code == 409


def test_only_the_operator_token_tops_up(client: TestClient, books: Books) -> None:
    response = client.post(f"/v1/operator/tenants/{books.id}/top-ups", json={"amount": "5"},
                           headers={**_owner(books), "Idempotency-Key": "k"})
    assert response.status_code == 403
    assert _top_up(client, books, "5").status_code == 201


def test_usage_is_posted_by_an_api_key_and_retried_safely(client: TestClient,
                                                          books: Books) -> None:
    _top_up(client, books, "1")
    first = _use(client, books, "send-1")
    assert first.status_code == 201, first.text
    assert (first.json()["charged"], first.json()["status"]) == ("0.001000", "posted")
    assert _use(client, books, "send-1").json() == first.json()
    assert _use(client, books, "send-1", [EMAIL, EMAIL]).status_code == 409
    ledger = client.get("/v1/billing/ledger", headers=_owner(books)).json()["items"]
    assert [e["type"] for e in ledger] == ["usage_debit", "top_up"]


def test_usage_without_funds_is_402_every_time(client: TestClient, books: Books) -> None:
    for _ in range(2):
        response = _use(client, books, "poor")
        assert (response.status_code, response.json()["code"]) == (402, "insufficient_funds")


def test_usage_needs_an_idempotency_key(client: TestClient, books: Books) -> None:
    response = client.post("/v1/billing/usage-events",
                           headers={"Authorization": f"Bearer {books.service_key}"},
                           json={"feature_key": "outreach", "usage_items": [EMAIL]})
    assert response.status_code == 422 and "Idempotency-Key" in response.text


def test_a_float_quantity_is_refused_naming_the_field(client: TestClient, books: Books) -> None:
    response = _use(client, books, "f", [{"category": "email_send", "quantity": 0.5}])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "usage_items[0].quantity"


def test_a_logged_in_user_cannot_post_usage(client: TestClient, books: Books) -> None:
    response = client.post("/v1/billing/usage-events", headers={**_owner(books),
                                                                "Idempotency-Key": "u"},
                           json={"feature_key": "outreach", "usage_items": [EMAIL]})
    assert response.status_code == 403


def test_a_reservation_is_held_captured_and_settled(client: TestClient, books: Books) -> None:
    _top_up(client, books, "5")
    held = client.post("/v1/billing/reservations", headers=_service(books, "call-1"),
                       json={"feature_key": "voice", "amount": "2", "expires_in_seconds": 600})
    assert held.status_code == 201, held.text
    path = f"/v1/billing/reservations/{held.json()['id']}"
    captured = client.post(f"{path}/capture", json={"amount": "1.25"},
                           headers={"Authorization": f"Bearer {books.service_key}"})
    assert (captured.status_code, captured.json()["status"]) == (200, "captured")
    released = client.post(f"{path}/release",
                           headers={"Authorization": f"Bearer {books.service_key}"})
    assert released.status_code == 409
    wallet = client.get("/v1/billing/wallet", headers=_owner(books)).json()
    assert (wallet["current_balance"], wallet["reserved_balance"]) == ("3.750000", "0.000000")


def test_another_tenants_reservation_is_not_found(client: TestClient, books: Books) -> None:
    other = Books.open(books.lad, "Other")
    _top_up(client, other, "5")
    held = client.post("/v1/billing/reservations", headers=_service(other, "c"),
                       json={"feature_key": "voice", "amount": "2"}).json()
    response = client.post(f"/v1/billing/reservations/{held['id']}/release",
                           headers={"Authorization": f"Bearer {books.service_key}"})
    assert response.status_code == 404


def test_members_see_prices_but_not_the_wallet(client: TestClient, books: Books) -> None:
    member = books.org.member(Role.MEMBER)
    session = books.lad.tenancy().log_in(email=books.lad.tenancy().me(member).user.email,
                                         password="correct horse battery")
    auth = {"Authorization": f"Bearer {session.access_token}"}
    assert client.get("/v1/billing/wallet", headers=auth).status_code == 403
    prices = client.get("/v1/billing/pricing", headers=auth).json()
    [email] = [p for p in prices if p["category"] == "email_send"]
    assert (email["unit_price"], email["tenant_override"]) == ("0.0010000000", False)


def test_entitlements_show_what_remains(client: TestClient, books: Books) -> None:
    books.lad.billing_plans().set_entitlement(OPERATOR_PRINCIPAL, books.id, "outreach",
                                              monthly_quota=10, overage="charge")
    _use(client, books, "free-1")
    [quota] = client.get("/v1/billing/entitlements", headers=_owner(books)).json()
    assert (quota["used"], quota["remaining"], quota["period"]) == (1, 9, "2026-03")


def _invoiced(client: TestClient, books: Books) -> dict[str, Any]:
    _top_up(client, books, "1")
    _use(client, books, "march")
    books.lad.clock().advance(timedelta(days=31))
    [invoice] = books.lad.billing_invoices().generate(OPERATOR_PRINCIPAL, "2026-03")
    return {"id": str(invoice.id)}


def test_the_owner_reads_invoices_and_the_operator_issues_them(client: TestClient,
                                                               books: Books) -> None:
    invoice = _invoiced(client, books)
    listed = client.get("/v1/billing/invoices", headers=_owner(books)).json()["items"]
    assert [i["number"] for i in listed] == ["INV-000001"]
    path = f"/v1/operator/tenants/{books.id}/invoices/{invoice['id']}"
    assert client.patch(path, json={"status": "issued"}, headers=_owner(books)).status_code == 403
    issued = client.patch(path, json={"status": "issued"}, headers=OPERATOR)
    assert issued.json()["status"] == "issued"
    read = client.get(f"/v1/billing/invoices/{invoice['id']}", headers=_owner(books)).json()
    assert (read["total"], read["lines"][0]["category"]) == ("0.001000", "email_send")


def test_another_tenants_invoice_is_not_found(client: TestClient, books: Books) -> None:
    other = Books.open(books.lad, "Other")
    invoice = _invoiced(client, other)
    response = client.get(f"/v1/billing/invoices/{invoice['id']}", headers=_owner(books))
    assert response.status_code == 404


def test_a_top_up_of_an_unknown_tenant_is_404(client: TestClient, books: Books) -> None:
    response = client.post(f"/v1/operator/tenants/{uuid.uuid4()}/top-ups",
                           json={"amount": "5"}, headers={**OPERATOR, "Idempotency-Key": "k"})
    assert response.status_code == 404


def test_a_float_amount_is_refused_naming_the_field(client: TestClient, books: Books) -> None:
    response = _top_up(client, books, 12.5)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "amount"


@pytest.mark.parametrize("bad", [True, "1" + "0" * 30, "1.123456789", 1.5])
def test_a_top_up_amount_that_is_not_exact_money_is_422(client: TestClient, books: Books,
                                                         bad: Any) -> None:
    response = _top_up(client, books, bad)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "amount"


def test_a_balance_beyond_what_the_column_stores_is_422(client: TestClient, books: Books,
                                                        backend: str) -> None:
    for n in range(10):
        response = _top_up(client, books, "999999999999", key=f"big-{n}")
    # 9.99e12 is more than SQLite's 2^63 micro-units; PostgreSQL's NUMERIC(20, 6) holds it.
    assert response.status_code == (422 if backend == "sqlite" else 201)


def test_prices_are_plain_decimal_strings(client: TestClient, books: Books) -> None:
    prices = client.get("/v1/billing/pricing", headers=_owner(books)).json()
    assert prices
    assert all("E" not in p["unit_price"] for p in prices)
