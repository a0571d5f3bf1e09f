"""The picture a provider gives for a person, fetched once for a new account: small, PNG or JPEG.

Runs on a provider worker. Any failure (too big, not an image, slow, refused) means no avatar:
the login goes on without it.
"""

from __future__ import annotations

import logging
import time

import requests

from protocol.messages import AVATAR_MAX_BYTES, is_avatar_image
from server.oauth.provider import CONNECT_TIMEOUT, READ_TIMEOUT

log = logging.getLogger(__name__)


def download_avatar(url: str, max_bytes: int = AVATAR_MAX_BYTES) -> bytes | None:
    """The image at an http(s) URL, or None (logged) when it cannot be had or is not a fit avatar."""
    if not url.startswith(("https://", "http://")):
        return None
    give_up_at = time.monotonic() + CONNECT_TIMEOUT + READ_TIMEOUT  # a trickle must not hold a worker
    try:
        with requests.get(url, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                          allow_redirects=True) as answer:
            answer.raise_for_status()
            data = bytearray()
            for chunk in answer.iter_content(64 * 1024):
                data += chunk
                if len(data) > max_bytes:
                    log.info("provider avatar over %d bytes: not kept", max_bytes)
                    return None
                if time.monotonic() > give_up_at:
                    log.info("provider avatar too slow to arrive: not kept")
                    return None
    except requests.RequestException as exc:
        log.info("provider avatar could not be fetched: %s", type(exc).__name__)
        return None
    if not is_avatar_image(bytes(data)):
        log.info("provider avatar is not a PNG or JPEG image: not kept")
        return None
    return bytes(data)
