"""The Citus plan (docs/scaling.md): the metadata keeps the rules that let the schema be
distributed by tenant_id."""

from __future__ import annotations

from lad_adapters.sql import citus
from lad_adapters.sql.tables import metadata
from lad_adapters.sql.tables.base import SCOPE


def test_distributed_tables_keep_tenant_id_in_every_key_and_foreign_key() -> None:
    assert citus.violations() == []


def test_every_table_is_distributed_or_a_reference_table() -> None:
    planned = [t.name for t in citus.reference_tables() + citus.distributed_tables()]
    assert sorted(planned) == sorted(metadata.tables)


def test_only_tenant_owned_tables_are_distributed() -> None:
    assert {t.info[SCOPE] for t in citus.distributed_tables()} == {"tenant"}


def test_distributed_tables_are_co_located_with_the_anchor() -> None:
    statements = citus.statements()
    distributed = [s for s in statements if "create_distributed_table" in s]
    assert distributed[0] == f"SELECT create_distributed_table('{citus.ANCHOR}', 'tenant_id');"
    assert all(f"colocate_with => '{citus.ANCHOR}'" in s for s in distributed[1:])


def test_parents_are_distributed_before_their_children() -> None:
    order = [t.name for t in citus.distributed_tables()]
    late = [f"{t.name} before {fk.referred_table.name}" for t in citus.distributed_tables()
            for fk in t.foreign_key_constraints if fk.referred_table.name in order
            and order.index(fk.referred_table.name) > order.index(t.name)]
    assert late == []
