"""Wallets: top-ups, who sees them, transfers to sub-wallets, credit limits, corrections."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lad_domain.billing.model import LedgerType
from lad_domain.shared.errors import Conflict, InsufficientFunds, PermissionDenied
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from tests.unit.billing.books import EMAIL, Books
from tests.unit.tenancy.org import OPERATOR


def test_top_up_credits_the_tenant_wallet(books: Books) -> None:
    entry = books.fund("25.50")
    assert (entry.type, entry.amount, entry.balance_after) == (
        LedgerType.TOP_UP, Decimal("25.5"), Decimal("25.5"))
    assert books.balance() == Decimal("25.50")


def test_top_up_retry_returns_the_first_entry_and_writes_nothing(books: Books) -> None:
    first = books.fund("10", "pay-1")
    assert books.fund("10.000", "pay-1") == first
    assert len(books.ledger()) == 1 and books.balance() == 10


def test_top_up_with_the_same_key_and_another_amount_is_a_conflict(books: Books) -> None:
    books.fund("10", "pay-1")
    with pytest.raises(Conflict, match="pay-1"):
        books.fund("11", "pay-1")


def test_only_the_operator_tops_up(books: Books) -> None:
    with pytest.raises(PermissionDenied):
        books.lad.billing().top_up(books.org.owner, books.id, "5", idempotency_key_="x")


def test_owners_and_admins_see_the_wallet(books: Books) -> None:
    books.fund("3")
    for principal in (books.org.owner, books.org.member(Role.ADMIN)):
        assert books.lad.billing().wallet(principal).current_balance == 3


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_do_not_see_the_wallet(books: Books, role: Role) -> None:
    with pytest.raises(PermissionDenied):
        books.lad.billing().wallet(books.org.member(role))


def test_a_service_key_does_not_see_the_ledger(books: Books) -> None:
    with pytest.raises(PermissionDenied):
        books.lad.billing().ledger(books.service, PageRequest())


def test_transfer_funds_a_members_sub_wallet_that_then_pays_their_usage(books: Books) -> None:
    member = books.org.member(Role.MEMBER)
    books.fund("1")
    books.lad.billing().transfer(books.org.owner, "0.5", idempotency_key_="t1",
                                 to_user_id=member.user_id)
    books.use([EMAIL], user_id=member.user_id)
    assert books.balance(member.user_id) == Decimal("0.499")
    assert books.balance() == Decimal("0.5")


def test_the_tenant_s_wallets_are_its_own_and_its_members_read_together(books: Books
                                                                          ) -> None:
    member = books.org.member(Role.MEMBER)
    books.fund("1")
    books.lad.billing().transfer(books.org.owner, "0.5", idempotency_key_="t1",
                                 to_user_id=member.user_id)
    found = books.lad.billing().tenant_wallets(books.org.owner)
    assert found.tenant.user_id is None and found.tenant.current_balance == Decimal("0.5")
    assert [w.user_id for w in found.members] == [member.user_id]


def test_a_transfer_beyond_the_available_balance_changes_nothing(books: Books) -> None:
    member = books.org.member(Role.MEMBER)
    books.fund("1")
    with pytest.raises(InsufficientFunds):
        books.lad.billing().transfer(books.org.owner, "2", idempotency_key_="t1",
                                     to_user_id=member.user_id)
    assert books.balance() == 1 and len(books.ledger()) == 1


def test_a_credit_limit_lets_the_available_balance_go_below_zero(books: Books) -> None:
    books.lad.billing().set_credit_limit(OPERATOR, books.id, "0.002")
    books.use()
    books.use()
    assert books.wallet().available == Decimal("-0.002")
    assert books.use().rejection_reason is not None


def test_a_refund_gives_back_what_the_event_charged_once(books: Books) -> None:
    books.fund("1")
    event = books.use()
    first = books.lad.billing().refund(OPERATOR, books.id, event.id)
    assert books.lad.billing().refund(OPERATOR, books.id, event.id) == first
    assert books.balance() == 1


def test_an_adjustment_below_the_available_balance_is_refused(books: Books) -> None:
    books.fund("1")
    with pytest.raises(InsufficientFunds):
        books.lad.billing().adjust(OPERATOR, books.id, "-2", idempotency_key_="a",
                                   note="typo")


def test_a_member_granted_billing_read_sees_the_wallet(books: Books) -> None:
    member = books.org.member(Role.MEMBER)
    assert member.user_id is not None
    books.lad.team().grant_capability(books.org.owner, member.user_id, feature_key="core",
                                      capability_key="billing.read")
    assert books.lad.billing().wallet(member).current_balance == 0
