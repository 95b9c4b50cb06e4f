"""Location on every 201: each creating route declares where its resource lives (and the
OpenAPI document says so), and a whole tenant built over HTTP, a creation on every such
route, gets a Location on each 201 that names what was created; followed, it reads it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import SecretStr

from lad_adapters.catalog import default_catalog
from lad_adapters.storage import LocalFileStorage
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from lad_entrypoints.http.locations import location, location_template
from lad_entrypoints.http.methods import allowed_methods, route_index
from tests.fakes.channels import RecordingEmail, RecordingLinkedIn
from tests.fakes.voice import OneProvider, ScriptedProvider
from tests.integration.tenant_world import OPERATOR_TOKEN, build_worlds


def _creating_routes(app: FastAPI) -> dict[tuple[str, str], object]:
    return {(method, route.path): route for route in iter_route_contexts(app.routes)
            if getattr(route, "status_code", None) == 201
            for method in getattr(route, "methods", ())}


def test_every_creating_route_declares_its_location(container: Container) -> None:
    app = create_app(container)
    routes = _creating_routes(app)
    assert len(routes) >= 29
    document = app.openapi()
    for (method, path), route in routes.items():
        template = location_template(route)
        assert template is not None, f"{method} {path} declares no Location"
        fields = set(re.findall(r"{(\w+)}", template))
        model = getattr(route, "response_model", None)
        known = set(re.findall(r"{(\w+)}", path)) | set(getattr(model, "model_fields", {}))
        assert fields <= known, f"{method} {path}: {template} names {fields - known}"
        header = document["paths"][path][method.lower()]["responses"]["201"]["headers"]
        assert header["Location"]["schema"]["type"] == "string"


def test_a_template_is_filled_from_the_path_then_the_body() -> None:
    assert location("/v1/leads/{lead_id}/notes/{id}", {"lead_id": "L"},
                    b'{"id": "N", "lead_id": "other"}') == "/v1/leads/L/notes/N"
    assert location("/v1/x/{id}", {}, b'{"id": null}') is None
    assert location("/v1/x/{id}", {}, b"[1]") is None


@pytest.fixture
def lad(backend: str, container: Container, tmp_path: Path) -> Container:
    """What tenant_world's worlds need: a fixed clock, the price catalog, channels that
    send nothing, attachments in a temporary directory, an operator token."""
    container.clock.override(providers.Object(FixedClock()))
    container.email_channel.override(providers.Object(RecordingEmail()))
    container.linkedin_channel.override(providers.Object(RecordingLinkedIn()))
    container.voice_providers.override(providers.Object(OneProvider({
        "local": ScriptedProvider()})))
    container.file_storage.override(providers.Object(LocalFileStorage(tmp_path / "files")))
    settings = container.settings().model_copy(update={"operator_token": SecretStr(OPERATOR_TOKEN)})
    container.settings.override(providers.Object(settings))
    container.billing_plans().load_pricing(Principal.operator(), default_catalog())
    return container


@pytest.fixture
def recorded(lad: Container) -> Iterator[tuple[TestClient, list[httpx.Response]]]:
    answers: list[httpx.Response] = []
    with TestClient(create_app(lad)) as client:
        client.event_hooks = {"request": [], "response": [answers.append]}
        yield client, answers


@pytest.mark.parametrize("backend", ["memory", "sqlite"], indirect=True)
def test_every_201_says_where_its_resource_is(
        recorded: tuple[TestClient, list[httpx.Response]], lad: Container) -> None:
    client, answers = recorded
    [world] = build_worlds(client, lad, "alpha")
    app = client.app
    assert isinstance(app, FastAPI)
    created = [a for a in answers if a.status_code == 201]
    for answer in created:
        answer.read()
    scope = {"app": app}
    served = {(a.request.method, _route_of(app, a.request.url.path)) for a in created}
    # The world creates something on every creating route but signing up alone (the ICP
    # routes are the cross-tenant test's own world): listed, so that a new one is seen.
    missing = set(_creating_routes(app)) - served
    assert missing == {("POST", "/v1/me/identities"), ("POST", "/v1/icp/conversations"),
                       ("POST", "/v1/icp/conversations/{conversation_id}/messages"),
                       ("POST", "/v1/icp/profiles"), ("POST", "/v1/voice/batches")}
    followed = 0
    for answer in created:
        where = answer.headers.get("Location")
        assert where, f"{answer.request.method} {answer.request.url.path}: no Location"
        body = answer.json()
        assert where.endswith(str(body.get("id", body.get("key", ""))))
        if "GET" in allowed_methods(route_index(scope).candidates(where), where):
            read = client.get(where, headers={"Authorization": answer.request.headers[
                "Authorization"]} if "Authorization" in answer.request.headers
                else world.owner.auth)
            assert read.status_code == 200, f"{where}: {read.text}"
            followed += 1
    assert followed >= 15


def _route_of(app: FastAPI, path: str) -> str:
    for route in iter_route_contexts(app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.fullmatch(path) and "POST" in getattr(
                route, "methods", ()):
            return str(getattr(route, "path", ""))
    return path


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_icp_and_batch_creations_say_where(
        recorded: tuple[TestClient, list[httpx.Response]], lad: Container) -> None:
    client, _ = recorded
    [world] = build_worlds(client, lad, "beta")
    auth = world.owner.auth
    conversation = client.post("/v1/icp/conversations", headers=auth, json={"title": "t"})
    assert conversation.headers["Location"] == \
        f"/v1/icp/conversations/{conversation.json()['id']}"
    said = client.post(f"{conversation.headers['Location']}/messages", headers=auth,
                       json={"content": "CTOs at software companies in Germany"})
    assert said.status_code == 201
    assert client.get(said.headers["Location"], headers=auth).status_code == 200
    profile = client.post("/v1/icp/profiles", headers=auth, json={
        "name": "p", "conversation_id": conversation.json()["id"]})
    assert client.get(profile.headers["Location"], headers=auth).status_code == 200
    batch = client.post("/v1/voice/batches", headers=auth, json={
        "name": "b", "agent_id": int(world.ids["agent"]), "number_id": world.ids["number"],
        "lead_ids": [world.ids["lead"]]})
    assert batch.status_code == 201, batch.text
    assert client.get(batch.headers["Location"], headers=auth).status_code == 200
