"""HTTP: a lead's email as the API takes it: internationalised addresses created and kept in
one form (so a second spelling is the same lead), a domain that cannot receive mail refused
with a problem naming the field and the reason; on every backend."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.tenancy.api import fields, problem, sign_up


def test_an_internationalised_address_is_created_and_kept_in_one_form(
        client: TestClient) -> None:
    owner = sign_up(client)

    created = client.post("/v1/leads", json={"first_name": "Jürgen", "email": "Jürgen@MÜLLER.de"},
                          headers=owner.auth)

    assert created.status_code == 201, created.text
    assert created.json()["email"] == "jürgen@müller.de"
    read = client.get(f"/v1/leads/{created.json()['id']}", headers=owner.auth)
    assert read.json()["email"] == "jürgen@müller.de"
    again = client.post("/v1/leads", json={"email": "jürgen@xn--mller-kva.de"},
                        headers=owner.auth)
    assert "already exists" in problem(again, 409)["detail"]


def test_a_plain_address_at_an_idn_domain_is_201(client: TestClient) -> None:
    owner = sign_up(client)

    created = client.post("/v1/leads", json={"email": "a@müller.de"}, headers=owner.auth)

    assert created.status_code == 201, created.text
    assert created.json()["email"] == "a@müller.de"


def test_a_domain_that_cannot_receive_mail_is_422_naming_email(client: TestClient) -> None:
    owner = sign_up(client)

    refused = client.post("/v1/leads", json={"email": "a@x.invalid"}, headers=owner.auth)

    assert fields(refused) == ["email"]
    [error] = refused.json()["errors"]
    assert error["message"] == ("'a@x.invalid' is not a valid email address: the domain "
                                "'x.invalid' cannot receive mail: .invalid is reserved for "
                                "names that never exist (RFC 6761)")
    for address, reason in [("a@[192.0.2.1]", "IP-address domains are not accepted"),
                            ("a@192.0.2.1", "is a number, not a name"),
                            ("a b@acme.com", "may not hold spaces")]:
        response = client.post("/v1/leads", json={"email": address}, headers=owner.auth)
        assert fields(response) == ["email"]
        assert reason in response.json()["errors"][0]["message"]
    assert client.get("/v1/leads", headers=owner.auth).json()["items"] == []
