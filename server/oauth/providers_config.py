"""The login providers a server offers, read from a TOML file (see README, "Logging in through a provider").

    [providers.school]          # the name: in URLs (/oauth/school/callback) and in the database
    kind = "oidc"               # "oidc", "wechat" or "qq"; the other keys depend on the kind
    display_name = "School account"
    issuer = "https://id.school.example/realms/main"
    client_id = "mini-meeting"
    client_secret_file = "/etc/mini-meeting/school.secret"
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

from server.oauth.provider import Provider

# Where each kind's adapter lives; imported only when a provider of that kind is configured.
_KINDS = {
    "oidc": ("server.oauth.oidc_provider", "OidcProvider"),
    "wechat": ("server.oauth.wechat_provider", "WeChatProvider"),
    "qq": ("server.oauth.qq_provider", "QQProvider"),
}
# In URL paths and stored with every linked account: short, lower case, never renamed.
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


class ProvidersConfigError(ValueError):
    """The providers file cannot be used; the message says where and why, for the operator."""


def load_providers(path: str | Path) -> dict[str, Provider]:
    """Every provider the file configures, by name, in the file's order."""
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as exc:
        raise ProvidersConfigError(f"{path}: cannot read the providers file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProvidersConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(document) - {"providers"}
    if unknown:
        raise ProvidersConfigError(f"{path}: unknown top-level key {sorted(unknown)[0]!r}: "
                                   "providers go in [providers.NAME] tables")
    sections = document.get("providers", {})
    providers: dict[str, Provider] = {}
    for name, section in sections.items():
        providers[name] = _provider(path, name, section)
    return providers


def _provider(path: str | Path, name: str, section: object) -> Provider:
    where = f"{path}: [providers.{name}]"
    if not _NAME.fullmatch(name):
        raise ProvidersConfigError(f"{where}: a provider's name is 1 to 32 lower-case letters, digits, "
                                   "'-' or '_' (it appears in the callback URL)")
    if not isinstance(section, dict):
        raise ProvidersConfigError(f"{where} must be a table")
    kind = section.get("kind")
    if kind not in _KINDS:
        raise ProvidersConfigError(f"{where}: 'kind' must be one of {', '.join(_KINDS)}, not {kind!r}")
    module_name, class_name = _KINDS[kind]
    adapter = getattr(importlib.import_module(module_name), class_name)
    try:
        return adapter.from_config(name, {key: value for key, value in section.items() if key != "kind"})
    except (ValueError, TypeError, OSError) as exc:
        raise ProvidersConfigError(f"{where}: {exc}") from None
