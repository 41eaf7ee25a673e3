"""Checking a batch of motions at once: voices from the shared list, images on threads, verdicts as they come."""

import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from app.notifications.http import new_session
from app.preflight.image import ImageVerdict, check_image
from app.preflight.voices import VoiceCatalog, VoiceCheck

log = logging.getLogger(__name__)


def voice_known(catalog: VoiceCatalog, voice_id: str) -> bool | None:
    """True or False from JoggAI's lists; None when they cannot be read (the check is skipped, logged)."""
    found = catalog.check(voice_id)
    if found is VoiceCheck.UNVERIFIABLE:
        log.warning("pre-flight: JoggAI's voice lists cannot be read; voice %r not checked", voice_id[:100])
        return None
    return found is VoiceCheck.KNOWN


def fetch_one(url: str, allowed: Sequence[str]) -> ImageVerdict:
    """One image check on its own HTTP session (threads share none), bounded by the library's 10 s."""
    with new_session() as session:
        return check_image(url, allowed, session=session)


def images(
    urls: dict[str, str], allowed: Sequence[str], fetch: Callable[[str, Sequence[str]], ImageVerdict] = fetch_one
) -> Iterator[tuple[str, ImageVerdict]]:
    """(motion id, verdict) for each image, in the order they finish: a slow host holds up only its own motion."""
    if not urls:
        return
    with ThreadPoolExecutor(max_workers=len(urls), thread_name_prefix="preflight") as pool:
        futures = {pool.submit(fetch, url, allowed): motion_id for motion_id, url in urls.items()}
        for future in as_completed(futures):
            yield futures[future], future.result()
