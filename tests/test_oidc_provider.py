"""OidcProvider against a real OpenID Connect provider (Canaille, from pytest-iam, on loopback): the
person's browser is driven with requests; misbehaving providers are small real HTTP servers."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from protocol.errors import ErrorCode
from server.oauth.id_token_check import IdTokenExpectations, IdTokenRejected, verify_id_token
from server.oauth.jwks_cache import JwksCache
from server.oauth.oidc_discovery import parse_metadata
from server.oauth.oidc_provider import REFUSED_MESSAGE, OidcProvider
from server.oauth.provider import ExternalIdentity, LoginAttempt, ProviderError
from server.oauth.provider_http import ProviderHttp
from tests.oidc_support import (
    JsonStub,
    RegisteredClient,
    StubRequest,
    callback_parameters,
    drive_browser,
    register_client,
)
from tests.tls_support import shared_identity

ROOT = Path(__file__).resolve().parents[1]
# Nothing listens here: the browser stops at the redirect back, as ours will land on the server.
REDIRECT_URI = "http://127.0.0.1:9/oauth/school/callback"


def new_attempt(redirect_uri: str = REDIRECT_URI) -> LoginAttempt:
    return LoginAttempt(state=secrets.token_urlsafe(16), nonce=secrets.token_urlsafe(16),
                        code_verifier=secrets.token_urlsafe(48), redirect_uri=redirect_uri)


@pytest.fixture
def school(iam_server: Any) -> RegisteredClient:
    # A client per test: see register_client on Canaille's memory backend and unused codes.
    return register_client(iam_server, REDIRECT_URI)


@pytest.fixture
def provider(school: RegisteredClient) -> OidcProvider:
    return OidcProvider.from_config("school", school.provider_section(display_name="Our School"))


def log_in(provider: OidcProvider, iam_server: Any, user: Any) -> tuple[LoginAttempt, str]:
    """The person's part: open the authorization URL, log in at the provider; the callback's code."""
    attempt = new_attempt()
    callback = callback_parameters(drive_browser(provider.authorization_url(attempt), user, iam_server,
                                                 REDIRECT_URI))
    assert callback["state"] == attempt.state
    return attempt, callback["code"]


# --- against Canaille ---------------------------------------------------------------------------

def test_the_authorization_url_asks_for_the_code_flow_with_pkce_state_and_nonce(
        provider: OidcProvider, school: RegisteredClient) -> None:
    attempt = new_attempt()
    url = urllib.parse.urlsplit(provider.authorization_url(attempt))
    query = dict(urllib.parse.parse_qsl(url.query))
    assert f"{url.scheme}://{url.netloc}{url.path}" == school.issuer + "/oauth/authorize"  # from discovery
    expected_challenge = base64.urlsafe_b64encode(
        hashlib.sha256(attempt.code_verifier.encode()).digest()).rstrip(b"=").decode()
    assert query == {"response_type": "code", "client_id": school.client_id, "redirect_uri": REDIRECT_URI,
                     "scope": "openid profile email", "state": attempt.state, "nonce": attempt.nonce,
                     "code_challenge": expected_challenge, "code_challenge_method": "S256"}


def test_a_full_login_says_who_logged_in(provider: OidcProvider, iam_server: Any) -> None:
    user = iam_server.random_user()
    attempt, code = log_in(provider, iam_server, user)
    identity = provider.identity(code, attempt)
    assert identity == ExternalIdentity(provider="school", subject=user.user_name,
                                        display_name=user.formatted_name, email=user.emails[0])


def test_the_same_person_twice_is_the_same_subject_and_another_person_another(
        provider: OidcProvider, iam_server: Any) -> None:
    alice, bob = iam_server.random_user(), iam_server.random_user()
    first = provider.identity(*reversed(log_in(provider, iam_server, alice)))
    again = provider.identity(*reversed(log_in(provider, iam_server, alice)))
    other = provider.identity(*reversed(log_in(provider, iam_server, bob)))
    assert first.subject == again.subject == alice.user_name
    assert other.subject != first.subject


def test_a_replayed_code_is_refused(provider: OidcProvider, iam_server: Any) -> None:
    attempt, code = log_in(provider, iam_server, iam_server.random_user())
    provider.identity(code, attempt)
    with pytest.raises(ProviderError) as refused:
        provider.identity(code, attempt)
    assert refused.value.code == ErrorCode.PROVIDER_REFUSED
    assert refused.value.message == REFUSED_MESSAGE
    assert "invalid_grant" in refused.value.detail


def test_a_code_with_another_logins_pkce_verifier_is_refused(provider: OidcProvider, iam_server: Any) -> None:
    attempt, code = log_in(provider, iam_server, iam_server.random_user())
    stolen = LoginAttempt(attempt.state, attempt.nonce, secrets.token_urlsafe(48), attempt.redirect_uri)
    with pytest.raises(ProviderError) as refused:
        provider.identity(code, stolen)
    assert refused.value.code == ErrorCode.PROVIDER_REFUSED


def test_a_nonce_changed_in_the_authorization_url_is_refused(provider: OidcProvider, iam_server: Any) -> None:
    attempt = new_attempt()
    tampered = provider.authorization_url(attempt).replace(f"nonce={attempt.nonce}", "nonce=attackers-nonce")
    assert "attackers-nonce" in tampered
    code = callback_parameters(drive_browser(tampered, iam_server.random_user(), iam_server,
                                             REDIRECT_URI))["code"]
    with pytest.raises(ProviderError) as refused:
        provider.identity(code, attempt)
    assert refused.value.code == ErrorCode.PROVIDER_REFUSED
    assert "nonce" in refused.value.detail


def test_a_token_signed_by_another_key_fails_against_the_providers_real_keys(
        school: RegisteredClient, iam_server: Any) -> None:
    metadata = OidcProvider.from_config("school", school.provider_section())._discovery.get()
    keys = JwksCache(ProviderHttp("school"))
    real_kid = keys.get(metadata.jwks_uri).keys[0].kid
    impostor = RSAKey.generate_key(2048, parameters={"kid": real_kid})
    now = int(time.time())
    forged = jwt.encode({"alg": "RS256", "kid": real_kid},
                        {"iss": school.issuer, "aud": school.client_id, "sub": "admin", "nonce": "n",
                         "iat": now, "exp": now + 300}, impostor)
    expect = IdTokenExpectations(school.issuer, school.client_id, "n", metadata.id_token_algorithms)
    with pytest.raises(IdTokenRejected, match="Signature"):
        verify_id_token(forged, lambda refresh: keys.get(metadata.jwks_uri, refresh), expect)


def test_the_adapter_needs_no_authlib_insecure_transport_variable(
        school: RegisteredClient, iam_server: Any) -> None:
    # Canaille, in this process, needs the variable; our server runs in another process without it.
    def in_child(**request: Any) -> dict[str, Any]:
        environment = {k: v for k, v in os.environ.items() if k != "AUTHLIB_INSECURE_TRANSPORT"}
        child = subprocess.run([sys.executable, "-m", "tests.oidc_child"], cwd=ROOT, env=environment,
                               input=json.dumps({"name": "school", "section": school.provider_section(),
                                                 **request}),
                               capture_output=True, text=True, timeout=20, check=True)
        return json.loads(child.stdout)

    user = iam_server.random_user()
    attempt = new_attempt()
    url = in_child(attempt=attempt.__dict__)["url"]
    code = callback_parameters(drive_browser(url, user, iam_server, REDIRECT_URI))["code"]
    assert in_child(attempt=attempt.__dict__, code=code)["identity"]["subject"] == user.user_name


def test_no_secret_code_or_token_reaches_the_log(provider: OidcProvider, iam_server: Any,
                                                 school: RegisteredClient,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    attempt, code = log_in(provider, iam_server, iam_server.random_user())
    provider.identity(code, attempt)
    with pytest.raises(ProviderError):
        provider.identity(code, attempt)
    # Canaille runs in this process: its own records (and its Authlib server's grants) are the provider's.
    provider_side = ("canaille", "werkzeug", "faker", "authlib.oauth2.rfc", "authlib.oidc")
    ours = [r for r in caplog.records if not r.name.startswith(provider_side)]
    assert any(r.name.startswith("urllib3") for r in ours)  # the HTTP client's records are looked at
    assert any(r.levelno == logging.WARNING and "invalid_grant" in r.getMessage() for r in ours)
    text = "\n".join(r.getMessage() for r in ours)
    for secret in (school.client_secret, code, "eyJ"):  # every token Canaille issues is a JWT: "eyJ..."
        assert secret not in text
    assert school.client_secret not in repr(provider)


# --- misbehaving providers ----------------------------------------------------------------------

@pytest.fixture
def stub() -> Iterator[JsonStub]:
    with JsonStub() as server:
        yield server


SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "stub-key", "use": "sig"})


def stub_provider(stub: JsonStub, ca_file: str | None = None, **document: Any) -> OidcProvider:
    """A provider at the stub whose discovery and keys behave; `document` overrides discovery."""
    base = {"issuer": stub.url, "authorization_endpoint": stub.url + "/authorize",
            "token_endpoint": stub.url + "/token", "jwks_uri": stub.url + "/jwks",
            "userinfo_endpoint": stub.url + "/userinfo", "id_token_signing_alg_values_supported": ["RS256"]}
    base.update(document)
    stub.serve("/.well-known/openid-configuration", {k: v for k, v in base.items() if v is not None})
    stub.serve("/jwks", {"keys": [SIGNING_KEY.as_dict(private=False)]})
    return OidcProvider("stubby", "Stubby", stub.url, "client-1", "secret-1", ca_file=ca_file,
                        allow_insecure_http=stub.url.startswith("http:"), connect_timeout=1.0,
                        read_timeout=1.0)


def issue_tokens(stub: JsonStub, attempt: LoginAttempt, key: RSAKey = SIGNING_KEY, **claims: Any) -> None:
    """The stub's token endpoint answers with an ID token for this login, signed by `key`."""
    def token(request: StubRequest) -> tuple[int, dict[str, Any]]:
        now = int(time.time())
        payload = {"iss": stub.url, "aud": "client-1", "sub": "u-1", "nonce": attempt.nonce, "iat": now,
                   "exp": now + 300, **claims}
        return 200, {"access_token": "at-" + secrets.token_hex(8), "token_type": "Bearer",
                     "id_token": jwt.encode({"alg": "RS256", "kid": key.kid}, payload, key)}
    stub.routes["/token"] = token


def test_discovery_naming_another_issuer_is_refused_and_retried_next_time(stub: JsonStub) -> None:
    provider = stub_provider(stub, issuer="https://impostor.example")
    with pytest.raises(ProviderError) as refused:
        provider.authorization_url(new_attempt())
    assert refused.value.code == ErrorCode.PROVIDER_UNREACHABLE
    assert "impostor" in refused.value.detail and "impostor" not in refused.value.message
    stub_provider(stub)  # the provider is fixed: the failure was not cached
    assert provider.authorization_url(new_attempt()).startswith(stub.url + "/authorize?")


def test_discovery_without_a_jwks_uri_is_refused(stub: JsonStub) -> None:
    with pytest.raises(ProviderError) as refused:
        stub_provider(stub, jwks_uri=None).authorization_url(new_attempt())
    assert refused.value.code == ErrorCode.PROVIDER_UNREACHABLE
    assert "jwks_uri" in refused.value.detail


def test_discovery_keeps_only_public_key_algorithms_and_the_preferred_client_authentication() -> None:
    document = {"issuer": "https://id.example", "authorization_endpoint": "https://id.example/a",
                "token_endpoint": "https://id.example/t", "jwks_uri": "https://id.example/k",
                "id_token_signing_alg_values_supported": ["none", "HS256", "RS256", "ES256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post"]}
    metadata = parse_metadata(document, "https://id.example", allow_insecure_http=False)
    assert metadata.id_token_algorithms == ("RS256", "ES256")
    assert metadata.token_auth_method == "client_secret_post"
    assert metadata.userinfo_endpoint == ""


def test_the_discovery_document_is_fetched_once_for_many_logins(stub: JsonStub) -> None:
    provider = stub_provider(stub)
    for _ in range(3):
        provider.authorization_url(new_attempt())
    assert [r.path for r in stub.requests].count("/.well-known/openid-configuration") == 1


def test_userinfo_about_another_person_is_refused(stub: JsonStub) -> None:
    provider = stub_provider(stub)
    attempt = new_attempt()
    issue_tokens(stub, attempt)
    stub.serve("/userinfo", {"sub": "someone-else", "name": "Mallory"})
    with pytest.raises(ProviderError) as refused:
        provider.identity("code-1", attempt)
    assert refused.value.code == ErrorCode.PROVIDER_REFUSED


def test_userinfo_adds_the_profile_and_an_unverified_email_is_dropped(stub: JsonStub) -> None:
    provider = stub_provider(stub)
    attempt = new_attempt()
    issue_tokens(stub, attempt)
    stub.serve("/userinfo", {"sub": "u-1", "preferred_username": "jdoe", "picture": "https://p.example/j.png",
                             "email": "j@example.com", "email_verified": False})
    identity = provider.identity("code-1", attempt)
    assert identity == ExternalIdentity(provider="stubby", subject="u-1", display_name="jdoe",
                                        preferred_username="jdoe", avatar_url="https://p.example/j.png")
    token_request = next(r for r in stub.requests if r.path == "/token")
    assert token_request.headers["Authorization"].startswith("Basic ")  # client_secret_basic preferred
    assert token_request.form["code_verifier"] == attempt.code_verifier


def test_a_failing_userinfo_leaves_the_id_tokens_claims(stub: JsonStub) -> None:
    provider = stub_provider(stub)
    attempt = new_attempt()
    issue_tokens(stub, attempt, name="Jane Doe", email="jane@example.com")
    stub.serve("/userinfo", {"error": "server_error"}, status=503)
    assert provider.identity("code-1", attempt) == ExternalIdentity(
        provider="stubby", subject="u-1", display_name="Jane Doe", email="jane@example.com")


def test_a_rotated_signing_key_is_fetched_once_and_accepted(stub: JsonStub) -> None:
    provider = stub_provider(stub)
    first = new_attempt()
    issue_tokens(stub, first)
    assert provider.identity("code-1", first).subject == "u-1"  # keys fetched and kept
    new_key = RSAKey.generate_key(2048, parameters={"kid": "rotated", "use": "sig"})
    stub.serve("/jwks", {"keys": [SIGNING_KEY.as_dict(private=False), new_key.as_dict(private=False)]})
    second = new_attempt()
    issue_tokens(stub, second, key=new_key)
    assert provider.identity("code-2", second).subject == "u-1"
    assert [r.path for r in stub.requests].count("/jwks") == 2


def test_a_token_endpoint_error_5xx_is_unreachable_and_a_bad_client_is_the_operators_problem(
        stub: JsonStub) -> None:
    provider = stub_provider(stub)
    stub.serve("/token", {"error": "temporarily_unavailable"}, status=502)
    with pytest.raises(ProviderError) as down:
        provider.identity("code-1", new_attempt())
    assert down.value.code == ErrorCode.PROVIDER_UNREACHABLE
    stub.serve("/token", {"error": "invalid_client"}, status=401)
    with pytest.raises(ProviderError) as misconfigured:
        provider.identity("code-1", new_attempt())
    assert misconfigured.value.code == ErrorCode.PROVIDER_REFUSED
    assert "operator" in misconfigured.value.message


def test_an_https_provider_is_trusted_through_its_ca_file_and_refused_without_it() -> None:
    identity = shared_identity()
    with JsonStub(tls=(identity.cert_file, identity.key_file)) as tls_stub:
        attempt = new_attempt()
        issue_tokens(tls_stub, attempt, name="Jane Doe")
        trusting = stub_provider(tls_stub, ca_file=identity.cert_file)
        assert trusting.authorization_url(attempt).startswith(tls_stub.url + "/authorize?")
        assert trusting.identity("code-1", attempt).display_name == "Jane Doe"
        with pytest.raises(ProviderError) as untrusted:
            stub_provider(tls_stub).authorization_url(new_attempt())
    assert untrusted.value.code == ErrorCode.PROVIDER_UNREACHABLE
    assert "certificate" in untrusted.value.detail.lower()


def test_an_https_provider_pointing_its_endpoints_at_plain_http_is_refused() -> None:
    identity = shared_identity()
    with JsonStub(tls=(identity.cert_file, identity.key_file)) as tls_stub:
        provider = stub_provider(tls_stub, ca_file=identity.cert_file, token_endpoint="http://127.0.0.1:1/t")
        with pytest.raises(ProviderError) as refused:
            provider.authorization_url(new_attempt())
    assert refused.value.code == ErrorCode.PROVIDER_UNREACHABLE
    assert "token_endpoint" in refused.value.detail


def test_a_provider_that_is_down_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = OidcProvider("down", "Down Inc", f"http://127.0.0.1:{port}", "c", "s",
                            allow_insecure_http=True)
    with pytest.raises(ProviderError) as unreachable:
        provider.authorization_url(new_attempt())
    assert unreachable.value.code == ErrorCode.PROVIDER_UNREACHABLE
    assert "Down Inc" in unreachable.value.message


def test_a_provider_that_never_answers_is_unreachable_after_the_read_timeout() -> None:
    with socket.socket() as stalled:
        stalled.bind(("127.0.0.1", 0))
        stalled.listen(4)  # the kernel completes the handshake; nobody ever reads or answers
        provider = OidcProvider("slow", "Slow", f"http://127.0.0.1:{stalled.getsockname()[1]}", "c", "s",
                                allow_insecure_http=True, connect_timeout=0.5, read_timeout=0.3)
        with pytest.raises(ProviderError) as unreachable:
            provider.authorization_url(new_attempt())
    assert unreachable.value.code == ErrorCode.PROVIDER_UNREACHABLE
    assert "Timeout" in unreachable.value.detail


# --- configuration ------------------------------------------------------------------------------

GOOD = {"issuer": "https://id.example.edu", "client_id": "mm", "client_secret": "very-secret-value"}


def test_from_config_takes_the_defaults_and_a_secret_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    provider = OidcProvider.from_config("school", {"issuer": GOOD["issuer"], "client_id": "mm",
                                                   "client_secret_file": str(secret_file)})
    assert (provider.display_name, provider.scopes) == ("school", ("openid", "profile", "email"))
    assert provider._client_secret == "from-a-file"


@pytest.mark.parametrize(("section", "complaint"), [
    ({"client_id": "mm", "client_secret": "very-secret-value"}, "issuer is missing"),
    ({**GOOD, "issuer": "http://id.example.edu"}, "https"),
    ({**GOOD, "issuer": "https://id.example.edu?x=1"}, "query"),
    ({**GOOD, "clientid": "typo"}, "unknown key"),
    ({**GOOD, "client_secret_file": "/nonexistent/secret"}, "exactly one"),
    ({"issuer": GOOD["issuer"], "client_id": "mm"}, "exactly one"),
    ({"issuer": GOOD["issuer"], "client_id": "mm", "client_secret_file": "/nonexistent/s"}, "cannot read"),
    ({**GOOD, "scopes": ["profile"]}, "openid"),
    ({**GOOD, "scopes": "openid profile"}, "list"),
    ({**GOOD, "ca_file": "/nonexistent/ca.pem"}, "ca_file"),
    ({**GOOD, "allow_insecure_http": "yes"}, "true or false"),
    ({**GOOD, "kind": "wechat"}, "kind"),
])
def test_from_config_explains_what_is_wrong_without_repeating_the_secret(
        section: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint) as wrong:
        OidcProvider.from_config("school", section)
    assert "'school'" in str(wrong.value)
    assert "very-secret-value" not in str(wrong.value)


def test_a_plain_http_issuer_is_accepted_only_when_allowed() -> None:
    provider = OidcProvider.from_config("test", {**GOOD, "issuer": "http://127.0.0.1:1",
                                                 "allow_insecure_http": True})
    assert provider.issuer == "http://127.0.0.1:1"
