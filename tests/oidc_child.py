"""One OidcProvider call in a process of its own, as the server will make it: the environment is the
caller's (tests remove AUTHLIB_INSECURE_TRANSPORT from it). Reads JSON on stdin, writes JSON on stdout.

Input: {"name", "section", "attempt": LoginAttempt's fields, "code" (absent: build the authorization URL)}.
Output: {"url": ...} or {"identity": ExternalIdentity's fields} or {"error": code, "message": ...}."""

from __future__ import annotations

import dataclasses
import json
import sys

from server.oauth.oidc_provider import OidcProvider
from server.oauth.provider import LoginAttempt, ProviderError


def main() -> None:
    request = json.load(sys.stdin)
    provider = OidcProvider.from_config(request["name"], request["section"])
    attempt = LoginAttempt(**request["attempt"])
    try:
        if "code" in request:
            answer = {"identity": dataclasses.asdict(provider.identity(request["code"], attempt))}
        else:
            answer = {"url": provider.authorization_url(attempt)}
    except ProviderError as exc:
        answer = {"error": exc.code, "message": exc.message}
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
