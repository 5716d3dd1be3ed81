"""Passive invoicing: received SdI files, their deliveries, invoices (lines, parties, VAT
summaries, payments, attachments), decisions, ECs sent, SdI messages and reminders.

Revision ID: 0006
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.models


revision = '0006'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('passive_file',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('identificativo_sdi', sa.String(length=36), nullable=True),
    sa.Column('file_name', sa.String(length=100), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mt_file_name', sa.String(length=100), nullable=True),
    sa.Column('mt_sha256', sa.String(length=64), nullable=True),
    sa.Column('hash_check', sa.String(length=24), nullable=False),
    sa.Column('signature', sa.String(length=24), nullable=False),
    sa.Column('signature_detail', sa.Text(), nullable=True),
    sa.Column('signer', sa.String(length=400), nullable=True),
    sa.Column('formato', sa.String(length=8), nullable=True),
    sa.Column('codice_destinatario', sa.String(length=7), nullable=True),
    sa.Column('ec_required', sa.Boolean(), nullable=False),
    sa.Column('sdi_address', sa.String(length=320), nullable=True),
    sa.Column('our_address', sa.String(length=320), nullable=True),
    sa.Column('delivered_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('deadline', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('dt_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('file_sha256'),
    sa.UniqueConstraint('identificativo_sdi')
    )
    with op.batch_alter_table('passive_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passive_file_file_name'), ['file_name'], unique=False)

    op.create_table('passive_delivery',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=True),
    sa.Column('envelope_sha256', sa.String(length=64), nullable=False),
    sa.Column('pec_identificativo', sa.String(length=400), nullable=True),
    sa.Column('identificativo_sdi', sa.String(length=36), nullable=True),
    sa.Column('file_name', sa.String(length=100), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('duplicate', sa.Text(), nullable=True),
    sa.Column('delivered_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['passive_file.id'], ),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox_item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('passive_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passive_delivery_file_id'), ['file_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_passive_delivery_inbox_id'), ['inbox_id'], unique=False)

    op.create_table('passive_invoice',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('seller_country', sa.String(length=2), nullable=False),
    sa.Column('seller_code', sa.String(length=28), nullable=False),
    sa.Column('seller_name', sa.String(length=200), nullable=False),
    sa.Column('buyer_name', sa.String(length=200), nullable=True),
    sa.Column('tipo_documento', sa.String(length=4), nullable=False),
    sa.Column('numero', sa.String(length=20), nullable=False),
    sa.Column('data', sa.Date(), nullable=False),
    sa.Column('anno', sa.Integer(), nullable=False),
    sa.Column('divisa', sa.String(length=3), nullable=False),
    sa.Column('importo_totale', sa.Numeric(precision=18, scale=8), nullable=True),
    sa.Column('imponibile', sa.Numeric(precision=18, scale=8), nullable=False),
    sa.Column('imposta', sa.Numeric(precision=18, scale=8), nullable=False),
    sa.Column('causale', sa.Text(), nullable=True),
    sa.Column('state', sa.Enum('to-review', 'accepted', 'refused', name='reviewstate', native_enum=False, length=24), nullable=False),
    sa.Column('decided_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('dt_at', store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['passive_file.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seller_country', 'seller_code', 'anno', 'numero', 'tipo_documento', name='uq_passive_invoice_identity')
    )
    with op.batch_alter_table('passive_invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passive_invoice_file_id'), ['file_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_passive_invoice_seller_name'), ['seller_name'], unique=False)
        batch_op.create_index('ix_passive_invoice_state', ['state', 'id'], unique=False)

    op.create_table('passive_sdi_message',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=True),
    sa.Column('type', sa.String(length=2), nullable=False),
    sa.Column('file_name', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('received_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['passive_file.id'], ),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox_item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('passive_sdi_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passive_sdi_message_file_id'), ['file_id'], unique=False)

    op.create_table('passive_attachment',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('safe_name', sa.String(length=100), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('formato', sa.String(length=10), nullable=True),
    sa.Column('descrizione', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['passive_invoice.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('passive_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passive_attachment_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('passive_decision',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.Enum('to-review', 'accepted', 'refused', name='reviewstate', native_enum=False, length=24), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reply_outbox_id', sa.Integer(), nullable=True),
    sa.Column('at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['passive_invoice.id'], ),
    sa.ForeignKeyConstraint(['reply_outbox_id'], ['outbox_item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('passive_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passive_decision_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('passive_line',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('numero_linea', sa.Integer(), nullable=False),
    sa.Column('descrizione', sa.Text(), nullable=False),
    sa.Column('quantita', sa.Numeric(precision=18, scale=8), nullable=True),
    sa.Column('unita_misura', sa.String(length=10), nullable=True),
    sa.Column('prezzo_unitario', sa.Numeric(precision=18, scale=8), nullable=False),
    sa.Column('prezzo_totale', sa.Numeric(precision=18, scale=8), nullable=False),
    sa.Column('aliquota_iva', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('natura', sa.String(length=5), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['passive_invoice.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('passive_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passive_line_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('passive_party',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('id_paese', sa.String(length=2), nullable=True),
    sa.Column('id_codice', sa.String(length=28), nullable=True),
    sa.Column('codice_fiscale', sa.String(length=16), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('address', sa.JSON(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['passive_invoice.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('passive_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passive_party_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('passive_payment',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('condizioni', sa.String(length=4), nullable=False),
    sa.Column('modalita', sa.String(length=4), nullable=False),
    sa.Column('scadenza', sa.Date(), nullable=True),
    sa.Column('importo', sa.Numeric(precision=18, scale=8), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('beneficiario', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['passive_invoice.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('passive_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passive_payment_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_passive_payment_scadenza'), ['scadenza'], unique=False)

    op.create_table('passive_reminder',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['passive_invoice.id'], ),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('invoice_id', 'kind', name='uq_passive_reminder')
    )
    op.create_table('passive_summary',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('aliquota_iva', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('natura', sa.String(length=5), nullable=True),
    sa.Column('imponibile', sa.Numeric(precision=18, scale=8), nullable=False),
    sa.Column('imposta', sa.Numeric(precision=18, scale=8), nullable=False),
    sa.Column('esigibilita_iva', sa.String(length=1), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['passive_invoice.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('passive_summary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passive_summary_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('passive_esito',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=100), nullable=False),
    sa.Column('esito', sa.String(length=4), nullable=False),
    sa.Column('message_id_committente', sa.String(length=14), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'rejected', name='esitostate', native_enum=False, length=24), nullable=False),
    sa.Column('scarto', sa.String(length=4), nullable=True),
    sa.Column('scarto_note', sa.Text(), nullable=True),
    sa.Column('created_at', store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['passive_decision.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['passive_invoice.id'], ),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id_committente')
    )
    with op.batch_alter_table('passive_esito', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passive_esito_invoice_id'), ['invoice_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('passive_esito', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passive_esito_invoice_id'))

    op.drop_table('passive_esito')
    with op.batch_alter_table('passive_summary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passive_summary_invoice_id'))

    op.drop_table('passive_summary')
    op.drop_table('passive_reminder')
    with op.batch_alter_table('passive_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passive_payment_scadenza'))
        batch_op.drop_index(batch_op.f('ix_passive_payment_invoice_id'))

    op.drop_table('passive_payment')
    with op.batch_alter_table('passive_party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passive_party_invoice_id'))

    op.drop_table('passive_party')
    with op.batch_alter_table('passive_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passive_line_invoice_id'))

    op.drop_table('passive_line')
    with op.batch_alter_table('passive_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passive_decision_invoice_id'))

    op.drop_table('passive_decision')
    with op.batch_alter_table('passive_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passive_attachment_invoice_id'))

    op.drop_table('passive_attachment')
    with op.batch_alter_table('passive_sdi_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passive_sdi_message_file_id'))

    op.drop_table('passive_sdi_message')
    with op.batch_alter_table('passive_invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_passive_invoice_state')
        batch_op.drop_index(batch_op.f('ix_passive_invoice_seller_name'))
        batch_op.drop_index(batch_op.f('ix_passive_invoice_file_id'))

    op.drop_table('passive_invoice')
    with op.batch_alter_table('passive_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passive_delivery_inbox_id'))
        batch_op.drop_index(batch_op.f('ix_passive_delivery_file_id'))

    op.drop_table('passive_delivery')
    with op.batch_alter_table('passive_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passive_file_file_name'))

    op.drop_table('passive_file')
