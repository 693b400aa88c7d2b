"""problems: recurring problems, their reports, error links, alerts, root causes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 19:21:07.804937
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import meaculpa.core.db


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('label_locked', sa.Boolean(), nullable=False),
    sa.Column('key_terms', sa.JSON(), nullable=False),
    sa.Column('representative_text', sa.Text(), nullable=False),
    sa.Column('representative_report_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('centroid_sum', sa.LargeBinary(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('first_reported_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_reported_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('changes_since_label', sa.Integer(), nullable=False),
    sa.Column('created_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['problem.id'], name=op.f('fk_problem_merged_into_id_problem'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem'))
    )
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_index('ix_problem_status_last', ['status', 'last_reported_at'], unique=False)

    op.create_table('problem_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('new_problem_threshold', sa.Float(), nullable=False),
    sa.Column('alert_min_count', sa.Integer(), nullable=False),
    sa.Column('alert_factor', sa.Float(), nullable=False),
    sa.Column('alert_baseline_weeks', sa.Integer(), nullable=False),
    sa.Column('updated_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_settings'))
    )
    op.create_table('problem_error_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('error_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_problem_error_link_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['error_id'], ['company_error.id'], name=op.f('fk_problem_error_link_error_id_company_error'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_problem_error_link_problem_id_problem'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_error_link')),
    sa.UniqueConstraint('problem_id', 'error_id', name='uq_problem_error_link_pair')
    )
    with op.batch_alter_table('problem_error_link', schema=None) as batch_op:
        batch_op.create_index('ix_problem_error_link_error', ['error_id'], unique=False)

    op.create_table('root_cause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('error_id', sa.Integer(), nullable=True),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('whys', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('people', 'process', 'product', 'partner', 'policy', 'system')", name=op.f('ck_root_cause_category')),
    sa.CheckConstraint('(error_id IS NULL) <> (problem_id IS NULL)', name=op.f('ck_root_cause_one_subject')),
    sa.ForeignKeyConstraint(['error_id'], ['company_error.id'], name=op.f('fk_root_cause_error_id_company_error'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_root_cause_problem_id_problem'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_root_cause_updated_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_root_cause')),
    sa.UniqueConstraint('error_id', name=op.f('uq_root_cause_error_id')),
    sa.UniqueConstraint('problem_id', name=op.f('uq_root_cause_problem_id'))
    )
    op.create_table('problem_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('source_type', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('excerpt', sa.Text(), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=True),
    sa.Column('similarity', sa.Float(), nullable=False),
    sa.Column('reported_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source_type IN ('case', 'message', 'survey', 'mention')", name=op.f('ck_problem_report_source_type')),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_problem_report_case_id_case_record'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_problem_report_customer_id_customer'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_problem_report_problem_id_problem'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_report')),
    sa.UniqueConstraint('source_type', 'source_id', name='uq_problem_report_source')
    )
    with op.batch_alter_table('problem_report', schema=None) as batch_op:
        batch_op.create_index('ix_problem_report_case', ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_problem_report_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_problem_report_problem_at', ['problem_id', 'reported_at'], unique=False)

    op.create_table('problem_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('baseline', sa.Float(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email_id', sa.Integer(), nullable=True),
    sa.Column('created_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['email_id'], ['outbound_email.id'], name=op.f('fk_problem_alert_email_id_outbound_email'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_problem_alert_problem_id_problem'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_problem_alert_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_alert')),
    sa.UniqueConstraint('problem_id', 'week_start', 'user_id', name='uq_problem_alert_week_user')
    )
    with op.batch_alter_table('problem_alert', schema=None) as batch_op:
        batch_op.create_index('ix_problem_alert_user', ['user_id', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('problem_alert', schema=None) as batch_op:
        batch_op.drop_index('ix_problem_alert_user')

    op.drop_table('problem_alert')
    with op.batch_alter_table('problem_report', schema=None) as batch_op:
        batch_op.drop_index('ix_problem_report_problem_at')
        batch_op.drop_index(batch_op.f('ix_problem_report_customer_id'))
        batch_op.drop_index('ix_problem_report_case')

    op.drop_table('problem_report')
    op.drop_table('root_cause')
    with op.batch_alter_table('problem_error_link', schema=None) as batch_op:
        batch_op.drop_index('ix_problem_error_link_error')

    op.drop_table('problem_error_link')
    op.drop_table('problem_settings')
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_index('ix_problem_status_last')
        batch_op.drop_index(batch_op.f('ix_problem_merged_into_id'))

    op.drop_table('problem')
