"""Logins through a provider under way: fresh secrets each, one per client, PKCE as RFC 7636 says."""

from __future__ import annotations

import re

from server.oauth.pending_logins import PendingLogins, pkce_challenge, pkce_verifier
from server.oauth.provider import ExternalIdentity, LoginAttempt, Provider


class _Named(Provider):
    kind = "oidc"

    def authorization_url(self, attempt: LoginAttempt) -> str:
        raise AssertionError("not called here")

    def identity(self, code: str, attempt: LoginAttempt) -> ExternalIdentity:
        raise AssertionError("not called here")


def test_the_s256_challenge_is_rfc_7636s_own_example() -> None:
    # RFC 7636, appendix B.
    assert pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == \
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_verifier_has_the_length_and_characters_rfc_7636_allows_and_is_never_the_same() -> None:
    verifiers = {pkce_verifier() for _ in range(50)}
    assert len(verifiers) == 50
    for verifier in verifiers:
        assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)


def test_each_login_gets_its_own_ticket_state_and_nonce_found_by_ticket_or_state() -> None:
    table = PendingLogins()
    provider = _Named("school", "School")
    first = table.begin(provider, "client-1", "login", "https://meet.example/oauth/school/callback", 300)
    second = table.begin(provider, "client-2", "login", "https://meet.example/oauth/school/callback", 300)
    secrets_of = [{p.ticket, p.attempt.state, p.attempt.nonce, p.attempt.code_verifier}
                  for p in (first, second)]
    assert len(secrets_of[0] | secrets_of[1]) == 8  # nothing shared, nothing reused
    assert table.by_ticket(first.ticket) is first and table.by_state(second.attempt.state) is second
    assert table.by_ticket(first.attempt.state) is None  # a state is not a ticket
    assert table.of_client("client-1") is first and len(table) == 2


def test_a_removed_login_is_found_by_nothing_and_removing_twice_says_so() -> None:
    table = PendingLogins()
    pending = table.begin(_Named("qq", "QQ"), "client", "link", "https://x/oauth/qq/callback", 300)
    assert table.remove(pending) is True
    assert table.remove(pending) is False
    assert table.by_ticket(pending.ticket) is None and table.by_state(pending.attempt.state) is None
    assert table.of_client("client") is None and len(table) == 0


def test_the_table_says_when_it_is_full() -> None:
    table = PendingLogins(limit=2)
    for n in range(2):
        table.begin(_Named("qq", "QQ"), f"client-{n}", "login", "https://x/oauth/qq/callback", 300)
    assert table.full()
