"""tracking rhythm and annual plans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 18:16:01.140890
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may reference sqlmodel.sql.sqltypes.AutoString)
from alembic import op

import service.db.types  # noqa: F401  (custom column types)


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('appraisal',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('weights', sa.Text(), nullable=False),
    sa.Column('rankings', sa.Text(), nullable=True),
    sa.Column('run_at', service.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_at', service.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_appraisal'))
    )
    op.create_table('calendar_override',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('holidays', sa.Text(), nullable=False),
    sa.Column('workdays', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_override'))
    )
    op.create_table('dispatch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chain', sa.String(length=32), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('submitted_at', service.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('amendments', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chain'], ['chain.code'], name=op.f('fk_dispatch_chain_chain')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch')),
    sa.UniqueConstraint('chain', 'period', name=op.f('uq_dispatch_chain_period'))
    )
    op.create_table('inspection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chain', sa.String(length=32), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('visited_projects', sa.Text(), nullable=False),
    sa.Column('score', service.db.types.Money(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chain'], ['chain.code'], name=op.f('fk_inspection_chain_chain')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection')),
    sa.UniqueConstraint('chain', 'period', name=op.f('uq_inspection_chain_period'))
    )
    op.create_table('plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chain', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('goals', sa.Text(), nullable=False),
    sa.Column('benchmark_city', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('revision_reason', sa.Text(), nullable=True),
    sa.Column('approved_at', service.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chain'], ['chain.code'], name=op.f('fk_plan_chain_chain')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan')),
    sa.UniqueConstraint('chain', 'year', 'revision', name=op.f('uq_plan_chain_year_revision'))
    )
    op.create_table('plan_actual',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chain', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('indicator_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('value', service.db.types.Money(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chain'], ['chain.code'], name=op.f('fk_plan_actual_chain_chain')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_actual')),
    sa.UniqueConstraint('chain', 'year', 'indicator_key', 'period', name=op.f('uq_plan_actual_chain_year_indicator_key_period'))
    )
    op.create_table('dispatch_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.String(length=26), nullable=False),
    sa.Column('invested', service.db.types.Money(), nullable=False),
    sa.Column('progress', sa.Text(), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatch.id'], name=op.f('fk_dispatch_entry_dispatch_id_dispatch')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_dispatch_entry_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_entry')),
    sa.UniqueConstraint('dispatch_id', 'project_id', name=op.f('uq_dispatch_entry_dispatch_id_project_id'))
    )
    with op.batch_alter_table('dispatch_entry', schema=None) as batch_op:
        batch_op.create_index('ix_dispatch_entry_project_id', ['project_id'], unique=False)

    op.create_table('plan_indicator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('target', service.db.types.Money(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('benchmark_city', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('benchmark_value', service.db.types.Money(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_plan_indicator_plan_id_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_indicator')),
    sa.UniqueConstraint('plan_id', 'key', name=op.f('uq_plan_indicator_plan_id_key'))
    )
    op.create_table('plan_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('owner_unit', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_plan_task_plan_id_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_task')),
    sa.UniqueConstraint('plan_id', 'key', name=op.f('uq_plan_task_plan_id_key'))
    )
    op.create_table('problem',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=26), nullable=False),
    sa.Column('chain', sa.String(length=32), nullable=False),
    sa.Column('project_id', sa.String(length=26), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('owner_unit', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chain'], ['chain.code'], name=op.f('fk_problem_chain_chain')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_problem_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem'))
    )
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.create_index('ix_problem_chain_status', ['chain', 'status'], unique=False)
        batch_op.create_index('ix_problem_due_on', ['due_on'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_index('ix_problem_due_on')
        batch_op.drop_index('ix_problem_chain_status')

    op.drop_table('problem')
    op.drop_table('plan_task')
    op.drop_table('plan_indicator')
    with op.batch_alter_table('dispatch_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_dispatch_entry_project_id')

    op.drop_table('dispatch_entry')
    op.drop_table('plan_actual')
    op.drop_table('plan')
    op.drop_table('inspection')
    op.drop_table('dispatch')
    op.drop_table('calendar_override')
    op.drop_table('appraisal')
