"""What every login provider (OpenID Connect, WeChat, QQ) offers the server, and what it hands back.

A provider's methods make blocking HTTP calls to the provider (discovery, token exchange,
userinfo, keys): they run on the worker pool, never on an event loop, and each call has a timeout.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

# Seconds for one HTTP call to a provider: to connect, and to read its answer.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0


@dataclass(frozen=True)
class LoginAttempt:
    """One login through a provider, as the server began it: what the provider must echo back."""

    state: str  # random, in the authorization URL; the callback must bring it back unchanged
    nonce: str  # random, OIDC only: the ID token must carry it
    code_verifier: str  # PKCE (RFC 7636): S256 of it goes in the authorization URL
    redirect_uri: str  # this server's /oauth/<name>/callback, as registered at the provider


@dataclass(frozen=True)
class ExternalIdentity:
    """Who the provider says logged in."""

    provider: str  # the provider's configured name, e.g. "school", "wechat"
    subject: str  # stable at the provider: OIDC `sub`, WeChat `unionid` else `openid`, QQ `openid`
    display_name: str  # "" when the provider gave none
    preferred_username: str = ""  # a hint for a new account's user name ("" when none)
    email: str = ""
    avatar_url: str = ""  # http(s) URL of a picture, "" when none


class ProviderError(Exception):
    """A login through a provider failed. `code` is one of protocol.errors' PROVIDER_* codes,
    `message` what the person is told; `detail` (the provider's own words) goes to the log only."""

    def __init__(self, code: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


class Provider(ABC):
    """A configured login provider."""

    kind: str  # "oidc", "wechat" or "qq"

    def __init__(self, name: str, display_name: str) -> None:
        self.name = name
        self.display_name = display_name

    @abstractmethod
    def authorization_url(self, attempt: LoginAttempt) -> str:
        """Where the person's browser goes to log in. May block (OIDC discovery, then cached)."""

    @abstractmethod
    def identity(self, code: str, attempt: LoginAttempt) -> ExternalIdentity:
        """Exchange the callback's code and say who it is; raises ProviderError. Blocks."""
