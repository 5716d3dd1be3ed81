"""Bot invoice feed: what the bot told about invoices, per-feed floors, outcome subscribers.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import UtcDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bot_feed_floor',
    sa.Column('feed', sa.String(length=24), nullable=False),
    sa.Column('floor_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('feed')
    )
    op.create_table('bot_feed_mark',
    sa.Column('feed', sa.String(length=24), nullable=False),
    sa.Column('object_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('feed', 'object_id')
    )
    op.create_table('bot_subscription',
    sa.Column('telegram_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('telegram_id')
    )


def downgrade() -> None:
    op.drop_table('bot_subscription')
    op.drop_table('bot_feed_mark')
    op.drop_table('bot_feed_floor')
