"""The settings of a WeChat or QQ provider in providers.toml, checked so an operator's mistake is
reported at start-up in words, not met at the first login."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def platform_settings(name: str, section: Mapping[str, Any], kind: str, secret_key: str,
                      defaults: Mapping[str, str]) -> dict[str, str]:
    """The section's settings as strings, defaults filled in and the secret read from
    `<secret_key>_file` when given that way. Raises ValueError naming the provider and the key."""
    where = f"login provider {name!r} ({kind})"
    secret_file_key = f"{secret_key}_file"
    known = {"kind", "app_id", secret_key, secret_file_key, *defaults}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {', '.join(unknown)}; "
                         f"known ones are {', '.join(sorted(known))}")
    if section.get("kind", kind) != kind:
        raise ValueError(f"{where}: kind is {section['kind']!r}, expected {kind!r}")
    for key, value in section.items():
        if not isinstance(value, str):
            raise ValueError(f"{where}: {key} must be a string, not {type(value).__name__}")
    settings = {**defaults, **{k: v for k, v in section.items() if k != "kind"}}
    if not settings.get("app_id"):
        raise ValueError(f"{where}: app_id is missing")
    settings[secret_key] = _secret(where, settings, secret_key, secret_file_key)
    settings.pop(secret_file_key, None)
    for key in ("authorize_url", "api_base"):
        if not settings[key].startswith(("https://", "http://")):
            raise ValueError(f"{where}: {key} must be an http(s) URL, not {settings[key]!r}")
    return settings


def _secret(where: str, settings: Mapping[str, str], key: str, file_key: str) -> str:
    # The secret itself never appears in these messages; only where it should have come from.
    if key in settings and file_key in settings:
        raise ValueError(f"{where}: give {key} or {file_key}, not both")
    if file_key in settings:
        path = Path(settings[file_key])
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"{where}: cannot read {file_key} {str(path)!r}: {exc.strerror}") from None
        if not secret:
            raise ValueError(f"{where}: {file_key} {str(path)!r} is empty")
        return secret
    if not settings.get(key):
        raise ValueError(f"{where}: {key} (or {file_key}) is missing")
    return settings[key]
