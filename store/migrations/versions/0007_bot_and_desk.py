"""Bot and desk: bot users and roles, audit, action tokens, tickets and their history.

Revision ID: 0007
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import UtcDateTime

revision = '0007'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bot_user',
    sa.Column('telegram_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('telegram_id')
    )
    op.create_table('bot_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', UtcDateTime(), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_ref', sa.String(length=100), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_bot_audit_at', 'bot_audit', ['at'], unique=False)
    op.create_index('ix_bot_audit_telegram_id', 'bot_audit', ['telegram_id'], unique=False)
    op.create_table('action_token',
    sa.Column('token', sa.String(length=24), nullable=False),
    sa.Column('card', sa.String(length=24), nullable=False),
    sa.Column('verb', sa.String(length=40), nullable=False),
    sa.Column('object_ref', sa.String(length=100), nullable=False),
    sa.Column('arg', sa.String(length=100), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('role', sa.String(length=24), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('expires_at', UtcDateTime(), nullable=False),
    sa.Column('used_at', UtcDateTime(), nullable=True),
    sa.Column('used_by', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('token')
    )
    op.create_index('ix_action_token_card', 'action_token', ['card'], unique=False)
    op.create_table('ticket',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('requester_id', sa.BigInteger(), nullable=True),
    sa.Column('requester_email', sa.String(length=320), nullable=True),
    sa.Column('requester_name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('area', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('assignee_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.Column('first_response_at', UtcDateTime(), nullable=True),
    sa.Column('resolved_at', UtcDateTime(), nullable=True),
    sa.Column('closed_at', UtcDateTime(), nullable=True),
    sa.Column('card_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('card_message_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_ticket_status', 'ticket', ['status', 'id'], unique=False)
    op.create_index('ix_ticket_requester_id', 'ticket', ['requester_id'], unique=False)
    op.create_index('ix_ticket_requester_email', 'ticket', ['requester_email'], unique=False)
    op.create_index('ix_ticket_assignee_id', 'ticket', ['assignee_id'], unique=False)
    op.create_table('ticket_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('at', UtcDateTime(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status_after', sa.String(length=24), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('message_id', sa.String(length=400), nullable=True),
    sa.Column('announced_at', UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index('ix_ticket_event_ticket_id', 'ticket_event', ['ticket_id'], unique=False)
    op.create_index(
        'ix_ticket_event_announce', 'ticket_event', ['announced_at', 'id'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_ticket_event_announce', table_name='ticket_event')
    op.drop_index('ix_ticket_event_ticket_id', table_name='ticket_event')
    op.drop_table('ticket_event')
    op.drop_index('ix_ticket_assignee_id', table_name='ticket')
    op.drop_index('ix_ticket_requester_email', table_name='ticket')
    op.drop_index('ix_ticket_requester_id', table_name='ticket')
    op.drop_index('ix_ticket_status', table_name='ticket')
    op.drop_table('ticket')
    op.drop_index('ix_action_token_card', table_name='action_token')
    op.drop_table('action_token')
    op.drop_index('ix_bot_audit_telegram_id', table_name='bot_audit')
    op.drop_index('ix_bot_audit_at', table_name='bot_audit')
    op.drop_table('bot_audit')
    op.drop_table('bot_user')
