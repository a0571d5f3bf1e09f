"""Logins through a provider that have begun and not ended, found by their ticket or their state."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from server.oauth.provider import LoginAttempt, Provider

# Stages of one login through a provider.
ISSUED = "issued"  # the client has the start URL; no browser has opened it yet
AT_PROVIDER = "at_provider"  # the browser was sent to the provider; the callback is awaited
FINISHING = "finishing"  # the callback came: the code is being exchanged and the account found


@dataclass(eq=False)
class PendingLogin:
    """One login (or link) through a provider, from start_external_login to its end."""

    ticket: str  # in the start URL the client opens in the browser: good for one visit
    provider: Provider
    attempt: LoginAttempt
    client: Any  # the ControlClient waiting for the outcome
    purpose: str  # "login", or "link" (a logged-in user adds the provider)
    expires_at: float  # monotonic
    stage: str = ISSUED
    timer: Any = field(default=None, repr=False)


def pkce_verifier() -> str:
    """RFC 7636 section 4.1: 43 to 128 characters of [A-Za-z0-9-._~]; 64 random bytes give 86."""
    return secrets.token_urlsafe(64)


def pkce_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(verifier)) without padding (RFC 7636 section 4.2), by Authlib."""
    return create_s256_code_challenge(verifier)


class PendingLogins:
    """The table, on the control loop only. Bounded: per client one login at a time (a new one
    replaces the old), and `limit` in all."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._by_ticket: dict[str, PendingLogin] = {}
        self._by_state: dict[str, PendingLogin] = {}
        self._by_client: dict[Any, PendingLogin] = {}

    def __len__(self) -> int:
        return len(self._by_ticket)

    def full(self) -> bool:
        return len(self._by_ticket) >= self.limit

    def begin(self, provider: Provider, client: Any, purpose: str, redirect_uri: str,
              lifetime: float) -> PendingLogin:
        """A new login with fresh random ticket, state, nonce and PKCE verifier (the caller removes
        the client's earlier one first)."""
        attempt = LoginAttempt(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                               code_verifier=pkce_verifier(), redirect_uri=redirect_uri)
        pending = PendingLogin(secrets.token_urlsafe(32), provider, attempt, client, purpose,
                               time.monotonic() + lifetime)
        self._by_ticket[pending.ticket] = pending
        self._by_state[attempt.state] = pending
        self._by_client[client] = pending
        return pending

    def of_client(self, client: Any) -> PendingLogin | None:
        return self._by_client.get(client)

    def by_ticket(self, ticket: str) -> PendingLogin | None:
        return self._by_ticket.get(ticket)

    def by_state(self, state: str) -> PendingLogin | None:
        return self._by_state.get(state)

    def remove(self, pending: PendingLogin) -> bool:
        """Forget it; False if it was gone already (ended another way meanwhile)."""
        if self._by_ticket.get(pending.ticket) is not pending:
            return False
        del self._by_ticket[pending.ticket]
        del self._by_state[pending.attempt.state]
        if self._by_client.get(pending.client) is pending:
            del self._by_client[pending.client]
        return True
