"""One sender per callback URL at a time; the sender also sends what others left waiting for that URL."""

import redis
from redis.exceptions import LockError

from app.notifications.http import hash_url

HOLD_SECONDS = 30  # renewed before every POST; a sender that dies frees the URL after this long


class UrlTurn:
    """The right to POST to one callback URL, shared through Redis by every worker."""

    def __init__(self, connection: redis.Redis, url: str):
        """The Redis lock that is the URL's turn (keyed by a hash of the URL)."""
        key = hash_url(url)
        self.connection = connection
        self.lock = connection.lock(f"motion-gateway:callback-url:{key}", timeout=HOLD_SECONDS)
        self.waiting_key = f"motion-gateway:callback-url-waiting:{key}"

    def take(self, delivery_id: int) -> bool:
        """Take the turn, or leave the delivery in the URL's waiting set for the current sender (False)."""
        if self.lock.acquire(blocking=False):
            return True
        with self.connection.pipeline() as pipe:
            pipe.sadd(self.waiting_key, delivery_id).expire(self.waiting_key, HOLD_SECONDS * 4).execute()
        if not self.lock.acquire(blocking=False):  # the sender may have finished in between
            return False
        self.connection.srem(self.waiting_key, delivery_id)
        return True

    def next_waiting(self) -> int | None:
        """A delivery another job left for this URL's sender, if any."""
        value = self.connection.spop(self.waiting_key)
        return int(value) if value is not None else None

    def renew(self) -> None:
        """Hold the turn for another HOLD_SECONDS."""
        self.lock.reacquire()

    def release(self) -> None:
        """Give the turn up (quietly, if it had already expired)."""
        try:
            self.lock.release()
        except LockError:
            pass
