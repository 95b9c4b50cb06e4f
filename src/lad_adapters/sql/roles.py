"""The PostgreSQL role the application connects as: neither superuser nor owner of the
tables (either would bypass row-level security), granted exactly what the application
needs. Run by the tables' owner after every upgrade (``lad db app-role``)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lad_adapters.sql.database import translate_errors
from lad_adapters.sql.tables import metadata
from lad_adapters.sql.tables.base import SCOPE
from lad_domain.shared.errors import ValidationFailed

#: Tables the application only appends to: no UPDATE or DELETE, even by mistake.
APPEND_ONLY = frozenset({"billing_ledger_transactions"})
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: The narrow cross-tenant paths (SECURITY DEFINER functions, EXECUTE revoked from PUBLIC)
#: the application calls: the worker's claim of due work, a webhook's tenant lookup.
NARROW_PATHS = ("campaigns_claim_due(timestamptz, integer, interval, uuid)",
                "outreach_linkedin_tenant(text)",
                "voice_claim_due(timestamptz, integer, interval, uuid, integer, integer)",
                "voice_call_tenant(text, text)")
#: The tables whose rows row-level security keeps inside their tenant.
SCOPED_TABLES = tuple(t.name for t in metadata.sorted_tables if t.info[SCOPE] != "global")


def ensure_app_role(conn: Connection, role: str, *, password: str | None = None,
                    create: bool = True) -> list[str]:
    """Create the login role if it is missing (and ``create``), set its password when one
    is given, check it cannot bypass row-level security, and grant it the schema's tables.
    Idempotent; returns the tables granted."""
    if conn.dialect.name != "postgresql":
        raise ValidationFailed.single("database", "application roles exist on PostgreSQL only")
    if not _ROLE_NAME.match(role):
        raise ValidationFailed.single("role", "must be 1-63 characters of a-z, 0-9 and '_', "
                                      "starting with a letter or '_'")
    exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"),
                          {"role": role}).first() is not None
    if not exists and not create:
        raise ValidationFailed.single("role", f"there is no role {role!r}")
    with translate_errors():
        if not exists:
            _run_formatted(conn, "CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB "
                           "NOCREATEROLE", role)
        if password is not None:
            _run_formatted(conn, "ALTER ROLE %I PASSWORD %L", role, password)
        _refuse_bypass(conn, role)
        return _grant(conn, role)


def _refuse_bypass(conn: Connection, role: str) -> None:
    attributes = conn.execute(sa.text(
        "SELECT rolsuper, rolbypassrls, rolname = current_user AS is_me FROM pg_roles "
        "WHERE rolname = :role"), {"role": role}).one()
    if attributes.rolsuper or attributes.rolbypassrls:
        raise ValidationFailed.single("role", f"{role} is a superuser or bypasses row-level "
                                      "security; the application needs a plain role")
    owned = conn.execute(sa.text(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
        "AND tableowner = :role"), {"role": role}).scalar_one()
    if attributes.is_me or owned:
        raise ValidationFailed.single("role", f"{role} owns tables; row-level security does "
                                      "not bind the application unless another role owns them")


def row_level_security_bypass(engine: Engine) -> list[str]:
    """``bypass_reasons`` of the role the engine connects as (a no-op off PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return []
    with translate_errors(), engine.connect() as conn:
        return bypass_reasons(conn)


def bypass_reasons(conn: Connection) -> list[str]:
    """Why row-level security does not bind the connected role (empty: it does): a
    superuser or BYPASSRLS role skips every policy, and a table's owner skips them unless
    the table forces them (and can switch that off)."""
    if conn.dialect.name != "postgresql":
        return []
    role = conn.execute(sa.text("SELECT current_user AS name, rolsuper, rolbypassrls "
                                "FROM pg_roles WHERE rolname = current_user")).one()
    reasons = [f"{role.name} is a superuser"] if role.rolsuper else []
    if role.rolbypassrls:
        reasons.append(f"{role.name} has BYPASSRLS")
    owned = conn.execute(sa.text(
        "SELECT c.relname, c.relforcerowsecurity FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
        "AND c.relkind IN ('r', 'p') AND c.relowner = "
        "(SELECT oid FROM pg_roles WHERE rolname = current_user) "
        "AND c.relname = ANY(:names) ORDER BY c.relname"), {"names": list(SCOPED_TABLES)}).all()
    if owned:
        unforced = sum(not row.relforcerowsecurity for row in owned)
        reasons.append(f"{role.name} owns {len(owned)} tenant tables (e.g. {owned[0].relname})"
                       + (f", {unforced} without FORCE ROW LEVEL SECURITY" if unforced else ""))
    return reasons


def _grant(conn: Connection, role: str) -> list[str]:
    quote = conn.dialect.identifier_preparer.quote
    grantee = quote(role)
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {quote(_schema(conn))} TO {grantee}")
    granted = []
    for table in metadata.sorted_tables:
        if conn.execute(sa.text("SELECT to_regclass(:name)"), {"name": table.name}).scalar():
            name = quote(table.name)
            if table.name in APPEND_ONLY:
                conn.exec_driver_sql(f"REVOKE UPDATE, DELETE ON {name} FROM {grantee}")
                conn.exec_driver_sql(f"GRANT SELECT, INSERT ON {name} TO {grantee}")
            else:
                conn.exec_driver_sql(
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {grantee}")
            granted.append(table.name)
    for function in NARROW_PATHS:
        if conn.execute(sa.text("SELECT to_regprocedure(:f)"), {"f": function}).scalar():
            conn.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {function} TO {grantee}")
    conn.exec_driver_sql(
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(_schema(conn))} TO {grantee}")
    # Read-only, so that /healthz can tell whether the schema is at the code's head.
    conn.exec_driver_sql(f"GRANT SELECT ON alembic_version TO {grantee}")
    return granted


def _schema(conn: Connection) -> str:
    return str(conn.execute(sa.text("SELECT current_schema()")).scalar_one())


def _run_formatted(conn: Connection, template: str, *args: str) -> None:
    """Utility statements take no bind parameters: PostgreSQL's format() quotes the
    identifiers (%I) and literals (%L) instead."""
    placeholders = ", ".join(f"CAST(:a{i} AS text)" for i in range(len(args)))
    statement = conn.execute(sa.text(f"SELECT format(:template, {placeholders})"),
                             {"template": template, **{f"a{i}": a for i, a in enumerate(args)}}
                             ).scalar_one()
    conn.exec_driver_sql(statement)
