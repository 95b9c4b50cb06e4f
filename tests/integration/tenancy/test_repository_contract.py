"""The contract of the global tenancy repositories (tenants, users, identities), asserted
once for memory, SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

import attrs
import pytest

from lad_domain.shared.errors import Conflict
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.tenancy.model import UserIdentity
from lad_domain.tenancy.ports import TenancyUnitOfWorkFactory
from tests.integration.tenancy import records

T = TypeVar("T")


def all_pages(fetch: Callable[[PageRequest], Page[T]], limit: int) -> list[list[T]]:
    """Every page of a listing, following next_cursor."""
    pages, request = [], PageRequest(limit=limit)
    while True:
        page = fetch(request)
        pages.append(list(page.items))
        if page.next_cursor is None:
            return pages
        request = PageRequest.parse(limit=limit, cursor=page.next_cursor)


def test_a_tenant_reads_back_as_added(uows: TenancyUnitOfWorkFactory) -> None:
    tenant = records.tenant()
    with uows(None) as uow:
        uow.tenants.add(tenant)
        uow.commit()
    with uows(None) as uow:
        assert uow.tenants.get(tenant.id) == tenant
        assert uow.tenants.get_by_slug(tenant.slug) == tenant
        assert uow.tenants.get(uuid.uuid4()) is None


def test_a_tenant_update_is_stored(uows: TenancyUnitOfWorkFactory) -> None:
    tenant = records.tenant()
    with uows(None) as uow:
        uow.tenants.add(tenant)
        tenant.rename("Renamed", records.at(5))
        tenant.change_plan("growth", records.at(5))
        uow.tenants.update(tenant)
        uow.commit()
    with uows(None) as uow:
        assert uow.tenants.get(tenant.id) == tenant


def test_tenants_page_newest_first_without_overlap(uows: TenancyUnitOfWorkFactory) -> None:
    # Three share a timestamp: the id breaks the tie.
    tenants = [records.tenant(created=min(i, 2)) for i in range(5)]
    with uows(None) as uow:
        for tenant in tenants:
            uow.tenants.add(tenant)
        uow.commit()
    with uows(None) as uow:
        pages = all_pages(uow.tenants.list, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [t.id for p in pages for t in p] == [t.id for t in reversed(tenants)]


def test_a_live_slug_is_unique(uows: TenancyUnitOfWorkFactory) -> None:
    with uows(None) as uow:
        uow.tenants.add(records.tenant("acme"))
        uow.commit()
    with uows(None) as uow, pytest.raises(Conflict):
        uow.tenants.add(records.tenant("acme"))


def test_renaming_onto_a_live_slug_conflicts(uows: TenancyUnitOfWorkFactory) -> None:
    first, second = records.tenant("acme"), records.tenant("other")
    with uows(None) as uow:
        uow.tenants.add(first)
        uow.tenants.add(second)
        uow.commit()
    with uows(None) as uow, pytest.raises(Conflict):
        uow.tenants.update(attrs.evolve(second, slug="acme"))


def test_a_deleted_tenant_frees_its_slug_and_leaves_listings(uows: TenancyUnitOfWorkFactory
                                                             ) -> None:
    old = records.tenant("acme")
    with uows(None) as uow:
        uow.tenants.add(old)
        old.soft_delete(records.at(1))
        uow.tenants.update(old)
        uow.tenants.add(new := records.tenant("acme", created=2))
        uow.commit()
    with uows(None) as uow:
        assert uow.tenants.get_by_slug("acme") == new
        assert old.id not in [t.id for t in uow.tenants.list(PageRequest()).items]
        assert uow.tenants.get(old.id) == old


def test_a_tenant_id_is_unique(uows: TenancyUnitOfWorkFactory) -> None:
    tenant = records.tenant()
    with uows(None) as uow:
        uow.tenants.add(tenant)
        uow.commit()
    with uows(None) as uow, pytest.raises(Conflict):
        uow.tenants.add(attrs.evolve(tenant, slug="elsewhere"))


def test_a_user_reads_back_by_id_and_any_case_of_email(uows: TenancyUnitOfWorkFactory) -> None:
    user = records.user("ada@acme.test")
    with uows(None) as uow:
        uow.users.add(user)
        uow.commit()
    with uows(None) as uow:
        assert uow.users.get(user.id) == user
        assert uow.users.get_by_email("ADA@Acme.Test") == user
        assert uow.users.get_by_email("bob@acme.test") is None


def test_an_email_is_unique_in_any_case(uows: TenancyUnitOfWorkFactory) -> None:
    with uows(None) as uow:
        uow.users.add(records.user("ada@acme.test"))
        uow.commit()
    with uows(None) as uow, pytest.raises(Conflict):
        uow.users.add(records.user("Ada@ACME.test"))


def test_changing_an_email_onto_a_taken_one_conflicts(uows: TenancyUnitOfWorkFactory) -> None:
    ada, bob = records.user("ada@acme.test"), records.user("bob@acme.test")
    with uows(None) as uow:
        uow.users.add(ada)
        uow.users.add(bob)
        uow.commit()
    with uows(None) as uow, pytest.raises(Conflict):
        uow.users.update(attrs.evolve(bob, email="ADA@acme.test"))


def test_a_user_id_is_unique(uows: TenancyUnitOfWorkFactory) -> None:
    user = records.user()
    with uows(None) as uow:
        uow.users.add(user)
        uow.commit()
    with uows(None) as uow, pytest.raises(Conflict):
        uow.users.add(attrs.evolve(user, email="someone.else@acme.test"))


def test_users_page_newest_first_without_overlap(uows: TenancyUnitOfWorkFactory) -> None:
    users = [records.user(created=i // 2) for i in range(5)]
    with uows(None) as uow:
        for user in users:
            uow.users.add(user)
        uow.commit()
    with uows(None) as uow:
        pages = all_pages(uow.users.list, limit=3)
    assert [[u.id for u in p] for p in pages] == [
        [u.id for u in reversed(users[2:])], [u.id for u in reversed(users[:2])]]


def test_an_identity_is_linked_once(uows: TenancyUnitOfWorkFactory) -> None:
    ada, bob = records.user(), records.user()
    linked = UserIdentity(records.new_id(), ada.id, "google", "g-1", records.at())
    with uows(None) as uow:
        uow.users.add(ada)
        uow.users.add(bob)
        uow.identities.add(linked)
        uow.identities.add(UserIdentity(records.new_id(), ada.id, "github", "g-1", records.at()))
        uow.commit()
    with uows(None) as uow:
        assert uow.identities.get_by_provider("google", "g-1") == linked
        assert {i.provider for i in uow.identities.list_for_user(ada.id)} == {"google", "github"}
        with pytest.raises(Conflict):
            uow.identities.add(UserIdentity(records.new_id(), bob.id, "google", "g-1",
                                            records.at()))
