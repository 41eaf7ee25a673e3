"""The baseline: the bare minimum per request (one INSERT into a table of its own and one RQ enqueue).

No validation, no authentication, no signature check. Run under the same gunicorn config as the service:
`gunicorn --config gunicorn.conf.py bench.baseline_app:app` with DATABASE_URL and REDIS_URL set.
"""

import os
import uuid

import redis
import sqlalchemy as sa
from flask import Flask, jsonify, request
from rq import Queue

from app.config import normalise_database_url

engine = sa.create_engine(normalise_database_url(os.environ["DATABASE_URL"]), pool_size=16, max_overflow=8)
queue = Queue("bench-baseline", connection=redis.Redis.from_url(os.environ["REDIS_URL"]))
try:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS bench_baseline (id text PRIMARY KEY, body bytea NOT NULL)"))
except sa.exc.DBAPIError:  # the other gunicorn worker created it at the same moment
    pass
INSERT = sa.text("INSERT INTO bench_baseline (id, body) VALUES (:id, :body)")

app = Flask(__name__)


def minimum():
    """One INSERT, one enqueue, a small JSON answer."""
    row_id = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(INSERT, {"id": row_id, "body": request.get_data()})
    queue.enqueue("bench.baseline_app.noop", row_id, job_id=f"b-{row_id}")
    return jsonify(id=row_id), 202


app.add_url_rule("/v1/motions", "motions", minimum, methods=["POST"])
app.add_url_rule("/webhooks/jogg", "webhooks", minimum, methods=["POST"])
app.add_url_rule("/healthz", "healthz", lambda: jsonify(ok=True))


def noop(_row_id):
    """The job the baseline enqueues (nothing runs it during the bench)."""
