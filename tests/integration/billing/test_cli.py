"""The billing CLI, as the operator: JSON for scripts, one-line errors, exit codes."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from lad_adapters.memory.store import InMemoryStore
from lad_domain.billing.model import LegacyTransaction
from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container
from tests.integration.cli_calls import cli, lad_json
from tests.unit.billing.books import EMAIL, Books

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def books(memory_lad: Container) -> Books:
    """On memory:// (the SQL paths are the same use cases, tested by the contracts)."""
    return Books.open(memory_lad)


def lad_items(container: Container, capsys: Capture, *args: str) -> list[Any]:
    """A list command's rows: its one JSON envelope, on a single page."""
    found = lad_json(container, capsys, *args)
    assert set(found) == {"items", "next_cursor"} and found["next_cursor"] is None, found
    items: list[Any] = found["items"]
    return items


def test_top_up_balance_and_ledger(books: Books, capsys: Capture) -> None:
    slug = books.lad.team().get_tenant(books.org.owner).slug
    entry = lad_json(books.lad, capsys, "billing", "top-up", "--tenant", slug, "20.5",
                     "--idempotency-key", "wire-1")
    again = lad_json(books.lad, capsys, "billing", "top-up", "--tenant", slug, "20.5",
                     "--idempotency-key", "wire-1")
    assert entry == again and entry["balance_after"] == "20.500000"
    [wallet] = lad_items(books.lad, capsys, "billing", "balance", "--tenant", slug)
    assert (wallet["wallet"], wallet["available"]) == ("tenant", "20.500000")
    [row] = lad_items(books.lad, capsys, "billing", "ledger", "--tenant", str(books.id))
    assert (row["type"], row["actor"]) == ("top_up", "operator")


def test_a_conflicting_top_up_is_one_line_and_exit_4(books: Books, capsys: Capture) -> None:
    lad_json(books.lad, capsys, "billing", "top-up", "--tenant", str(books.id), "1",
             "--idempotency-key", "k")
    code, _, err = cli(books.lad, capsys, "billing", "top-up", "--tenant", str(books.id), "2",
                       "--idempotency-key", "k")
    assert code == 4 and err.count("\n") == 1 and err.startswith("error:")


def test_a_bad_amount_names_the_field_and_exits_2(books: Books, capsys: Capture) -> None:
    code, _, err = cli(books.lad, capsys, "billing", "top-up", "--tenant", str(books.id), "ten",
                       "--idempotency-key", "k")
    assert code == 2 and "amount" in err


def test_an_unknown_tenant_exits_3(books: Books, capsys: Capture) -> None:
    code, _, err = cli(books.lad, capsys, "billing", "balance", "--tenant", "nobody")
    assert code == 3 and "nobody" in err


def test_pricing_load_from_a_file_extends_the_catalog(books: Books, capsys: Capture,
                                                      tmp_path: Path) -> None:
    file = tmp_path / "prices.json"
    file.write_text(json.dumps([{"category": "sms_send", "unit": "message",
                                 "unit_price": 0.0075}]))
    loaded = lad_json(books.lad, capsys, "billing", "pricing", "load", str(file))
    assert loaded == {"added": 1, "closed": 0, "unchanged": 0}
    listed = lad_items(books.lad, capsys, "billing", "pricing", "list")
    assert {"sms_send": "0.0075000000"}.items() <= {p["category"]: p["unit_price"]
                                                     for p in listed}.items()


def test_a_bad_catalog_file_names_the_row(books: Books, capsys: Capture,
                                          tmp_path: Path) -> None:
    file = tmp_path / "prices.json"
    file.write_text(json.dumps({"prices": [{"category": "sms", "unit_price": "-1"}]}))
    code, _, err = cli(books.lad, capsys, "billing", "pricing", "load", str(file))
    assert code == 2 and "prices[0].unit_price" in err


def test_invoices_generate_once_per_month(books: Books, capsys: Capture,
                                          clock: FixedClock) -> None:
    books.fund("1")
    books.use([EMAIL])
    clock.advance(timedelta(days=31))
    [invoice] = lad_items(books.lad, capsys, "billing", "invoices", "generate",
                         "--period", "2026-03")
    again = lad_items(books.lad, capsys, "billing", "invoices", "generate",
                      "--period", "2026-03")
    assert again == [invoice] and (invoice["number"], invoice["total"]) == ("INV-000001",
                                                                            "0.001000")
    paid = lad_json(books.lad, capsys, "billing", "invoices", "status", "--tenant", str(books.id),
                    invoice["id"], "issued")
    assert paid["status"] == "issued"


def test_reconcile_exits_1_on_drift(books: Books, capsys: Capture) -> None:
    books.fund("1")
    assert cli(books.lad, capsys, "billing", "reconcile")[0] == 0
    store: InMemoryStore = books.lad.unit_of_work().store
    wallets = store.tables["billing_wallets"]
    [(slot, wallet)] = wallets.items()
    wallets[slot] = attrs.evolve(wallet, current_balance=Decimal("3"))
    code, out, _ = cli(books.lad, capsys, "billing", "reconcile")
    assert code == 1 and "current_balance" in out and "1 drift" in out


def test_migrate_legacy_reports_matching_totals(books: Books, capsys: Capture) -> None:
    with books.lad.unit_of_work()(books.id) as uow:
        uow.legacy_credits.record(LegacyTransaction(
            id=uuid.uuid4(), tenant_id=books.id, user_id=books.org.owner.user_id or uuid.uuid4(),
            amount=Decimal("4"), transaction_type="purchase", created_at=books.lad.clock().now()))
        uow.commit()
    report = lad_json(books.lad, capsys, "billing", "migrate-legacy")
    assert (report["migrated"], report["totals_match"], report["migrated_total"]) == (
        1, True, "4.000000")


def test_reservations_sweep_releases_the_expired(books: Books, capsys: Capture,
                                                 clock: FixedClock) -> None:
    books.fund("1")
    books.lad.billing_reservations().reserve(books.service, feature_key="voice", amount_="1",
                                             idempotency_key_="c", hold=timedelta(minutes=1))
    clock.advance(timedelta(minutes=2))
    assert lad_json(books.lad, capsys, "billing", "reservations", "sweep") == {"released": 1}


def test_entitlements_set_and_list(books: Books, capsys: Capture) -> None:
    lad_json(books.lad, capsys, "billing", "entitlements", "set", "--tenant", str(books.id),
             "outreach", "--quota", "3", "--overage", "refuse")
    books.use()
    [quota] = lad_items(books.lad, capsys, "billing", "entitlements", "list", "--tenant",
                        str(books.id))
    assert (quota["used"], quota["remaining"], quota["overage"]) == (1, 2, "refuse")


def test_the_cli_reconciles_every_backend(lad: Container, capsys: Capture) -> None:
    books = Books.open(lad)
    cli_json = lad_json(lad, capsys, "billing", "top-up", "--tenant", str(books.id), "2",
                        "--idempotency-key", "w")
    books.use()
    code, out, _ = cli(lad, capsys, "billing", "reconcile")
    assert cli_json["amount"] == "2.000000" and code == 0 and "0 drift" in out
