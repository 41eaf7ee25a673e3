"""JoggAI webhook events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 07:52:48.449357

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('jogg_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('jogg_motion_id', sa.String(length=64), nullable=True),
    sa.Column('raw_body', sa.LargeBinary(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=500), nullable=True),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jogg_events'))
    )
    with op.batch_alter_table('jogg_events', schema=None) as batch_op:
        batch_op.create_index('ix_jogg_events_jogg_motion_id', ['jogg_motion_id'], unique=False)
        batch_op.create_index('ix_jogg_events_state_received', ['state', 'received_at'], unique=False)
        batch_op.create_index('uq_jogg_events_event_event_id', ['event', 'event_id'], unique=True)



def downgrade():
    with op.batch_alter_table('jogg_events', schema=None) as batch_op:
        batch_op.drop_index('uq_jogg_events_event_event_id')
        batch_op.drop_index('ix_jogg_events_state_received')
        batch_op.drop_index('ix_jogg_events_jogg_motion_id')

    op.drop_table('jogg_events')
