"""motion errors index: /ops' newest errors from a partial index on motions with an error (EXPLAIN at 1M motions: a sequential scan of every motion and a sort of the failed ones, 598 ms)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 02:50:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WITH_ERROR = "error IS NOT NULL"


def upgrade():
    with op.batch_alter_table("motions", schema=None) as batch_op:
        # /ops: the newest motion errors, most recently updated first (a few percent of motions have one)
        batch_op.create_index(
            "ix_motions_error_updated",
            ["updated_at", "id"],
            unique=False,
            postgresql_where=sa.text(WITH_ERROR),
            sqlite_where=sa.text(WITH_ERROR),
        )


def downgrade():
    with op.batch_alter_table("motions", schema=None) as batch_op:
        batch_op.drop_index("ix_motions_error_updated")
