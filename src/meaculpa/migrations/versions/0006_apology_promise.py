"""apology promise: the promised resolution date as a promise to each apologised customer

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 20:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import meaculpa.core.db


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('apology', schema=None) as batch_op:
        batch_op.add_column(sa.Column('promise_due_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('promise_state', sa.String(length=8), nullable=True))
        batch_op.create_index('ix_apology_promise', ['promise_state', 'error_id'], unique=False)

    with op.batch_alter_table('apology_campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('promise_reminded_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('promise_alerted_at', meaculpa.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('apology_campaign', schema=None) as batch_op:
        batch_op.drop_column('promise_alerted_at')
        batch_op.drop_column('promise_reminded_at')

    with op.batch_alter_table('apology', schema=None) as batch_op:
        batch_op.drop_index('ix_apology_promise')
        batch_op.drop_column('promise_state')
        batch_op.drop_column('promise_due_at')
