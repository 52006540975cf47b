"""tokens and sessions: tokens expire and record their last day of use; web sessions are held server-side

Tokens that exist before this revision had no expiry; they get one year from the upgrade (the default TTL), so
that an upgrade never locks out a running integration at once. A token created later gets its expiry from
`LEDGER_TOKEN_TTL_DAYS` (or none, when an admin asks for `never_expires`).

Revision ID: 0006_tokens_sessions
Revises: 0005_webhook_scope
Create Date: 2026-12-05 01:30:00
"""
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may reference sqlmodel.sql.sqltypes.AutoString)
from alembic import op

import service.db.types  # noqa: F401  (custom column types)

revision: str = "0006_tokens_sessions"
down_revision: str | None = "0005_webhook_scope"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXISTING_TOKENS_TTL_DAYS = 365


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", service.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_on", sa.Date(), nullable=True))
    token = sa.table("api_token", sa.column("expires_at", service.db.types.UTCDateTime(timezone=True)))
    op.execute(token.update().values(
        expires_at=datetime.now(UTC) + timedelta(days=EXISTING_TOKENS_TTL_DAYS)))
    op.create_table(
        "web_session",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("created_at", service.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", service.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["api_token.id"], name=op.f("fk_web_session_token_id_api_token")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_token_id"), ["token_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_token_id"))
    op.drop_table("web_session")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("last_used_on")
        batch_op.drop_column("expires_at")
