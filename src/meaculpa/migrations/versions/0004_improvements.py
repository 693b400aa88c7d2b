"""improvements: actions, evaluations, notices, lessons;
the lesson behind a playbook revision

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 19:25:51.161345
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import meaculpa.core.db


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('improvement_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('due_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('customer_summary', sa.JSON(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_note', sa.Text(), nullable=True),
    sa.Column('cancelled_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=True),
    sa.Column('evaluation_final', sa.Boolean(), nullable=False),
    sa.Column('updated_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_improvement_action_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['done_by_id'], ['user_account.id'], name=op.f('fk_improvement_action_done_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_improvement_action_owner_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_improvement_action'))
    )
    with op.batch_alter_table('improvement_action', schema=None) as batch_op:
        batch_op.create_index('ix_improvement_action_done', ['status', 'done_at'], unique=False)
        batch_op.create_index('ix_improvement_action_open_due', ['due_at'], unique=False, sqlite_where=sa.text("status IN ('planned', 'in_progress')"), postgresql_where=sa.text("status IN ('planned', 'in_progress')"))
        batch_op.create_index('ix_improvement_action_owner_status', ['owner_id', 'status'], unique=False)

    op.create_table('improvement_action_error',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('error_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['improvement_action.id'], name=op.f('fk_improvement_action_error_action_id_improvement_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['error_id'], ['company_error.id'], name=op.f('fk_improvement_action_error_error_id_company_error'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_improvement_action_error')),
    sa.UniqueConstraint('action_id', 'error_id', name='uq_improvement_action_error')
    )
    with op.batch_alter_table('improvement_action_error', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_improvement_action_error_action_id'), ['action_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_improvement_action_error_error_id'), ['error_id'], unique=False)

    op.create_table('improvement_action_problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['improvement_action.id'], name=op.f('fk_improvement_action_problem_action_id_improvement_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_improvement_action_problem_problem_id_problem'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_improvement_action_problem')),
    sa.UniqueConstraint('action_id', 'problem_id', name='uq_improvement_action_problem')
    )
    with op.batch_alter_table('improvement_action_problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_improvement_action_problem_action_id'), ['action_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_improvement_action_problem_problem_id'), ['problem_id'], unique=False)

    op.create_table('improvement_evaluation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('before_start', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('pivot_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('observed_until', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('after_end', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('before_reports', sa.Integer(), nullable=False),
    sa.Column('before_cases', sa.Integer(), nullable=False),
    sa.Column('after_reports', sa.Integer(), nullable=False),
    sa.Column('after_cases', sa.Integer(), nullable=False),
    sa.Column('before_rate', sa.Double(), nullable=True),
    sa.Column('after_rate', sa.Double(), nullable=True),
    sa.Column('p_value', sa.Double(), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('evaluated_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['improvement_action.id'], name=op.f('fk_improvement_evaluation_action_id_improvement_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_improvement_evaluation_problem_id_problem'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_improvement_evaluation')),
    sa.UniqueConstraint('action_id', 'problem_id', name='uq_improvement_evaluation')
    )
    with op.batch_alter_table('improvement_evaluation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_improvement_evaluation_action_id'), ['action_id'], unique=False)

    op.create_table('lesson',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('what_went_wrong', sa.Text(), nullable=False),
    sa.Column('what_to_do', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('error_id', sa.Integer(), nullable=True),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['improvement_action.id'], name=op.f('fk_lesson_action_id_improvement_action'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_lesson_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['error_id'], ['company_error.id'], name=op.f('fk_lesson_error_id_company_error'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_lesson_problem_id_problem'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson'))
    )
    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_action_id'), ['action_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lesson_error_id'), ['error_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lesson_problem_id'), ['problem_id'], unique=False)

    op.create_table('lesson_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user_account.id'], name=op.f('fk_lesson_assignment_assigned_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lesson_id'], ['lesson.id'], name=op.f('fk_lesson_assignment_lesson_id_lesson'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_lesson_assignment_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_assignment')),
    sa.UniqueConstraint('lesson_id', 'user_id', name='uq_lesson_assignment')
    )
    with op.batch_alter_table('lesson_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_assignment_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index('ix_lesson_assignment_user_read', ['user_id', 'read_at'], unique=False)

    op.create_table('lesson_example',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_lesson_example_case_id_case_record'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lesson_id'], ['lesson.id'], name=op.f('fk_lesson_example_lesson_id_lesson'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_example')),
    sa.UniqueConstraint('lesson_id', 'case_id', name='uq_lesson_example')
    )
    with op.batch_alter_table('lesson_example', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_example_lesson_id'), ['lesson_id'], unique=False)

    op.create_table('improvement_customer_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('email_id', sa.Integer(), nullable=True),
    sa.Column('created_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['improvement_action.id'], name=op.f('fk_improvement_customer_notice_action_id_improvement_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_improvement_customer_notice_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['email_id'], ['outbound_email.id'], name=op.f('fk_improvement_customer_notice_email_id_outbound_email'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_improvement_customer_notice_problem_id_problem'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_improvement_customer_notice')),
    sa.UniqueConstraint('action_id', 'customer_id', name='uq_improvement_customer_notice')
    )
    with op.batch_alter_table('improvement_customer_notice', schema=None) as batch_op:
        batch_op.create_index('ix_improvement_customer_notice_customer', ['customer_id'], unique=False)

    op.create_table('improvement_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('hours_before', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email_id', sa.Integer(), nullable=True),
    sa.Column('created_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['improvement_action.id'], name=op.f('fk_improvement_notice_action_id_improvement_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['email_id'], ['outbound_email.id'], name=op.f('fk_improvement_notice_email_id_outbound_email'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_improvement_notice_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_improvement_notice')),
    sa.UniqueConstraint('action_id', 'kind', 'hours_before', name='uq_improvement_notice_once')
    )
    with op.batch_alter_table('improvement_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_improvement_notice_action_id'), ['action_id'], unique=False)

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.create_index('ix_case_opened', ['opened_at'], unique=False)

    with op.batch_alter_table('playbook_revision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lesson_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_playbook_revision_lesson_id_lesson'), 'lesson', ['lesson_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('playbook_revision', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_playbook_revision_lesson_id_lesson'), type_='foreignkey')
        batch_op.drop_column('lesson_id')

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_index('ix_case_opened')

    with op.batch_alter_table('improvement_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_improvement_notice_action_id'))

    op.drop_table('improvement_notice')
    with op.batch_alter_table('improvement_customer_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_improvement_customer_notice_customer')

    op.drop_table('improvement_customer_notice')
    with op.batch_alter_table('lesson_example', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_example_lesson_id'))

    op.drop_table('lesson_example')
    with op.batch_alter_table('lesson_assignment', schema=None) as batch_op:
        batch_op.drop_index('ix_lesson_assignment_user_read')
        batch_op.drop_index(batch_op.f('ix_lesson_assignment_lesson_id'))

    op.drop_table('lesson_assignment')
    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_problem_id'))
        batch_op.drop_index(batch_op.f('ix_lesson_error_id'))
        batch_op.drop_index(batch_op.f('ix_lesson_action_id'))

    op.drop_table('lesson')
    with op.batch_alter_table('improvement_evaluation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_improvement_evaluation_action_id'))

    op.drop_table('improvement_evaluation')
    with op.batch_alter_table('improvement_action_problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_improvement_action_problem_problem_id'))
        batch_op.drop_index(batch_op.f('ix_improvement_action_problem_action_id'))

    op.drop_table('improvement_action_problem')
    with op.batch_alter_table('improvement_action_error', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_improvement_action_error_error_id'))
        batch_op.drop_index(batch_op.f('ix_improvement_action_error_action_id'))

    op.drop_table('improvement_action_error')
    with op.batch_alter_table('improvement_action', schema=None) as batch_op:
        batch_op.drop_index('ix_improvement_action_owner_status')
        batch_op.drop_index('ix_improvement_action_open_due', sqlite_where=sa.text("status IN ('planned', 'in_progress')"), postgresql_where=sa.text("status IN ('planned', 'in_progress')"))
        batch_op.drop_index('ix_improvement_action_done')

    op.drop_table('improvement_action')
