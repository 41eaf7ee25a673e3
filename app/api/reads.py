"""A GET on the caller API only reads: its statements run without a transaction (no BEGIN, no ROLLBACK)."""

from flask import request

from app.database import reads_without_transaction


def get_reads_without_transaction() -> None:
    """before_request hook, registered before the caller's key is checked (its lookup is the first read).

    Two round trips to the database fewer per GET; each statement still sees what was committed when it began.
    """
    if request.method == "GET":
        reads_without_transaction()
