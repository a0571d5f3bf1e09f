"""OpenID Connect Discovery: where a provider's endpoints and keys are, and which of its answers we accept.

The document is fetched from `{issuer}/.well-known/openid-configuration` and must name the very issuer
we asked (OIDC Discovery 4.3, RFC 8414 3.3): a document that names another could redirect logins."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from server.oauth.provider_http import ProviderHttp

# How long a discovery document is trusted before it is fetched again.
DISCOVERY_TTL = 3600.0

# ID token signature algorithms we verify: public-key ones only. "none" never; HS* would make the
# client secret a signing key, so it is refused even when a provider announces it.
PUBLIC_KEY_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                         "ES256", "ES384", "ES512", "EdDSA", "Ed25519")

# How we authenticate at the token endpoint, in order of preference.
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class OidcMetadata:
    """What a provider's discovery document told us, reduced to what a login uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str  # "" when the provider has none
    id_token_algorithms: tuple[str, ...]
    token_auth_method: str


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


class DiscoveryRefused(ValueError):
    """The provider answered, but with a document we must not use."""


def parse_metadata(document: dict[str, Any], issuer: str, allow_insecure_http: bool) -> OidcMetadata:
    """Check a discovery document against the configured issuer; raises DiscoveryRefused."""
    if document.get("issuer") != issuer:
        raise DiscoveryRefused(f"the document names issuer {document.get('issuer')!r}, not {issuer!r}")
    endpoints = {}
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        value = document.get(key, "")
        if not isinstance(value, str) or (not value and key != "userinfo_endpoint"):
            raise DiscoveryRefused(f"the document lacks {key}")
        if value and not _acceptable_url(value, allow_insecure_http):
            raise DiscoveryRefused(f"{key} {value!r} is not an https URL")
        endpoints[key] = value
    announced = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(alg for alg in PUBLIC_KEY_ALGORITHMS if alg in announced)
    if not algorithms:
        raise DiscoveryRefused(f"it signs ID tokens only with {announced!r}, none of {PUBLIC_KEY_ALGORITHMS}")
    # The default when absent is client_secret_basic (OIDC Discovery 3).
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth_method = next((m for m in CLIENT_AUTH_METHODS if m in methods), "")
    if not auth_method:
        raise DiscoveryRefused(f"its token endpoint takes only {methods!r}, none of {CLIENT_AUTH_METHODS}")
    return OidcMetadata(issuer, endpoints["authorization_endpoint"], endpoints["token_endpoint"],
                        endpoints["jwks_uri"], endpoints["userinfo_endpoint"], algorithms, auth_method)


def _acceptable_url(url: str, allow_insecure_http: bool) -> bool:
    return url.startswith("https://") or (allow_insecure_http and url.startswith("http://"))


class DiscoveryCache:
    """The provider's metadata, fetched when first needed and again after DISCOVERY_TTL; a failed fetch
    is not remembered, so the next login tries again."""

    def __init__(self, http: ProviderHttp, issuer: str, allow_insecure_http: bool) -> None:
        self._http = http
        self._issuer = issuer
        self._allow_insecure_http = allow_insecure_http
        # Held while fetching: logins that arrive meanwhile wait for that answer instead of each asking.
        self._lock = threading.Lock()
        self._metadata: OidcMetadata | None = None
        self._fetched_at = 0.0

    def get(self) -> OidcMetadata:
        """The metadata; raises ProviderError(PROVIDER_UNREACHABLE) when it cannot be had. Blocks."""
        with self._lock:
            if self._metadata is None or time.monotonic() - self._fetched_at > DISCOVERY_TTL:
                self._metadata = self._fetch()
                self._fetched_at = time.monotonic()
            return self._metadata

    def _fetch(self) -> OidcMetadata:
        document = self._http.get_json(discovery_url(self._issuer), "discovery")
        try:
            return parse_metadata(document, self._issuer, self._allow_insecure_http)
        except DiscoveryRefused as exc:
            raise self._http.unreachable("discovery", f"refused: {exc}") from None
