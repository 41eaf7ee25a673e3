"""credits: what each motion cost, pre-flight and reuse on motions, quotas and weights on callers, JoggAI's balance

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 20:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('motions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credits', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('charged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('preflight_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reuse', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('reused_from', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('content_key', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_motions_reused_from_motions'), 'motions', ['reused_from'], ['id'], ondelete='SET NULL'
        )
        batch_op.create_index('ix_motions_caller_content', ['caller_id', 'content_key', 'status'], unique=False)
        batch_op.create_index('ix_motions_caller_charged', ['caller_id', 'charged_at'], unique=False)
        batch_op.create_index('ix_motions_charged_at', ['charged_at'], unique=False)
        batch_op.create_index('ix_motions_reused_from', ['reused_from'], unique=False)
    with op.batch_alter_table('callers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weight', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('quota_credits', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('quota_period', sa.String(length=8), nullable=True))
    with op.batch_alter_table('jogg_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credits_remaining', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('credits_read_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('credits_low', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('jogg_account', schema=None) as batch_op:
        batch_op.drop_column('credits_low')
        batch_op.drop_column('credits_read_at')
        batch_op.drop_column('credits_remaining')
    with op.batch_alter_table('callers', schema=None) as batch_op:
        batch_op.drop_column('quota_period')
        batch_op.drop_column('quota_credits')
        batch_op.drop_column('weight')
    with op.batch_alter_table('motions', schema=None) as batch_op:
        batch_op.drop_index('ix_motions_reused_from')
        batch_op.drop_index('ix_motions_charged_at')
        batch_op.drop_index('ix_motions_caller_charged')
        batch_op.drop_index('ix_motions_caller_content')
        batch_op.drop_constraint(batch_op.f('fk_motions_reused_from_motions'), type_='foreignkey')
        batch_op.drop_column('content_key')
        batch_op.drop_column('reused_from')
        batch_op.drop_column('reuse')
        batch_op.drop_column('preflight_at')
        batch_op.drop_column('charged_at')
        batch_op.drop_column('credits')
