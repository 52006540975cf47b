"""project version history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 18:08:35.094055
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may reference sqlmodel.sql.sqltypes.AutoString)
from alembic import op

import service.db.types  # noqa: F401  (custom column types)


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('project_version',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('investor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('planned_investment', service.db.types.Money(), nullable=False),
    sa.Column('is_key', sa.Boolean(), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('in_production_on', sa.Date(), nullable=True),
    sa.Column('at_capacity_on', sa.Date(), nullable=True),
    sa.Column('cancelled_on', sa.Date(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('voided_at', service.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.Column('cumulative_investment', service.db.types.Money(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.String(length=26), nullable=False),
    sa.Column('external_ref', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('chain', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('district', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('recorded_from', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_to', service.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_version_project_id_project')),
    sa.PrimaryKeyConstraint('row_id', name=op.f('pk_project_version')),
    sa.UniqueConstraint('project_id', 'version', name=op.f('uq_project_version_project_id_version'))
    )
    with op.batch_alter_table('project_version', schema=None) as batch_op:
        batch_op.create_index('ix_project_version_recorded', ['recorded_from', 'recorded_to'], unique=False)

    # Projects that exist already get their current state as one open version, valid from its last change.
    columns = (
        "name, investor, planned_investment, is_key, stage, signed_on, started_on, in_production_on, "
        "at_capacity_on, cancelled_on, cancel_reason, voided_at, void_reason, cumulative_investment, version, "
        "created_at, updated_at, external_ref, chain, district"
    )
    op.execute(
        f"INSERT INTO project_version ({columns}, project_id, recorded_from) "
        f"SELECT {columns}, id, updated_at FROM project"
    )



def downgrade() -> None:
    with op.batch_alter_table('project_version', schema=None) as batch_op:
        batch_op.drop_index('ix_project_version_recorded')

    op.drop_table('project_version')
