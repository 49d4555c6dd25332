"""standing changes: every opt-out and opt-in, with the message that caused it

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.adapters.models

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('standing_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('change', sa.String(length=8), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('at', bot.adapters.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_standing_changes_contact_id'), 'standing_changes', ['contact_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_standing_changes_contact_id'), table_name='standing_changes')
    op.drop_table('standing_changes')
