"""Reading one OpenID Connect provider's section of providers.toml, with errors an operator can act on."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_SCOPES = ("openid", "profile", "email")
KNOWN_KEYS = frozenset({"kind", "display_name", "issuer", "client_id", "client_secret", "client_secret_file",
                        "scopes", "ca_file", "allow_insecure_http"})


@dataclass(frozen=True)
class OidcSettings:
    """An OpenID Connect provider's configuration, checked."""

    display_name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    ca_file: str | None
    allow_insecure_http: bool


def check_issuer(name: str, issuer: str, allow_insecure_http: bool) -> None:
    """An issuer is an https URL without query or fragment (OIDC Core 2); http only when allowed (tests)."""
    parts = urllib.parse.urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"provider {name!r}: issuer {issuer!r} must be an https:// URL with no ?query or #")
    if parts.scheme == "http" and not allow_insecure_http:
        raise ValueError(f"provider {name!r}: issuer {issuer!r} is plain http; production providers are "
                         f"https (set allow_insecure_http = true only for a test provider)")


def read_settings(name: str, section: Mapping[str, Any]) -> OidcSettings:
    """Check a providers.toml section; raises ValueError naming the provider and the key at fault."""
    unknown = sorted(set(section) - KNOWN_KEYS)
    if unknown:
        raise ValueError(f"provider {name!r}: unknown key(s) {', '.join(unknown)}; "
                         f"known keys are {', '.join(sorted(KNOWN_KEYS))}")
    # The registry may pass the section with its `kind` (it chose this class by it).
    if section.get("kind", "oidc") != "oidc":
        raise ValueError(f"provider {name!r}: kind {section.get('kind')!r} is not an OpenID Connect provider")
    allow_insecure_http = section.get("allow_insecure_http", False)
    if not isinstance(allow_insecure_http, bool):
        raise ValueError(f"provider {name!r}: allow_insecure_http must be true or false")
    issuer = _text(name, section, "issuer")
    check_issuer(name, issuer, allow_insecure_http)
    display_name = _text(name, section, "display_name") if "display_name" in section else name
    scopes = section.get("scopes", list(DEFAULT_SCOPES))
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise ValueError(f"provider {name!r}: scopes must be a list of words, e.g. {list(DEFAULT_SCOPES)}")
    if "openid" not in scopes:
        raise ValueError(f"provider {name!r}: scopes must include \"openid\" (that makes it OpenID Connect)")
    ca_file = section.get("ca_file")
    if ca_file is not None and (not isinstance(ca_file, str) or not os.path.isfile(ca_file)):
        raise ValueError(f"provider {name!r}: ca_file {ca_file!r} is not a readable file")
    return OidcSettings(display_name, issuer, _text(name, section, "client_id"),
                        _client_secret(name, section), tuple(scopes), ca_file, allow_insecure_http)


def _text(name: str, section: Mapping[str, Any], key: str) -> str:
    value = section.get(key)
    if value is None:
        raise ValueError(f"provider {name!r}: {key} is missing")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"provider {name!r}: {key} must be a non-empty string")
    return value.strip()


def _client_secret(name: str, section: Mapping[str, Any]) -> str:
    # Never put the secret itself in an error message: it ends up in logs.
    if ("client_secret" in section) == ("client_secret_file" in section):
        raise ValueError(f"provider {name!r}: give exactly one of client_secret and client_secret_file")
    if "client_secret" in section:
        secret = section["client_secret"]
        if not isinstance(secret, str) or not secret:
            raise ValueError(f"provider {name!r}: client_secret must be a non-empty string")
        return secret
    path = _text(name, section, "client_secret_file")
    try:
        with open(path, encoding="utf-8") as secret_file:
            secret = secret_file.read().strip()
    except OSError as exc:
        raise ValueError(f"provider {name!r}: cannot read client_secret_file {path!r}: "
                         f"{exc.strerror}") from None
    if not secret:
        raise ValueError(f"provider {name!r}: client_secret_file {path!r} is empty")
    return secret
