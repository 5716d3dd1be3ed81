"""Initial schema: inbox, outbox, delivery attempts, PEC receipts, mailbox positions, leases.

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.models


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox_item',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('mailbox', sa.String(length=100), nullable=True),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
    sa.Column('uid', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('envelope_from', sa.String(length=320), nullable=True),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('received_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Enum('queued', 'claimed', 'done', 'quarantined', 'shunted', 'bad', name='inboxstate', native_enum=False, length=24), nullable=False),
    sa.Column('claim_count', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('processed_by', sa.String(length=100), nullable=True),
    sa.Column('route', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('traceback', sa.Text(), nullable=True),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_state_id', ['state', 'id'], unique=False)

    op.create_table('lease',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('expires_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('mailbox_position',
    sa.Column('mailbox', sa.String(length=100), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('mailbox')
    )
    op.create_table('outbox_item',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=400), nullable=True),
    sa.Column('sender', sa.String(length=320), nullable=True),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('subject_ref', sa.String(length=100), nullable=True),
    sa.Column('state', sa.Enum('queued', 'sending', 'sent', 'retry', 'failed', name='outboxstate', native_enum=False, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('deliver_until', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('provider_ref', sa.String(length=400), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('outbox_item', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_state_due', ['state', 'next_attempt_at'], unique=False)

    op.create_table('delivery_attempt',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox_item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempt_outbox_id'), ['outbox_id'], unique=False)

    op.create_table('pec_receipt',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('receipt_type', sa.String(length=40), nullable=False),
    sa.Column('ref_message_id', sa.String(length=400), nullable=True),
    sa.Column('recipient', sa.String(length=320), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('received_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox_item.id'], ),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('inbox_id')
    )
    with op.batch_alter_table('pec_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pec_receipt_outbox_id'), ['outbox_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pec_receipt_ref_message_id'), ['ref_message_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pec_receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pec_receipt_ref_message_id'))
        batch_op.drop_index(batch_op.f('ix_pec_receipt_outbox_id'))

    op.drop_table('pec_receipt')
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_outbox_id'))

    op.drop_table('delivery_attempt')
    with op.batch_alter_table('outbox_item', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_state_due')

    op.drop_table('outbox_item')
    op.drop_table('mailbox_position')
    op.drop_table('lease')
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_state_id')

    op.drop_table('inbox_item')
