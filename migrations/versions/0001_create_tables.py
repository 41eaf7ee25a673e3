"""create callers, motions, events, idempotency keys and outbox

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 07:33:00.287974

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('callers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('api_key_hash', sa.String(length=64), nullable=False),
    sa.Column('api_key_prefix', sa.String(length=16), nullable=False),
    sa.Column('default_callback_url', sa.String(length=2048), nullable=True),
    sa.Column('webhook_secret', sa.String(length=100), nullable=False),
    sa.Column('previous_webhook_secret', sa.String(length=100), nullable=True),
    sa.Column('previous_secret_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callers')),
    sa.UniqueConstraint('api_key_hash', name=op.f('uq_callers_api_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_callers_name'))
    )
    op.create_table('idempotency_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('caller_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('motion_id', sa.String(length=32), nullable=True),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['caller_id'], ['callers.id'], name=op.f('fk_idempotency_keys_caller_id_callers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('uq_idempotency_keys_caller_key', ['caller_id', 'key'], unique=True)

    op.create_table('motions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('caller_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('image_url', sa.String(length=2048), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('voice_id', sa.String(length=128), nullable=False),
    sa.Column('model', sa.String(length=16), nullable=False),
    sa.Column('photo_id', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('welcome_msg', sa.Text(), nullable=True),
    sa.Column('callback_url', sa.String(length=2048), nullable=True),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('jogg_motion_id', sa.String(length=64), nullable=True),
    sa.Column('avatar_id', sa.Integer(), nullable=True),
    sa.Column('preview_url', sa.String(length=2048), nullable=True),
    sa.Column('error', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('submit_attempts', sa.Integer(), nullable=False),
    sa.Column('submit_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_submit_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('poll_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['caller_id'], ['callers.id'], name=op.f('fk_motions_caller_id_callers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_motions'))
    )
    with op.batch_alter_table('motions', schema=None) as batch_op:
        batch_op.create_index('ix_motions_caller_created', ['caller_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_motions_caller_status_created', ['caller_id', 'status', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_motions_status_next_poll', ['status', 'next_poll_at'], unique=False)
        batch_op.create_index('ix_motions_status_priority_created', ['status', 'priority', 'created_at'], unique=False)
        batch_op.create_index('uq_motions_caller_external_id', ['caller_id', 'external_id'], unique=True)
        batch_op.create_index('uq_motions_jogg_motion_id', ['jogg_motion_id'], unique=True)

    op.create_table('motion_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('motion_id', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['motion_id'], ['motions.id'], name=op.f('fk_motion_events_motion_id_motions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_motion_events'))
    )
    with op.batch_alter_table('motion_events', schema=None) as batch_op:
        batch_op.create_index('ix_motion_events_motion_id_id', ['motion_id', 'id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('motion_id', sa.String(length=32), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['motion_id'], ['motions.id'], name=op.f('fk_outbox_motion_id_motions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_motion_id', ['motion_id'], unique=False)
        batch_op.create_index('ix_outbox_pending', ['due_at'], unique=False, postgresql_where=sa.text('done_at IS NULL'), sqlite_where=sa.text('done_at IS NULL'))



def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending', postgresql_where=sa.text('done_at IS NULL'), sqlite_where=sa.text('done_at IS NULL'))
        batch_op.drop_index('ix_outbox_motion_id')

    op.drop_table('outbox')
    with op.batch_alter_table('motion_events', schema=None) as batch_op:
        batch_op.drop_index('ix_motion_events_motion_id_id')

    op.drop_table('motion_events')
    with op.batch_alter_table('motions', schema=None) as batch_op:
        batch_op.drop_index('uq_motions_jogg_motion_id')
        batch_op.drop_index('uq_motions_caller_external_id')
        batch_op.drop_index('ix_motions_status_priority_created')
        batch_op.drop_index('ix_motions_status_next_poll')
        batch_op.drop_index('ix_motions_caller_status_created')
        batch_op.drop_index('ix_motions_caller_created')

    op.drop_table('motions')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('uq_idempotency_keys_caller_key')
        batch_op.drop_index('ix_idempotency_keys_expires_at')

    op.drop_table('idempotency_keys')
    op.drop_table('callers')
