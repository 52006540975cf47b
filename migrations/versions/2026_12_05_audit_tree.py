"""audit tree: the Merkle tree over the audit events and the signed tree heads (SPEC §6)

``audit_tree_node`` keeps the root of every perfect subtree of the events (RFC 9162 leaves, seq order); the
upgrade builds it for the events already there, streaming them in seq order. ``audit_tree_head`` keeps every
signed tree head.

Revision ID: 0007_audit_tree
Revises: 0006_tokens_sessions
Create Date: 2026-12-05 01:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may reference sqlmodel.sql.sqltypes.AutoString)
from alembic import op

import service.db.types
from service.domain import merkle  # pure functions: the tree as the service builds it

revision: str = "0007_audit_tree"
down_revision: str | None = "0006_tokens_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000
_REPORTS = ("appraisal", "plan", "dispatch")


def upgrade() -> None:
    node = op.create_table(
        "audit_tree_node",
        sa.Column("level", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("idx", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_tree_node")),
    )
    op.create_table(
        "audit_tree_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("signed_at", service.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_tree_head")),
    )
    with op.batch_alter_table("audit_tree_head", schema=None) as batch_op:
        batch_op.create_index("ix_audit_tree_head_size", ["size"], unique=False)

    # A published report carries the signed head of its moment (appraisal publish, plan approval, dispatch submit).
    for table in _REPORTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("audit_tree_head", sa.Text(), nullable=True))

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # as audit_event: what was stored stays (SPEC §6)
        op.execute(
            """
            CREATE FUNCTION audit_tree_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
            END $$;
            """
        )
        for table in ("audit_tree_node", "audit_tree_head"):
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_append_only()")
    events = bind.execute(  # streamed (a server-side cursor on PostgreSQL), this statement only
        sa.text("SELECT seq, hash FROM audit_event ORDER BY seq").execution_options(stream_results=True,
                                                                                    yield_per=_BATCH)
    )
    rows: list[dict] = []
    frontier = merkle.Frontier()
    for expected, (seq, event_hash) in enumerate(events, start=1):
        if seq != expected:
            raise RuntimeError(f"audit_event has a gap before seq {seq}: the tree cannot be built")
        frontier.append(merkle.leaf_hash(bytes.fromhex(event_hash)))
        rows.extend({"level": lv, "idx": ix, "hash": h.hex()} for lv, ix, h in frontier.completed)
        if len(rows) >= _BATCH:
            bind.execute(node.insert(), rows)
            rows = []
    if rows:
        bind.execute(node.insert(), rows)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("audit_tree_node", "audit_tree_head"):
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION audit_tree_append_only()")
    for table in _REPORTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("audit_tree_head")
    with op.batch_alter_table("audit_tree_head", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_tree_head_size")
    op.drop_table("audit_tree_head")
    op.drop_table("audit_tree_node")
