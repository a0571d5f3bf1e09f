"""The ID token checks, with tokens we sign ourselves against a key set we control: a token that passes
is accepted, and each way a forged, stale, misdirected or replayed token differs is refused."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet, OctKey, RSAKey

from server.oauth.id_token_check import IdTokenExpectations, IdTokenRejected, verify_id_token

ISSUER = "https://id.example.edu"
CLIENT_ID = "mini-meeting"
CLIENT_SECRET = "s3cret-of-the-client-0123456789abcdef"
NONCE = "n-0S6_WzA2Mj"

SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "current", "use": "sig"})
NEXT_KEY = RSAKey.generate_key(2048, parameters={"kid": "next", "use": "sig"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "current", "use": "sig"})  # same kid, not theirs
EXPECT = IdTokenExpectations(ISSUER, CLIENT_ID, NONCE, ("RS256",))


def published(*keys: RSAKey) -> KeySet:
    """The provider's JWKS as a client sees it: public halves only."""
    return KeySet.import_key_set({"keys": [key.as_dict(private=False) for key in keys]})


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "sub": "248289761001", "aud": CLIENT_ID, "exp": now + 300, "iat": now,
            "nonce": NONCE, "name": "Jane Doe"}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def signed(payload: dict[str, Any], key: RSAKey | OctKey = SIGNING_KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, payload, key)


def verify(token: str, keys: KeySet | None = None, expect: IdTokenExpectations = EXPECT) -> dict[str, Any]:
    key_set = keys or published(SIGNING_KEY)
    return verify_id_token(token, lambda refresh: key_set, expect)


def test_a_genuine_token_is_accepted_with_its_claims() -> None:
    accepted = verify(signed(claims()))
    assert accepted["sub"] == "248289761001"
    assert accepted["name"] == "Jane Doe"


@pytest.mark.parametrize(("change", "reason"), [
    ({"aud": "another-app"}, "aud"),
    ({"aud": None}, "aud"),
    ({"iss": "https://evil.example"}, "iss"),
    ({"nonce": "another-login"}, "nonce"),
    ({"nonce": None}, "nonce"),
    ({"sub": None}, "sub"),
    ({"exp": int(time.time()) - 3600}, "exp"),
    ({"iat": int(time.time()) + 600}, "iat"),
])
def test_a_token_with_a_wrong_claim_is_refused_naming_it(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(IdTokenRejected, match=reason):
        verify(signed(claims(**change)))


def test_clock_skew_within_a_minute_is_tolerated() -> None:
    now = int(time.time())
    assert verify(signed(claims(exp=now - 20, iat=now + 20)))["sub"]


def test_several_audiences_need_us_as_the_authorized_party() -> None:
    audiences = [CLIENT_ID, "another-app"]
    with pytest.raises(IdTokenRejected, match="azp"):
        verify(signed(claims(aud=audiences)))
    with pytest.raises(IdTokenRejected, match="azp"):
        verify(signed(claims(aud=audiences, azp="another-app")))
    assert verify(signed(claims(aud=audiences, azp=CLIENT_ID)))["sub"]


def test_a_token_signed_by_another_key_under_the_providers_key_id_is_refused() -> None:
    with pytest.raises(IdTokenRejected, match="Signature"):
        verify(signed(claims(), OTHER_KEY))


def test_an_unsigned_token_is_refused() -> None:
    with pytest.warns(SecurityWarning):  # joserfc, rightly, frowns at making one at all
        unsigned = jwt.encode({"alg": "none"}, claims(), OctKey.import_key("x" * 32), algorithms=["none"])
    with pytest.raises(IdTokenRejected):
        verify(unsigned)


def test_a_token_signed_with_the_client_secret_is_refused_when_the_provider_announced_rs256() -> None:
    secret_key = OctKey.import_key(CLIENT_SECRET, parameters={"kid": "current"})
    forged = signed(claims(), secret_key, "HS256")
    with pytest.raises(IdTokenRejected):
        verify_id_token(forged, lambda refresh: KeySet([secret_key]), EXPECT)


def test_verifying_with_none_among_the_algorithms_is_refused_outright() -> None:
    with pytest.raises(IdTokenRejected, match="none"):
        verify(signed(claims()), expect=IdTokenExpectations(ISSUER, CLIENT_ID, NONCE, ("RS256", "none")))


def test_a_token_under_a_new_key_fetches_the_keys_once_more() -> None:
    fetches: list[bool] = []

    def keys(refresh: bool) -> KeySet:
        fetches.append(refresh)
        return published(SIGNING_KEY, NEXT_KEY) if refresh else published(SIGNING_KEY)

    assert verify_id_token(signed(claims(), NEXT_KEY), keys, EXPECT)["sub"]
    assert fetches == [False, True]


def test_a_key_the_provider_never_published_is_refused_after_one_more_fetch() -> None:
    fetches: list[bool] = []

    def keys(refresh: bool) -> KeySet:
        fetches.append(refresh)
        return published(SIGNING_KEY)

    with pytest.raises(IdTokenRejected):
        verify_id_token(signed(claims(), NEXT_KEY), keys, EXPECT)
    assert fetches == [False, True]


def test_garbage_is_refused() -> None:
    with pytest.raises(IdTokenRejected):
        verify("not.a.token")
