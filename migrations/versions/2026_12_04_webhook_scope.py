"""webhook scope: a subscription records the role of the token that created it

Its events show only what that role could read through the API (SPEC §7): an `integration` subscription gets no
before/after of entities other than projects. Existing subscriptions take the role from their `webhook.created`
audit event; one without such an event (none should exist) gets `integration`, the narrower view.

Revision ID: 0005_webhook_scope
Revises: 0004
Create Date: 2026-12-04 21:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may reference sqlmodel.sql.sqltypes.AutoString)
from alembic import op

revision: str = "0005_webhook_scope"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    op.execute(
        "UPDATE webhook_subscription SET created_by_role = ("
        " SELECT e.actor_role FROM audit_event e"
        " WHERE e.action = 'webhook.created' AND e.entity = 'webhook' AND e.entity_id = webhook_subscription.id"
        " ORDER BY e.seq LIMIT 1)"
    )
    op.execute("UPDATE webhook_subscription SET created_by_role = 'integration' WHERE created_by_role IS NULL")
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.alter_column("created_by_role", existing_type=sqlmodel.sql.sqltypes.AutoString(length=16),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.drop_column("created_by_role")
