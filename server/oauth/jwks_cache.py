"""A provider's signing keys (its JWKS), fetched once and fetched again when a token names a key we do not
have: that is how providers rotate keys, announcing the new one before they sign with it."""

from __future__ import annotations

import threading

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from server.oauth.provider_http import ProviderHttp


class JwksCache:
    """The key set at one provider's jwks_uri (a new URI, after discovery changed, means a new fetch)."""

    def __init__(self, http: ProviderHttp) -> None:
        self._http = http
        self._lock = threading.Lock()
        self._uri = ""
        self._keys: KeySet | None = None

    def get(self, jwks_uri: str, refresh: bool = False) -> KeySet:
        """The keys, fetched when not held, or when refresh is asked; raises ProviderError. Blocks."""
        with self._lock:
            if refresh or self._keys is None or self._uri != jwks_uri:
                self._keys = self._fetch(jwks_uri)
                self._uri = jwks_uri
            return self._keys

    def _fetch(self, jwks_uri: str) -> KeySet:
        document = self._http.get_json(jwks_uri, "fetching the signing keys")
        try:
            return KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise self._http.unreachable("fetching the signing keys", f"unusable key set: {exc!r}") from None
