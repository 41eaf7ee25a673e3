"""JoggAI account state and submission bookkeeping

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 07:43:14.910767

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('jogg_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paused_reason', sa.String(length=32), nullable=True),
    sa.Column('paused_detail', sa.String(length=500), nullable=True),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_probe_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cooldown_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_caller_served', sa.Integer(), nullable=False),
    sa.Column('webhook_endpoint_id', sa.String(length=100), nullable=True),
    sa.Column('webhook_secret', sa.String(length=200), nullable=True),
    sa.Column('previous_webhook_secret', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jogg_account'))
    )
    with op.batch_alter_table('motions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('submission_uncertain_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index(batch_op.f('ix_motions_status_priority_created'))
        batch_op.create_index('ix_motions_dispatch', ['status', 'caller_id', 'priority', 'created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('motions', schema=None) as batch_op:
        batch_op.drop_index('ix_motions_dispatch')
        batch_op.create_index(batch_op.f('ix_motions_status_priority_created'), ['status', 'priority', 'created_at'], unique=False)
        batch_op.drop_column('submission_uncertain_at')
        batch_op.drop_column('dispatched_at')

    op.drop_table('jogg_account')
