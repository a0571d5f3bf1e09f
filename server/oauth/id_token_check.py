"""Whether an ID token really says who logged in: signed by the provider with an algorithm it announced,
for us, from the issuer, fresh, and for this very login (its nonce). joserfc and Authlib do the checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ClaimError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

# Seconds of clock difference between us and the provider tolerated on exp and iat.
LEEWAY = 60


class IdTokenRejected(Exception):
    """The ID token failed a check; the message says which, for the log."""


@dataclass(frozen=True)
class IdTokenExpectations:
    """What this login's ID token must show."""

    issuer: str
    client_id: str
    nonce: str
    algorithms: tuple[str, ...]  # what the provider announced and we verify; never "none"
    access_token: str = ""  # when given, the token's at_hash (if any) must match it


# Given refresh=True, fetch the provider's keys again (a token naming an unknown key: rotation).
KeySource = Callable[[bool], KeySet]


def verify_id_token(id_token: str, keys: KeySource, expect: IdTokenExpectations,
                    leeway: int = LEEWAY) -> dict[str, Any]:
    """The token's claims once every check passed; raises IdTokenRejected (or the key source's error)."""
    if not expect.algorithms or "none" in expect.algorithms:
        raise IdTokenRejected(f"refusing to verify with algorithms {expect.algorithms!r}")
    # strict_check_header off: providers add header fields (typ, x5t) that do not weaken anything.
    registry = JWSRegistry(algorithms=list(expect.algorithms), strict_check_header=False)
    try:
        try:
            token = jwt.decode(id_token, keys(False), registry=registry)
        except InvalidKeyIdError:
            token = jwt.decode(id_token, keys(True), registry=registry)
        claims = CodeIDToken(token.claims, token.header, _claim_options(expect),
                             {"nonce": expect.nonce, "client_id": expect.client_id,
                              "access_token": expect.access_token})
        claims.validate(leeway=leeway)
    except ClaimError as exc:
        raise IdTokenRejected(f"claim {exc.claim!r}: {exc}") from None
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise IdTokenRejected(f"{type(exc).__name__}: {exc}") from None
    return dict(claims)


def _claim_options(expect: IdTokenExpectations) -> dict[str, Any]:
    # `aud` may be a list: joserfc accepts it when it contains client_id; CodeIDToken then requires
    # azp == client_id when there are other audiences.
    return {
        "iss": {"essential": True, "value": expect.issuer},
        "aud": {"essential": True, "value": expect.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True, "value": expect.nonce},
    }
