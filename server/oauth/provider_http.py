"""Blocking HTTP GETs to a login provider with timeouts and verified TLS, where every failure becomes a
ProviderError that a person can read, and the provider's own words go to the log only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from protocol.errors import ErrorCode
from server.oauth.provider import CONNECT_TIMEOUT, READ_TIMEOUT, ProviderError

log = logging.getLogger(__name__)

UNREACHABLE_MESSAGE = "The login provider {name} could not be reached: try again later."


@dataclass(frozen=True)
class ProviderHttp:
    """How to talk to one provider: whose CA bundle to trust and how long to wait."""

    display_name: str
    ca_file: str | None = None  # None: the system's trusted CAs
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    @property
    def verify(self) -> str | bool:
        return self.ca_file or True

    def unreachable(self, what: str, detail: str) -> ProviderError:
        """The error for a provider that did not answer usefully; logged with what we were doing."""
        log.warning("provider %s: %s failed: %s", self.display_name, what, detail)
        return ProviderError(ErrorCode.PROVIDER_UNREACHABLE,
                             UNREACHABLE_MESSAGE.format(name=self.display_name), f"{what}: {detail}")

    def get_json(self, url: str, what: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """GET a JSON object; a network error, timeout, redirect, non-2xx or non-object is UNREACHABLE.

        Redirects are not followed: discovery, keys and userinfo live at the URLs the provider names."""
        try:
            answer = requests.get(url, headers=headers, timeout=self.timeout, verify=self.verify,
                                  allow_redirects=False)
        except requests.RequestException as exc:
            raise self.unreachable(what, f"{type(exc).__name__}: {exc}") from None
        if not 200 <= answer.status_code < 300:
            raise self.unreachable(what, f"HTTP {answer.status_code}: {answer.text[:200]!r}")
        try:
            document = answer.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise self.unreachable(what, f"not a JSON object: {answer.text[:200]!r}")
        return document
