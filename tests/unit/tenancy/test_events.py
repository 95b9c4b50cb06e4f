"""Tenancy event classes: one event type each, stored as the payloads readers expect."""

from __future__ import annotations

import uuid

from lad_domain.shared.principal import Role
from lad_domain.tenancy import events
from lad_domain.tenancy.events import EVENTS

A, B = uuid.UUID(int=1), uuid.UUID(int=2)


def test_every_event_class_has_its_own_event_type() -> None:
    types = [cls.event_type for cls in EVENTS]
    assert len(types) == len(set(types)) == 13


def test_payloads_keep_their_stored_shape() -> None:
    assert events.TenantCreated(A, name="Acme", slug="acme", owner_id=B).payload() == {
        "name": "Acme", "slug": "acme", "owner_id": str(B)}
    assert events.MemberRoleChanged(A, user_id=A, from_=Role.ADMIN, to=Role.VIEWER
                                    ).payload() == {"user_id": str(A), "from": "admin",
                                                    "to": "viewer"}
    assert events.OwnershipTransferred(A, from_=A, to=B).payload() == {
        "from": str(A), "to": str(B)}
    assert events.MemberLeft(A, user_id=A, api_keys_revoked=2).payload() == {
        "user_id": str(A), "api_keys_revoked": 2}
    assert events.FeatureChanged(A, feature_key="voice", enabled=False).payload() == {
        "feature_key": "voice", "enabled": False}
    assert events.ApiKeyRevoked(A).payload() == {}


def test_the_envelope_names_the_aggregate() -> None:
    event = events.InvitationCreated(A, email="a@b.test", role=Role.MEMBER)
    assert (event.event_type, event.aggregate_type, event.aggregate_key()) == (
        "invitation.created", "invitation", str(A))
