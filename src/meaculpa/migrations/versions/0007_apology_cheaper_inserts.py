"""apology: cheaper to insert in bulk; the e-mail and promise indexes hold only the rows they
are read for, and one key (campaign, error) replaces the campaign's and the error's

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 22:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAS_EMAIL = "email_id IS NOT NULL"
HAS_PROMISE = "promise_state IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('apology_campaign', schema=None) as batch_op:
        batch_op.create_index('uq_apology_campaign_id_error', ['id', 'error_id'], unique=True)

    with op.batch_alter_table('apology', schema=None) as batch_op:
        batch_op.drop_constraint('fk_apology_campaign_id_apology_campaign', type_='foreignkey')
        batch_op.drop_constraint('fk_apology_error_id_company_error', type_='foreignkey')
        batch_op.create_foreign_key('fk_apology_campaign_id_apology_campaign', 'apology_campaign', ['campaign_id', 'error_id'], ['id', 'error_id'], ondelete='CASCADE')
        batch_op.drop_index('ix_apology_email_id')
        batch_op.drop_index('ix_apology_promise')
        batch_op.create_index('ix_apology_email_id', ['email_id'], unique=False, sqlite_where=sa.text(HAS_EMAIL), postgresql_where=sa.text(HAS_EMAIL))
        batch_op.create_index('ix_apology_promise', ['promise_state', 'error_id'], unique=False, sqlite_where=sa.text(HAS_PROMISE), postgresql_where=sa.text(HAS_PROMISE))


def downgrade() -> None:
    with op.batch_alter_table('apology', schema=None) as batch_op:
        batch_op.drop_index('ix_apology_promise', sqlite_where=sa.text(HAS_PROMISE), postgresql_where=sa.text(HAS_PROMISE))
        batch_op.drop_index('ix_apology_email_id', sqlite_where=sa.text(HAS_EMAIL), postgresql_where=sa.text(HAS_EMAIL))
        batch_op.create_index('ix_apology_promise', ['promise_state', 'error_id'], unique=False)
        batch_op.create_index('ix_apology_email_id', ['email_id'], unique=False)
        batch_op.drop_constraint('fk_apology_campaign_id_apology_campaign', type_='foreignkey')
        batch_op.create_foreign_key('fk_apology_campaign_id_apology_campaign', 'apology_campaign', ['campaign_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key('fk_apology_error_id_company_error', 'company_error', ['error_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('apology_campaign', schema=None) as batch_op:
        batch_op.drop_index('uq_apology_campaign_id_error')
