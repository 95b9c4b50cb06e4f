"""Sign-up and log-in."""

from __future__ import annotations

import pytest
from dependency_injector import providers

from lad_adapters.security.passwords import Argon2PasswordHasher
from lad_domain.shared.errors import (
    AuthenticationFailed,
    Conflict,
    PermissionDenied,
    ValidationFailed,
)
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import PrincipalKind, Role
from lad_domain.tenancy.model import DEFAULT_FEATURES
from lad_domain.tenancy.services import TenancyService
from lad_entrypoints.container import Container
from tests.unit.tenancy.org import OPERATOR, PASSWORD, NewOrg, Org


class CountingHasher:
    """The real argon2id hasher, counting its work and remembering the hashes it verified."""

    def __init__(self) -> None:
        self._real = Argon2PasswordHasher(time_cost=1, memory_cost=1024)
        self.hashed = 0
        self.verified: list[str] = []

    def hash(self, password: str) -> str:
        self.hashed += 1
        return self._real.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return self._real.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._real.needs_rehash(password_hash)


def _sign_up(accounts: TenancyService, email: str = "ada@acme.test") -> None:
    accounts.sign_up(tenant_name="Acme", email=email, password=PASSWORD)


def test_sign_up_makes_the_user_owner_of_a_new_tenant(org: Org) -> None:
    assert org.session.role is Role.OWNER
    assert org.roles() == {org.session.user_id: Role.OWNER}


def test_sign_up_enables_the_default_features(org: Org) -> None:
    enabled = {f for f in DEFAULT_FEATURES if org.team.get_feature(org.owner, f).enabled}
    assert enabled == set(DEFAULT_FEATURES)


def test_sign_up_stores_an_argon2id_hash(accounts: TenancyService) -> None:
    _sign_up(accounts)
    user = accounts.list_users(OPERATOR, PageRequest()).items[0]
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_sign_up_with_a_registered_email_conflicts(accounts: TenancyService) -> None:
    _sign_up(accounts)
    with pytest.raises(Conflict):
        _sign_up(accounts, "ADA@Acme.test")


def test_sign_up_names_an_invalid_email(accounts: TenancyService) -> None:
    with pytest.raises(ValidationFailed) as raised:
        _sign_up(accounts, "not-an-email")
    assert [e.field for e in raised.value.errors] == ["email"]


def test_sign_up_refuses_a_short_password(accounts: TenancyService) -> None:
    with pytest.raises(ValidationFailed) as raised:
        accounts.sign_up(tenant_name="Acme", email="ada@acme.test", password="short")
    assert raised.value.errors[0].field == "password"


def test_sign_up_gives_each_tenant_a_free_slug(new_org: NewOrg) -> None:
    first, second = new_org("Acme Ltd"), new_org("Acme Ltd")
    slugs = [o.team.get_tenant(o.owner).slug for o in (first, second)]
    assert slugs == ["acme-ltd", "acme-ltd-2"]


def test_log_in_returns_a_session_in_the_primary_tenant(org: Org) -> None:
    email = org.accounts.me(org.owner).user.email
    session = org.accounts.log_in(email=email.upper(), password=PASSWORD)
    assert (session.tenant_id, session.user_id, session.role) == (
        org.id, org.session.user_id, Role.OWNER)


def test_log_in_token_authenticates_as_the_user(org: Org) -> None:
    principal = org.accounts.authenticate(org.session.access_token)
    assert principal.kind is PrincipalKind.USER
    assert (principal.tenant_id, principal.user_id) == (org.id, org.session.user_id)


def test_log_in_with_a_wrong_password_fails(org: Org) -> None:
    email = org.accounts.me(org.owner).user.email
    with pytest.raises(AuthenticationFailed):
        org.accounts.log_in(email=email, password="wrong password!")


def test_log_in_with_an_unknown_email_fails_the_same_way(org: Org) -> None:
    with pytest.raises(AuthenticationFailed, match="wrong email or password"):
        org.accounts.log_in(email="nobody@acme.test", password=PASSWORD)


def test_unknown_email_costs_the_same_hash_work_as_a_wrong_password(lad: Container) -> None:
    hasher = CountingHasher()
    lad.password_hasher.override(providers.Object(hasher))
    accounts = lad.tenancy()
    _sign_up(accounts)
    for email in ("ada@acme.test", "nobody@acme.test", "ada@acme.test", "nobody@acme.test"):
        with pytest.raises(AuthenticationFailed):
            accounts.log_in(email=email, password="wrong password!")
    assert len(hasher.verified) == 4
    # One argon2id verification each, against hashes made with the same parameters.
    params = {h.rsplit("$", 2)[0] for h in hasher.verified}
    assert len(params) == 1 and params.pop().startswith("$argon2id$")


def test_log_in_to_a_tenant_one_is_not_a_member_of_fails(new_org: NewOrg) -> None:
    mine, theirs = new_org(), new_org()
    email = mine.accounts.me(mine.owner).user.email
    with pytest.raises(AuthenticationFailed):
        mine.accounts.log_in(email=email, password=PASSWORD, tenant_id=theirs.id)


def test_a_user_of_no_tenant_cannot_log_in(accounts: TenancyService) -> None:
    accounts.create_user(OPERATOR, email="loner@acme.test", password=PASSWORD)
    with pytest.raises(AuthenticationFailed):
        accounts.log_in(email="loner@acme.test", password=PASSWORD)


def test_a_garbage_bearer_is_refused(accounts: TenancyService) -> None:
    for bearer in ("garbage", "lad_nothex_x_y", "eyJhbGciOiJIUzI1NiJ9.e30.x"):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(bearer)


def test_create_user_needs_the_operator(org: Org) -> None:
    with pytest.raises(PermissionDenied, match="operator"):
        org.accounts.create_user(org.owner, email="x@acme.test", password=PASSWORD)
