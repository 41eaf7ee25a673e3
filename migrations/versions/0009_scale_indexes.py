"""scale indexes: by time across callers for /ops and retention, credits in the caller-charged index, deliveries by event for the cascade (EXPLAIN at 4M motions)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 23:30:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("motions", schema=None) as batch_op:
        # /ops: motions created in the last 24 h by status, per hour (every caller)
        batch_op.create_index("ix_motions_created_at", ["created_at"], unique=False)
        # retention: finished motions oldest first; /ops: the newest errors
        batch_op.create_index("ix_motions_updated_at", ["updated_at"], unique=False)
        # quotas' sum at intake and GET /v1/usage (credits and model per day): a caller's period from the index alone
        batch_op.drop_index("ix_motions_caller_charged")
        batch_op.create_index(
            "ix_motions_caller_charged", ["caller_id", "charged_at"], unique=False, postgresql_include=["credits", "model"]
        )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_idempotency_keys_created_at", ["created_at"], unique=False
        )  # retention, with expires_at
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_attempts_at", ["at"], unique=False)  # retention: attempts past keeping
    with op.batch_alter_table("jogg_events", schema=None) as batch_op:
        batch_op.create_index("ix_jogg_events_received_at", ["received_at"], unique=False)  # retention: raw webhooks
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        # retention: each deleted notification event cascades to its deliveries (without it, a scan per event)
        batch_op.create_index("ix_deliveries_event_id", ["event_id"], unique=False)


def downgrade():
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_event_id")
    with op.batch_alter_table("jogg_events", schema=None) as batch_op:
        batch_op.drop_index("ix_jogg_events_received_at")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_attempts_at")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_created_at")
    with op.batch_alter_table("motions", schema=None) as batch_op:
        batch_op.drop_index("ix_motions_caller_charged")
        batch_op.create_index("ix_motions_caller_charged", ["caller_id", "charged_at"], unique=False)
        batch_op.drop_index("ix_motions_updated_at")
        batch_op.drop_index("ix_motions_created_at")
