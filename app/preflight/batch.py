"""Checking a batch of motions at once: voices from one read of the shared lists, images on threads, as they come."""

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from app.notifications.http import new_session
from app.preflight.image import ImageVerdict, check_image
from app.preflight.voices import VoiceCatalog, VoiceCheck

log = logging.getLogger(__name__)


def voices_known(catalog: VoiceCatalog, voice_ids: Iterable[str]) -> dict[str, bool | None]:
    """True or False for each voice from JoggAI's lists (read once); None when they cannot be read (skipped, logged)."""
    found = catalog.check_many(voice_ids)
    if VoiceCheck.UNVERIFIABLE in found.values():
        shown = [voice[:100] for voice in sorted(found)[:5]]
        log.warning("pre-flight: JoggAI's voice lists cannot be read; voices %s not checked", shown)
    return {voice: None if it is VoiceCheck.UNVERIFIABLE else it is VoiceCheck.KNOWN for voice, it in found.items()}


def fetch_one(url: str, allowed: Sequence[str]) -> ImageVerdict:
    """One image check on its own HTTP session (threads share none), bounded by the library's 10 s."""
    with new_session() as session:
        return check_image(url, allowed, session=session)


def image_groups(
    urls: dict[str, str], allowed: Sequence[str], fetch: Callable[[str, Sequence[str]], ImageVerdict] = fetch_one
) -> Iterator[list[tuple[str, ImageVerdict]]]:
    """(motion id, verdict) pairs as the images finish, those finished together in one group (recorded in one commit).

    A slow host holds up only its own motions. An address several motions of the batch name is fetched once,
    and its verdict given to each of them.
    """
    if not urls:
        return
    motions_of: dict[str, list[str]] = {}
    for motion_id, url in urls.items():
        motions_of.setdefault(url, []).append(motion_id)
    with ThreadPoolExecutor(max_workers=len(motions_of), thread_name_prefix="preflight") as pool:
        pending = {pool.submit(fetch, url, allowed): url for url in motions_of}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            yield [(motion_id, future.result()) for future in done for motion_id in motions_of[pending.pop(future)]]
