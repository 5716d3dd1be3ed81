"""Active invoicing: address book (parties), invoices, lines, transmissions, events, alerts,
the learned sdiNN address.

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.models


revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sdi_address',
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('previous', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=120), nullable=True),
    sa.Column('learned_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sender')
    )
    op.create_table('party',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('role', sa.Enum('seller', 'customer', name='partyrole', native_enum=False, length=24), nullable=False),
    sa.Column('kind', sa.Enum('pa', 'b2b', 'b2c', 'foreign', name='partykind', native_enum=False, length=24), nullable=False),
    sa.Column('denominazione', sa.String(length=80), nullable=True),
    sa.Column('nome', sa.String(length=60), nullable=True),
    sa.Column('cognome', sa.String(length=60), nullable=True),
    sa.Column('id_paese', sa.String(length=2), nullable=True),
    sa.Column('id_codice', sa.String(length=28), nullable=True),
    sa.Column('codice_fiscale', sa.String(length=16), nullable=True),
    sa.Column('indirizzo', sa.String(length=60), nullable=False),
    sa.Column('numero_civico', sa.String(length=8), nullable=True),
    sa.Column('cap', sa.String(length=5), nullable=False),
    sa.Column('comune', sa.String(length=60), nullable=False),
    sa.Column('provincia', sa.String(length=2), nullable=True),
    sa.Column('nazione', sa.String(length=2), nullable=False),
    sa.Column('codice_destinatario', sa.String(length=7), nullable=True),
    sa.Column('pec_destinatario', sa.String(length=256), nullable=True),
    sa.Column('regime_fiscale', sa.String(length=4), nullable=True),
    sa.Column('email', sa.String(length=256), nullable=True),
    sa.Column('albo_member_id', sa.String(length=64), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_albo_member_id'), ['albo_member_id'], unique=False)

    op.create_table('invoice',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('register', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('numero', sa.String(length=20), nullable=False),
    sa.Column('tipo_documento', sa.String(length=4), nullable=False),
    sa.Column('data', sa.Date(), nullable=False),
    sa.Column('formato', sa.String(length=5), nullable=False),
    sa.Column('pa', sa.Boolean(), nullable=False),
    sa.Column('divisa', sa.String(length=3), nullable=False),
    sa.Column('total', sa.String(length=24), nullable=False),
    sa.Column('description', sa.JSON(), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('draft', 'queued', 'pec-submitted', 'pec-accepted', 'pec-refused', 'pec-delivered', 'pec-delayed', 'pec-delivery-failed', 'sdi-rejected', 'delivered', 'awaiting-outcome', 'not-delivered-available', 'delivery-pending', 'attested', 'accepted', 'refused', 'terms-expired', name='invoicestate', native_enum=False, length=24), nullable=False),
    sa.Column('state_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('transmission_id', sa.Integer(), nullable=True),
    sa.Column('auto_send', sa.Boolean(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corrects_id'], ['invoice.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['party.id'], ),
    sa.ForeignKeyConstraint(['seller_id'], ['party.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seller_id', 'register', 'year', 'number', name='uq_invoice_number')
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_state'), ['state'], unique=False)

    op.create_table('invoice_line',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('numero_linea', sa.Integer(), nullable=False),
    sa.Column('descrizione', sa.Text(), nullable=False),
    sa.Column('quantita', sa.String(length=24), nullable=True),
    sa.Column('unita_misura', sa.String(length=10), nullable=True),
    sa.Column('prezzo_unitario', sa.String(length=24), nullable=False),
    sa.Column('prezzo_totale', sa.String(length=24), nullable=False),
    sa.Column('aliquota_iva', sa.String(length=8), nullable=False),
    sa.Column('natura', sa.String(length=5), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('invoice_transmission',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=60), nullable=False),
    sa.Column('signature', sa.String(length=8), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=400), nullable=False),
    sa.Column('sdi_address', sa.String(length=64), nullable=False),
    sa.Column('identificativo_sdi', sa.String(length=36), nullable=True),
    sa.Column('state', sa.Enum('draft', 'queued', 'pec-submitted', 'pec-accepted', 'pec-refused', 'pec-delivered', 'pec-delayed', 'pec-delivery-failed', 'sdi-rejected', 'delivered', 'awaiting-outcome', 'not-delivered-available', 'delivery-pending', 'attested', 'accepted', 'refused', 'terms-expired', name='invoicestate', native_enum=False, length=24), nullable=False),
    sa.Column('state_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('pec_accepted_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], ),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('file_name'),
    sa.UniqueConstraint('message_id'),
    sa.UniqueConstraint('outbox_id')
    )
    with op.batch_alter_table('invoice_transmission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_transmission_identificativo_sdi'), ['identificativo_sdi'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_transmission_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('invoice_alert',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('transmission_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('raised_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['transmission_id'], ['invoice_transmission.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('transmission_id', 'kind', name='uq_alert_kind')
    )
    op.create_table('invoice_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('transmission_id', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=300), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('from_state', sa.String(length=24), nullable=True),
    sa.Column('to_state', sa.String(length=24), nullable=True),
    sa.Column('archive_sha256', sa.String(length=64), nullable=True),
    sa.Column('archive_name', sa.String(length=120), nullable=True),
    sa.Column('inbox_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('occurred_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox_item.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], ),
    sa.ForeignKeyConstraint(['transmission_id'], ['invoice_transmission.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('invoice_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_event_invoice_id'), ['invoice_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('invoice_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_event_invoice_id'))

    op.drop_table('invoice_event')
    op.drop_table('invoice_alert')
    with op.batch_alter_table('invoice_transmission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_transmission_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_transmission_identificativo_sdi'))

    op.drop_table('invoice_transmission')
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_invoice_id'))

    op.drop_table('invoice_line')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_state'))
        batch_op.drop_index(batch_op.f('ix_invoice_customer_id'))

    op.drop_table('invoice')
    with op.batch_alter_table('party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_albo_member_id'))

    op.drop_table('party')
    op.drop_table('sdi_address')
