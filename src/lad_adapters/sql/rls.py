"""Row-level security on PostgreSQL: the policies that make a transaction's scope (the
``lad.tenant_id`` and ``lad.user_id`` settings the unit of work sets) a second wall behind
the repositories. Migrations call these with the tables they cover.

Migrations are history: these builders must keep producing the SQL they produce today. A
policy that should change gets a new builder and a new migration, never an edit here."""

from __future__ import annotations

#: The transaction's tenant and user; an unset or empty setting is "none" (NULL).
CURRENT_TENANT = "NULLIF(current_setting('lad.tenant_id', true), '')::uuid"
CURRENT_USER = "NULLIF(current_setting('lad.user_id', true), '')::uuid"

TENANT_POLICY = "tenant_isolation"
SHARED_POLICIES = ("shared_read", "scoped_insert", "scoped_update", "scoped_delete")
MEMBER_POLICY = "member_self_read"


def _enable(table: str) -> list[str]:
    # FORCE: the policies bind the tables' owner too (superusers always bypass them).
    return [f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY"]


def tenant_owned(table: str) -> list[str]:
    """Rows are seen, written and moved only inside their tenant's scope; with no tenant in
    scope a tenant-owned table is empty."""
    same = f"tenant_id = {CURRENT_TENANT}"
    return [*_enable(table),
            f"CREATE POLICY {TENANT_POLICY} ON {table} USING ({same}) WITH CHECK ({same})"]


def mixed(table: str, *, shared_rows_writable: bool = False) -> list[str]:
    """Global rows (tenant_id NULL) are read by everyone; a tenant's rows only in its scope.
    Global rows are written with no tenant in scope (the operator), unless
    ``shared_rows_writable`` (a cache any tenant may fill)."""
    mine = f"tenant_id IS NOT DISTINCT FROM {CURRENT_TENANT}"
    if shared_rows_writable:
        mine = f"(tenant_id IS NULL OR tenant_id = {CURRENT_TENANT})"
    read, insert, update, delete = SHARED_POLICIES
    return [*_enable(table),
            f"CREATE POLICY {read} ON {table} FOR SELECT "
            f"USING (tenant_id IS NULL OR tenant_id = {CURRENT_TENANT})",
            f"CREATE POLICY {insert} ON {table} FOR INSERT WITH CHECK ({mine})",
            f"CREATE POLICY {update} ON {table} FOR UPDATE USING ({mine}) WITH CHECK ({mine})",
            f"CREATE POLICY {delete} ON {table} FOR DELETE USING ({mine})"]


def member_self_read(table: str = "memberships") -> list[str]:
    """A user lists their own memberships before any tenant is chosen (log in)."""
    return [f"CREATE POLICY {MEMBER_POLICY} ON {table} FOR SELECT "
            f"USING (user_id = {CURRENT_USER})"]


def drop(table: str, policies: tuple[str, ...]) -> list[str]:
    return [*(f"DROP POLICY IF EXISTS {name} ON {table}" for name in policies),
            f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"]
