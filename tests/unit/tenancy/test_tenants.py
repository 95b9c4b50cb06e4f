"""The tenant itself (read, update, soft-delete) and linked OAuth identities."""

from __future__ import annotations

from typing import Any

import pytest

from lad_domain.shared.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from tests.unit.tenancy.org import OPERATOR, PASSWORD, NewOrg, Org


def test_an_admin_renames_the_tenant(org: Org) -> None:
    org.team.update_tenant(org.member(Role.ADMIN), name="Acme Holdings",
                           metadata={"region": "eu"})
    tenant = org.team.get_tenant(org.owner)
    assert (tenant.name, tenant.metadata) == ("Acme Holdings", {"region": "eu"})


def test_only_the_operator_changes_the_plan(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        org.team.update_tenant(org.owner, plan_tier="enterprise")
    org.team.update_tenant(OPERATOR, plan_tier="growth", tenant_id=org.id)
    assert org.team.get_tenant(org.owner).plan_tier == "growth"


def test_changes_record_domain_events(org: Org) -> None:
    org.team.update_tenant(org.owner, name="Renamed")
    with org.accounts.scope.uow(org.id) as uow:
        types = [e.event_type for e in uow.events.list()]
    assert types == ["tenant.updated", "tenant.created"]


def test_a_member_of_a_soft_deleted_tenant_acts_as_no_one(org: Org) -> None:
    org.team.delete_tenant(org.owner)
    with pytest.raises(AuthenticationFailed):
        org.team.get_tenant(org.owner)
    with pytest.raises(AuthenticationFailed):
        org.team.list_members(org.owner, PageRequest())


def test_log_in_is_refused_after_the_tenant_is_deleted(org: Org) -> None:
    email = org.accounts.me(org.owner).user.email
    org.team.delete_tenant(org.owner)
    with pytest.raises(AuthenticationFailed):
        org.accounts.log_in(email=email, password=PASSWORD)
    with pytest.raises(AuthenticationFailed):
        org.accounts.log_in(email=email, password=PASSWORD, tenant_id=org.id)


def test_a_token_of_a_deleted_tenant_no_longer_authenticates(org: Org) -> None:
    org.team.delete_tenant(org.owner)
    principal = org.accounts.authenticate(org.session.access_token)
    with pytest.raises(AuthenticationFailed):
        org.accounts.me(principal)


def test_the_operator_still_reads_the_members_of_a_deleted_tenant(org: Org) -> None:
    org.team.delete_tenant(org.owner)
    members = org.team.list_members(OPERATOR, PageRequest(), tenant_id=org.id).items
    assert [m.membership.user_id for m in members] == [org.session.user_id]


def test_a_deleted_tenant_leaves_the_listing_and_frees_its_slug(org: Org, new_org: NewOrg
                                                                 ) -> None:
    org.team.delete_tenant(org.owner)
    assert org.team.list_tenants(OPERATOR, PageRequest()).items == []
    again = new_org("Acme")
    assert org.team.get_tenant(again.owner).slug == "acme"


def test_only_the_owner_deletes_the_tenant(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        org.team.delete_tenant(org.member(Role.ADMIN))


def test_the_operator_finds_a_tenant_by_slug_or_id(org: Org) -> None:
    assert org.team.find_tenant(OPERATOR, "acme").id == org.id
    assert org.team.find_tenant(OPERATOR, str(org.id)).slug == "acme"
    with pytest.raises(NotFound):
        org.team.find_tenant(OPERATOR, "nope")


def test_a_user_links_an_oauth_identity(org: Org) -> None:
    identity = org.accounts.link_identity(org.owner, provider="google", provider_user_id="g-1")
    again = org.accounts.link_identity(org.owner, provider="google", provider_user_id="g-1")
    assert identity == again and identity.user_id == org.owner.user_id


def test_an_identity_linked_to_another_user_conflicts(org: Org) -> None:
    org.accounts.link_identity(org.owner, provider="google", provider_user_id="g-1")
    with pytest.raises(Conflict):
        org.accounts.link_identity(org.member(Role.MEMBER), provider="google",
                                   provider_user_id="g-1")


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("metadata", [
    {"k": float("nan")}, {"k": float("inf")}, {"k": "a\x00b"}, {1: "int key"},
    {"k": _nested(20)}, {"k": "x" * 20_000}, ["not", "an", "object"],
])
def test_metadata_every_backend_cannot_keep_is_refused(org: Org, metadata: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        org.team.update_tenant(org.owner, metadata=metadata)
    assert raised.value.errors[0].field == "metadata"
    assert org.team.get_tenant(org.owner).metadata == {}


def test_names_with_control_characters_are_refused(org: Org) -> None:
    attempts = {
        "tenant_name": lambda: org.accounts.sign_up(tenant_name="A\x00", email="x@acme.test",
                                                    password=PASSWORD),
        "name": lambda: org.team.create_api_key(org.owner, name="ci\x1b[31m", role="viewer"),
        "provider_user_id": lambda: org.accounts.link_identity(
            org.owner, provider="google", provider_user_id="g\x00"),
    }
    for field, attempt in attempts.items():
        with pytest.raises(ValidationFailed) as raised:
            attempt()
        assert raised.value.errors[0].field == field


def test_a_removed_member_cannot_link_an_identity(org: Org) -> None:
    member = org.member(Role.MEMBER)
    org.team.remove_member(org.owner, member.user_id)
    with pytest.raises(PermissionDenied):
        org.accounts.link_identity(member, provider="google", provider_user_id="g-1")
