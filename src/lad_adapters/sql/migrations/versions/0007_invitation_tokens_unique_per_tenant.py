"""invitation tokens unique per tenant

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 12:59:25.124574

A distributed (Citus) table's unique keys must include tenant_id; the token names its
tenant and is looked up inside that tenant's scope, so the key loses nothing.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenant_invitations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_tenant_invitations_invitation_token"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_tenant_invitations_tenant_id_invitation_token"),
            ["tenant_id", "invitation_token"],
        )


def downgrade() -> None:
    with op.batch_alter_table("tenant_invitations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_tenant_invitations_tenant_id_invitation_token"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_tenant_invitations_invitation_token"), ["invitation_token"]
        )
