"""Logging in with any OpenID Connect provider: the authorization-code flow with PKCE (S256), state and
nonce; the ID token verified against the provider's published keys; the profile from userinfo.

Every method blocks on HTTP (with timeouts) and runs on the worker pool. Authlib's client classes used
here do not look at AUTHLIB_INSECURE_TRANSPORT (only its server-side classes do), so an http:// test
provider works with allow_insecure_http alone, without that variable in the server's environment."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from protocol.errors import ErrorCode
from server.oauth.id_token_check import IdTokenExpectations, IdTokenRejected, verify_id_token
from server.oauth.jwks_cache import JwksCache
from server.oauth.oidc_discovery import DiscoveryCache, OidcMetadata
from server.oauth.oidc_settings import DEFAULT_SCOPES, check_issuer, read_settings
from server.oauth.provider import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    ExternalIdentity,
    LoginAttempt,
    Provider,
    ProviderError,
)
from server.oauth.provider_http import ProviderHttp

log = logging.getLogger(__name__)

REFUSED_MESSAGE = "The login could not be verified: start again."
MISCONFIGURED_MESSAGE = "The login provider {name} does not accept this server: tell the server's operator."
# Token endpoint errors that mean our configuration (client id, secret, registration) is wrong.
CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client", "unsupported_grant_type",
                           "invalid_scope"})


class OidcProvider(Provider):
    """One configured OpenID Connect provider (a school's Keycloak, Google, Authentik...)."""

    kind = "oidc"

    def __init__(self, name: str, display_name: str, issuer: str, client_id: str, client_secret: str,
                 scopes: tuple[str, ...] = DEFAULT_SCOPES, ca_file: str | None = None,
                 allow_insecure_http: bool = False, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT) -> None:
        super().__init__(name, display_name)
        check_issuer(name, issuer, allow_insecure_http)
        self.issuer = issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = tuple(scopes)
        self._http = ProviderHttp(display_name, ca_file, connect_timeout, read_timeout)
        self._discovery = DiscoveryCache(self._http, issuer, allow_insecure_http)
        self._keys = JwksCache(self._http)

    @classmethod
    def from_config(cls, name: str, section: Mapping[str, Any]) -> OidcProvider:
        """A provider from its providers.toml section; raises ValueError an operator can act on."""
        settings = read_settings(name, section)
        return cls(name, settings.display_name, settings.issuer, settings.client_id, settings.client_secret,
                   settings.scopes, settings.ca_file, settings.allow_insecure_http)

    def __repr__(self) -> str:  # no secret in any log line that prints a provider
        return f"OidcProvider({self.name!r}, issuer={self.issuer!r}, client_id={self.client_id!r})"

    def authorization_url(self, attempt: LoginAttempt) -> str:
        metadata = self._discovery.get()
        return prepare_grant_uri(
            metadata.authorization_endpoint, client_id=self.client_id, response_type="code",
            redirect_uri=attempt.redirect_uri, scope=" ".join(self.scopes), state=attempt.state,
            nonce=attempt.nonce, code_challenge=create_s256_code_challenge(attempt.code_verifier),
            code_challenge_method="S256")

    def identity(self, code: str, attempt: LoginAttempt) -> ExternalIdentity:
        metadata = self._discovery.get()
        tokens = self._exchange(code, attempt, metadata)
        access_token = tokens.get("access_token")
        access_token = access_token if isinstance(access_token, str) else ""
        expect = IdTokenExpectations(self.issuer, self.client_id, attempt.nonce,
                                     metadata.id_token_algorithms, access_token)
        try:
            claims = verify_id_token(tokens["id_token"],
                                     lambda refresh: self._keys.get(metadata.jwks_uri, refresh), expect)
        except IdTokenRejected as exc:
            raise self._refused(f"ID token rejected: {exc}") from None
        profile = self._userinfo(metadata, access_token, claims["sub"])
        return self._identity_from({**claims, **profile})

    def _exchange(self, code: str, attempt: LoginAttempt, metadata: OidcMetadata) -> dict[str, Any]:
        """The token endpoint's answer for the callback's code; it must hold an id_token."""
        what = "the token request"
        with OAuth2Session(self.client_id, self._client_secret, redirect_uri=attempt.redirect_uri,
                           token_endpoint_auth_method=metadata.token_auth_method) as session:
            try:
                # verify per request, not on the session: requests lets REQUESTS_CA_BUNDLE override that.
                tokens = session.fetch_token(metadata.token_endpoint, grant_type="authorization_code",
                                             code=code, code_verifier=attempt.code_verifier,
                                             timeout=self._http.timeout, verify=self._http.verify,
                                             allow_redirects=False)
            except OAuthError as exc:
                raise self._token_error(exc.error, exc.description) from None
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                if status >= 500:
                    raise self._http.unreachable(what, f"HTTP {status}") from None
                raise self._refused(f"{what}: HTTP {status} without an OAuth error") from None
            except requests.RequestException as exc:
                raise self._http.unreachable(what, f"{type(exc).__name__}: {exc}") from None
            except ValueError as exc:
                raise self._http.unreachable(what, f"answer not understood: {exc}") from None
        if not isinstance(tokens.get("id_token"), str):
            raise self._refused(f"{what}: the answer holds no id_token (is scope 'openid' granted?)")
        return dict(tokens)

    def _token_error(self, error: str, description: str | None) -> ProviderError:
        detail = f"token endpoint answered {error}: {description or ''}"
        if error in CLIENT_ERRORS:
            log.error("provider %s: %s; check client_id, client_secret and the redirect URI registered "
                      "there", self.name, detail)
            return ProviderError(ErrorCode.PROVIDER_REFUSED,
                                 MISCONFIGURED_MESSAGE.format(name=self.display_name), detail)
        # invalid_grant: the code was used already, expired, or its PKCE verifier does not match.
        return self._refused(detail)

    def _refused(self, detail: str) -> ProviderError:
        log.warning("provider %s: login refused: %s", self.name, detail)
        return ProviderError(ErrorCode.PROVIDER_REFUSED, REFUSED_MESSAGE, detail)

    def _userinfo(self, metadata: OidcMetadata, access_token: str, subject: str) -> dict[str, Any]:
        """The profile from userinfo, or {} when there is none or it fails (the ID token suffices)."""
        if not metadata.userinfo_endpoint or not access_token:
            return {}
        try:
            profile = self._http.get_json(metadata.userinfo_endpoint, "userinfo",
                                          headers={"Authorization": f"Bearer {access_token}"})
        except ProviderError:
            log.warning("provider %s: continuing with the ID token's claims only", self.name)
            return {}
        if profile.get("sub") != subject:
            # Another person's profile (OIDC Core 5.3.2): a token substitution, never to be merged.
            raise self._refused("userinfo is about another subject than the ID token")
        return profile

    def _identity_from(self, claims: Mapping[str, Any]) -> ExternalIdentity:
        def text(key: str) -> str:
            value = claims.get(key)
            return value.strip() if isinstance(value, str) else ""

        picture = text("picture")
        return ExternalIdentity(
            provider=self.name,
            subject=claims["sub"],
            display_name=text("name") or text("preferred_username") or text("given_name"),
            preferred_username=text("preferred_username"),
            # An address the provider says it did not verify could be anyone's: not passed on.
            email=text("email") if claims.get("email_verified") is not False else "",
            avatar_url=picture if picture.startswith(("https://", "http://")) else "",
        )
