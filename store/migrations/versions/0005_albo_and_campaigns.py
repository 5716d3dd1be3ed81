"""Albo and campaigns: members, campaigns, per-recipient deliveries and their events (issue 8).

Revision ID: 0005
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.models


revision = '0005'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('albo_member',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('pec', sa.String(length=320), nullable=True),
    sa.Column('mobile', sa.String(length=32), nullable=True),
    sa.Column('fax', sa.String(length=32), nullable=True),
    sa.Column('postal', sa.JSON(), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('consent', sa.JSON(), nullable=False),
    sa.Column('opted_out', sa.JSON(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id')
    )
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('segment', sa.JSON(), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=True),
    sa.Column('attachment_sha256', sa.String(length=64), nullable=True),
    sa.Column('attachment_name', sa.String(length=200), nullable=True),
    sa.Column('state', sa.Enum('draft', 'running', 'paused', 'cancelled', 'done', name='campaignstate', native_enum=False, length=24), nullable=False),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('fanned_out', sa.Boolean(), nullable=False),
    sa.Column('error_threshold', sa.Integer(), nullable=False),
    sa.Column('consecutive_errors', sa.Integer(), nullable=False),
    sa.Column('paused_reason', sa.Text(), nullable=True),
    sa.Column('deliver_until', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('campaign_delivery',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('member_pk', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('alias', sa.String(length=64), nullable=True),
    sa.Column('address', sa.String(length=400), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('state', sa.Enum('queued', 'submitted', 'accepted', 'delivered', 'failed-temporary', 'failed', 'suppressed', 'cancelled', name='deliverystate', native_enum=False, length=24), nullable=False),
    sa.Column('provider_ref', sa.String(length=400), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.ForeignKeyConstraint(['member_pk'], ['albo_member.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'member_pk', 'channel', name='uq_delivery_recipient'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('campaign_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_delivery_member_pk'), ['member_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_delivery_provider_ref'), ['provider_ref'], unique=False)
        batch_op.create_index('ix_delivery_campaign_state', ['campaign_id', 'state'], unique=False)

    op.create_table('delivery_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=300), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('pec_receipt_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('received_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['campaign_delivery.id'], ),
    sa.ForeignKeyConstraint(['pec_receipt_id'], ['pec_receipt.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key'),
    sa.UniqueConstraint('pec_receipt_id')
    )
    with op.batch_alter_table('delivery_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_event_delivery_id'), ['delivery_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('delivery_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_event_delivery_id'))

    op.drop_table('delivery_event')
    with op.batch_alter_table('campaign_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_campaign_state')
        batch_op.drop_index(batch_op.f('ix_campaign_delivery_provider_ref'))
        batch_op.drop_index(batch_op.f('ix_campaign_delivery_member_pk'))

    op.drop_table('campaign_delivery')
    op.drop_table('campaign')
    op.drop_table('albo_member')
