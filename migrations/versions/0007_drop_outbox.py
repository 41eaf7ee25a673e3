"""drop the outbox table: its last two kinds of work are done from their own rows now

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 20:30:00.000000

Draining: no code has written outbox rows for a while; older ones can only be of two kinds, each of which
asked for work whose own row is the record of it today, so an undone row is safely discarded:
- `dispatch`: hand free POST slots to queued motions. The queued motion is the work; the clock
  dispatches every DISPATCH_INTERVAL.
- `jogg_event`: process a stored webhook event. The `jogg_events` row (state `received`) is the work;
  the sweep nudges its processing when it has waited SWEEP_STALE_AFTER.
A row of any other kind would be work nobody does any more: the upgrade stops and names it.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DRAINED_KINDS = ("dispatch", "jogg_event")


def upgrade():
    undone = (
        op.get_bind().execute(sa.text("SELECT kind, count(*) FROM outbox WHERE done_at IS NULL GROUP BY kind")).all()
    )
    unknown = {kind: count for kind, count in undone if kind not in DRAINED_KINDS}
    if unknown:
        raise RuntimeError(f"outbox rows of unknown kinds are still undone, not dropping the table: {unknown}")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_pending", postgresql_where=sa.text("done_at IS NULL"), sqlite_where=sa.text("done_at IS NULL")
        )
        batch_op.drop_index("ix_outbox_motion_id")
    op.drop_table("outbox")


def downgrade():
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("motion_id", sa.String(length=32), nullable=True),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["motion_id"], ["motions.id"], name=op.f("fk_outbox_motion_id_motions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_motion_id", ["motion_id"], unique=False)
        batch_op.create_index(
            "ix_outbox_pending",
            ["due_at"],
            unique=False,
            postgresql_where=sa.text("done_at IS NULL"),
            sqlite_where=sa.text("done_at IS NULL"),
        )
