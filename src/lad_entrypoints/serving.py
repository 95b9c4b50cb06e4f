"""Before serving: PostgreSQL's row-level security must bind the role the server connects
as, or tenants are walled off by the repositories alone. A superuser, a BYPASSRLS role or
the tables' owner is refused, unless ``LAD_ALLOW_RLS_BYPASS`` says this is an experiment."""

from __future__ import annotations

from lad_adapters.sql import roles
from lad_adapters.sql.database import DatabaseUnavailable
from lad_entrypoints.container import Container
from lad_entrypoints.settings import Settings

FIX = ("as the tables' owner run `LAD_MIGRATION_DATABASE_URL=<owner URL> lad db app-role "
       "<role>`, then serve with LAD_DATABASE_URL connecting as <role> "
       "(LAD_ALLOW_RLS_BYPASS=1 serves anyway, for local experiments only)")


class RowLevelSecurityBypassed(DatabaseUnavailable):
    """The database role is not bound by row-level security; serving would rely on the
    repositories alone to keep tenants apart. ``reason`` names the role's attributes (the
    CLI prints it; HTTP, like for any unavailable database, does not)."""

    code = "row_level_security_bypassed"


def check_database_role(container: Container) -> str | None:
    """Raise RowLevelSecurityBypassed when row-level security does not bind the connected
    role; when the setting allows it, answer the warning to print on every start instead.
    None: the role is bound (or the database is not PostgreSQL)."""
    engine = container.engine()
    reasons = roles.row_level_security_bypass(engine) if engine is not None else []
    if not reasons:
        return None
    settings: Settings = container.settings()
    if settings.allow_rls_bypass:
        return (f"warning: the database role bypasses row-level security ({'; '.join(reasons)})"
                "; serving only because LAD_ALLOW_RLS_BYPASS is set: tenants are walled off "
                "by the application alone")
    raise RowLevelSecurityBypassed("the database role bypasses row-level security, so LAD "
                                   f"will not serve it: {FIX}", reason="; ".join(reasons))
