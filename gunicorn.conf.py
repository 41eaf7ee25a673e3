"""gunicorn settings for the web process (read by `gunicorn --config gunicorn.conf.py`)."""

import os

# BIND: one or more addresses, comma separated (host:port, [::]:port, unix:/path); else every interface on PORT.
bind = (os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}").replace(",", " ").split()
# The API is I/O-bound (SQL, Redis, long-polls of up to 30 s with ?wait=), so threads, not more processes.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "16"))
# A request may legitimately wait 30 s; gthread workers heartbeat independently of requests.
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 10000
max_requests_jitter = 1000
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl), which a second
# deployment on the host would take over; nothing here uses gunicornc, so there is none.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# No user name (a caller key sent as Basic credentials), no query values, no referrer query (app/logs.py).
logger_class = "app.logs.AccessLogger"
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(L)s "%(a)s"'


def child_exit(_server, worker):
    """Drop a dead worker's live gauges from the shared metrics folder."""
    from app.metrics import process_exited

    process_exited(worker.pid)
