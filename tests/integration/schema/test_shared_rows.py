"""Row-level security on PostgreSQL for the rows that are not one tenant's: memberships
read by their user, and the global rows of mixed tables."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from lad_adapters.sql.tables.tenancy import feature_flags, memberships, users
from tests.integration.schema import rows
from tests.integration.schema.conftest import Engines


def _member(conn: sa.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID) -> None:
    conn.execute(memberships.insert().values(tenant_id=tenant_id, user_id=user_id,
                                             role="owner", created_at=rows.NOW,
                                             updated_at=rows.NOW))


def test_a_user_lists_their_memberships_before_choosing_a_tenant(engines: Engines) -> None:
    ada, bob = uuid.uuid4(), uuid.uuid4()
    with engines.owner.begin() as conn:
        a, b = rows.tenant(conn, "a"), rows.tenant(conn, "b")
        for user_id, email in ((ada, "ada@x.test"), (bob, "bob@x.test")):
            conn.execute(users.insert().values(id=user_id, email=email, created_at=rows.NOW,
                                               updated_at=rows.NOW))
        _member(conn, a, ada)
        _member(conn, b, bob)
    with engines.app.begin() as conn:
        rows.scope(conn, user_id=ada)
        assert list(conn.execute(sa.select(memberships.c.tenant_id)).scalars()) == [a]


def _flag(tenant_id: uuid.UUID | None) -> dict[str, object]:
    return {"id": uuid.uuid4(), "feature_key": "beta", "tenant_id": tenant_id,
            "enabled": True, "updated_at": rows.NOW}


def test_global_rows_are_read_in_every_scope(engines: Engines) -> None:
    with engines.owner.begin() as conn:
        a = rows.tenant(conn, "a")
        conn.execute(feature_flags.insert().values(_flag(None)))
    with engines.app.begin() as conn:
        rows.scope(conn, a)
        assert conn.execute(sa.select(sa.func.count()).select_from(feature_flags)).scalar() == 1


def test_a_tenant_cannot_write_a_global_row(engines: Engines) -> None:
    with engines.owner.begin() as conn:
        a = rows.tenant(conn, "a")
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), \
            engines.app.begin() as conn:
        rows.scope(conn, a)
        conn.execute(feature_flags.insert().values(_flag(None)))
