"""Conservazione: archival units, items, parties, name terms, links, hash chain, packages.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('archive_package',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('package_key', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('index_sha256', sa.String(length=64), nullable=False),
    sa.Column('signed_sha256', sa.String(length=64), nullable=False),
    sa.Column('report_sha256', sa.String(length=64), nullable=False),
    sa.Column('chain_seq', sa.BigInteger(), nullable=False),
    sa.Column('chain_head', sa.String(length=64), nullable=False),
    sa.Column('unit_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('package_key')
    )
    op.create_table('archive_unit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('identifier', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('flow', sa.String(length=4), nullable=False),
    sa.Column('document_type', sa.String(length=8), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('doc_date', sa.Date(), nullable=False),
    sa.Column('sdi_id', sa.String(length=40), nullable=True),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('retention_class', sa.String(length=40), nullable=False),
    sa.Column('retain_until', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['archive_package.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('identifier')
    )
    with op.batch_alter_table('archive_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_unit_doc_date'), ['doc_date'], unique=False)
        batch_op.create_index('ix_archive_unit_package_created', ['package_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_unit_sdi_id'), ['sdi_id'], unique=False)

    op.create_table('archive_chain',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('prev', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('package_id', sa.Integer(), nullable=True),
    sa.Column('at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['archive_package.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['archive_unit.id'], ),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('hash')
    )
    with op.batch_alter_table('archive_chain', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_chain_unit_id'), ['unit_id'], unique=False)

    op.create_table('archive_item',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('subtype', sa.String(length=40), nullable=True),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('added_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['archive_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('archive_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_item_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_item_unit_id'), ['unit_id'], unique=False)

    op.create_table('archive_link',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('statement_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['archive_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('archive_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_link_target'), ['target'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_link_unit_id'), ['unit_id'], unique=False)

    op.create_table('archive_party',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(length=300), nullable=False),
    sa.Column('codice_fiscale', sa.String(length=16), nullable=True),
    sa.Column('partita_iva', sa.String(length=30), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['archive_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('archive_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_party_codice_fiscale'), ['codice_fiscale'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_party_partita_iva'), ['partita_iva'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_party_unit_id'), ['unit_id'], unique=False)

    op.create_table('archive_term',
    sa.Column('term', sa.String(length=80).with_variant(sa.String(length=80, collation='C'), 'postgresql'), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['archive_unit.id'], ),
    sa.PrimaryKeyConstraint('term', 'unit_id')
    )


def downgrade() -> None:
    op.drop_table('archive_term')
    with op.batch_alter_table('archive_party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_party_unit_id'))
        batch_op.drop_index(batch_op.f('ix_archive_party_partita_iva'))
        batch_op.drop_index(batch_op.f('ix_archive_party_codice_fiscale'))

    op.drop_table('archive_party')
    with op.batch_alter_table('archive_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_link_unit_id'))
        batch_op.drop_index(batch_op.f('ix_archive_link_target'))

    op.drop_table('archive_link')
    with op.batch_alter_table('archive_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_item_unit_id'))
        batch_op.drop_index(batch_op.f('ix_archive_item_sha256'))

    op.drop_table('archive_item')
    with op.batch_alter_table('archive_chain', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_chain_unit_id'))

    op.drop_table('archive_chain')
    with op.batch_alter_table('archive_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_unit_sdi_id'))
        batch_op.drop_index('ix_archive_unit_package_created')
        batch_op.drop_index(batch_op.f('ix_archive_unit_doc_date'))

    op.drop_table('archive_unit')
    op.drop_table('archive_package')
