"""Keeps secrets out of urllib3's debug log: WeChat and QQ take them in the query string of a GET."""

from __future__ import annotations

import logging
import re

# Query parameters whose values are secrets or one-time credentials of a login.
SECRET_PARAMETERS = ("secret", "client_secret", "access_token", "refresh_token", "code")

_NAMES = "|".join(SECRET_PARAMETERS)
_SECRET_VALUE = re.compile(rf"([?&](?:{_NAMES})=)[^&\s\"']*")

# urllib3 logs each request line, query string included, at DEBUG on this logger.
_URLLIB3_LOGGER = "urllib3.connectionpool"


def redact(text: str) -> str:
    """text with the values of secret query parameters replaced by ***."""
    return _SECRET_VALUE.sub(r"\1***", text)


class QuerySecretFilter(logging.Filter):
    """Rewrites a record's message with the secret query values blanked out, before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def guard_urllib3_log() -> None:
    """Install the filter on urllib3's logger once; safe to call many times."""
    logger = logging.getLogger(_URLLIB3_LOGGER)
    if not any(isinstance(f, QuerySecretFilter) for f in logger.filters):
        logger.addFilter(QuerySecretFilter())
