"""One GET to WeChat or QQ, as their adapters need it: with timeouts, the body decoded as UTF-8,
and every way of not getting an answer turned into PROVIDER_UNREACHABLE."""

from __future__ import annotations

import requests

from protocol.errors import ErrorCode
from server.oauth.provider import ProviderError
from server.oauth.query_redaction import guard_urllib3_log

guard_urllib3_log()


def fetch_text(url: str, params: dict[str, str], platform: str, timeouts: tuple[float, float]) -> str:
    """The body of GET url?params, decoded as UTF-8 whatever the Content-Type says (WeChat sends
    JSON as text/plain without a charset, which requests would read as Latin-1).

    Raises ProviderError: PROVIDER_UNREACHABLE for no answer, a timeout or a 5xx, PROVIDER_REFUSED
    for another status. The detail never holds the URL: its query carries secrets and codes.
    """
    unreachable = f"{platform} could not be reached: try again later."
    try:
        response = requests.get(url, params=params, timeout=timeouts, allow_redirects=False)
    except requests.Timeout:
        raise ProviderError(ErrorCode.PROVIDER_UNREACHABLE, f"{platform} did not answer in time: "
                            "try again later.", f"timed out calling {url}") from None
    except requests.RequestException as exc:
        # str(exc) names the full URL, query and all: only the kind of failure is kept.
        raise ProviderError(ErrorCode.PROVIDER_UNREACHABLE, unreachable,
                            f"{type(exc).__name__} calling {url}") from None
    status = response.status_code
    if status >= 500:
        raise ProviderError(ErrorCode.PROVIDER_UNREACHABLE, unreachable, f"HTTP {status} from {url}")
    if status != 200:
        raise ProviderError(ErrorCode.PROVIDER_REFUSED, f"{platform}'s answer could not be accepted: "
                            "try again.", f"HTTP {status} from {url}")
    return response.content.decode("utf-8", errors="replace")
