"""Logging in (or linking an account) through a provider, from the client's request to its end.

The client asks (start_external_login, link_provider) and gets a start URL holding a one-time
ticket, which it opens in the person's browser. Our HTTP endpoint sends the browser on to the
provider (/oauth/<name>/start), the provider sends it back with a code (/oauth/<name>/callback),
the code is exchanged on the provider workers, the account found or made on the database
workers, and the outcome pushed to the waiting control connection as a `provider_login` message
(the browser gets a page saying the same). All state lives here, on the control loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from protocol.errors import DEFAULT_MESSAGES, ErrorCode, ProtocolError
from server.account_requests import profile_json
from server.db_worker_pool import DbWorkerPool, without_storage
from server.oauth.external_accounts import issue_login_token, login_token_hash, new_account_for_identity
from server.oauth.pending_logins import AT_PROVIDER, FINISHING, ISSUED, PendingLogin, PendingLogins
from server.oauth.provider import ExternalIdentity, Provider, ProviderError
from server.oauth.provider_avatar import download_avatar
from server.session import ControlClient
from server.storage.errors import IdentityTakenError, LastLoginMethodError, StorageError
from server.storage.records import UserRecord
from server.storage.storage import Storage
from server.web.http_message import HttpRequest, HttpResponse, html_page, redirect

if TYPE_CHECKING:
    from server.control_service import ControlService

log = logging.getLogger(__name__)

Respond = Callable[[HttpResponse], None]

# A provider call that has not answered by then is given up (the adapters' own timeouts are
# shorter: this only bounds a queue behind stalled providers).
PROVIDER_CALL_DEADLINE = 30.0

_PAGE_TITLE = "mini-meeting"
_DONE_TEXT = {
    "login": "You are logged in. Go back to mini-meeting; you can close this tab.",
    "link": "The account is linked. Go back to mini-meeting; you can close this tab.",
}
_UNKNOWN_LINK = "This login link has expired or was already used. Start again from mini-meeting."
_UNKNOWN_CALLBACK = "This login is unknown, already finished or expired. Start again from mini-meeting."
_CLIENT_GONE = ("The mini-meeting window that started this login has closed. Start again from "
                "mini-meeting.")


class ProviderLogins:
    """Handlers for the control requests and the two HTTP routes; state on the control loop."""

    def __init__(self, service: ControlService, providers: dict[str, Provider],
                 calls: DbWorkerPool | None) -> None:
        self.service = service
        self.providers = providers
        # Provider HTTP calls block for up to seconds: workers of their own, apart from the database's.
        self.calls = calls  # None while there are no providers
        self.pending = PendingLogins()

    # -- control requests --------------------------------------------------------

    def listing(self) -> list[dict[str, str]]:
        return [{"name": p.name, "display_name": p.display_name, "kind": p.kind}
                for p in self.providers.values()]

    def list_providers(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        self.service.reply(client, request_id, {"providers": self.listing()})

    def start_login(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        if client.session is not None:
            raise ProtocolError(ErrorCode.ALREADY_LOGGED_IN)
        self._begin(client, request_id, fields["provider"], "login")

    def start_link(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        self._begin(client, request_id, fields["provider"], "link")

    def unlink(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        name = fields["provider"]
        if name not in self.providers:
            raise ProtocolError(ErrorCode.UNKNOWN_PROVIDER)
        user_id = client.session.user_id

        def unlink(storage: Storage) -> list[str]:
            storage.unlink_identity(user_id, name)
            return storage.linked_providers(user_id)

        def done(linked: list[str] | None, error: StorageError | None) -> None:
            if isinstance(error, LastLoginMethodError):
                self.service.fail(client, request_id, ErrorCode.LAST_LOGIN_METHOD)
            elif error is not None:
                self.service.fail_storage(client, request_id, error)
            else:
                log.info("user %d unlinked %s", user_id, name)
                self.service.reply(client, request_id, {"linked_providers": linked})

        self.service.run_db(unlink, (), done)

    def cancel(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        """The person gave up (closed the app's dialog): the login or link is forgotten, so finishing
        it in the browser later changes nothing. Only the connection that began it may cancel it."""
        pending = self.pending.by_ticket(fields["ticket"])
        cancelled = pending is not None and pending.client is client
        if cancelled:
            self._forget(pending)
            log.info("%s login through %s cancelled at stage %s", pending.purpose, pending.provider.name,
                     pending.stage)
        self.service.reply(client, request_id, {"cancelled": cancelled})

    def resume_login(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        """Log in again with the login token a provider login gave (after a restart or a drop)."""
        if client.session is not None:
            raise ProtocolError(ErrorCode.ALREADY_LOGGED_IN)
        attempt = self.service.guesses.login_token(client.address)
        token_hash = login_token_hash(fields["token"])

        def done(user: UserRecord | None, error: StorageError | None) -> None:
            if error is not None:
                attempt.abandoned()
                self.service.fail_storage(client, request_id, error)
            elif user is None:
                attempt.failed()
                self.service.fail(client, request_id, ErrorCode.BAD_TOKEN,
                                  "This login has expired: log in again.")
            elif client.session is not None:
                attempt.succeeded()
                self.service.fail(client, request_id, ErrorCode.ALREADY_LOGGED_IN)
            elif not client.closed:
                attempt.succeeded()
                session = self.service.start_session(client, user)
                self.service.reply(client, request_id, self.service.accounts.login_result(session))

        self.service.run_db(lambda storage, now: storage.get_user_by_login_token(token_hash, now),
                            (time.time(),), done)

    def _begin(self, client: ControlClient, request_id: int, name: str, purpose: str) -> None:
        provider = self.providers.get(name)
        if provider is None:
            raise ProtocolError(ErrorCode.UNKNOWN_PROVIDER)
        self.service.guesses.provider_login(client.address)
        earlier = self.pending.of_client(client)
        if earlier is not None:
            self._forget(earlier)  # one at a time: its link now says it expired
        if self.pending.full():
            raise ProtocolError(ErrorCode.SERVER_BUSY, retry_after=5)
        base = self.service.public_url
        lifetime = self.service.config.provider_login_timeout
        pending = self.pending.begin(provider, client, purpose,
                                     f"{base}/oauth/{quote(name, safe='')}/callback", lifetime)
        pending.timer = self.service.loop.run_after(lifetime, partial(self._expired, pending))
        url = f"{base}/oauth/{quote(name, safe='')}/start?{urlencode({'ticket': pending.ticket})}"
        log.info("%s login through %s begun by %s", purpose, name, client.conn.peer_address)
        self.service.reply(client, request_id, {"ticket": pending.ticket, "url": url, "expires_in": lifetime})

    # -- the control connection goes, the time runs out ---------------------------

    def client_closed(self, client: ControlClient) -> None:
        pending = self.pending.of_client(client)
        if pending is not None:
            self._forget(pending)

    def _expired(self, pending: PendingLogin) -> None:
        pending.timer = None
        if self.pending.remove(pending):
            log.info("%s login through %s expired at stage %s", pending.purpose, pending.provider.name,
                     pending.stage)
            self._push(pending, error=(ErrorCode.LOGIN_EXPIRED, DEFAULT_MESSAGES[ErrorCode.LOGIN_EXPIRED]))

    def _forget(self, pending: PendingLogin) -> None:
        self.pending.remove(pending)
        if pending.timer is not None:
            self.service.loop.cancel(pending.timer)
            pending.timer = None

    # -- HTTP: /oauth/<name>/start and /oauth/<name>/callback (called on an I/O loop) -----

    def http_start(self, request: HttpRequest, params: dict[str, str], respond: Respond) -> None:
        self.service.loop.run_in_loop(partial(self._start_visited, params["provider"],
                                              request.query.get("ticket", ""), respond))

    def http_callback(self, request: HttpRequest, params: dict[str, str], respond: Respond) -> None:
        self.service.loop.run_in_loop(partial(self._callback, params["provider"], dict(request.query),
                                              respond))

    def _start_visited(self, name: str, ticket: str, respond: Respond) -> None:
        pending = self.pending.by_ticket(ticket)
        if pending is None or pending.provider.name != name or pending.stage != ISSUED:
            respond(html_page(410, _PAGE_TITLE, _UNKNOWN_LINK))
            return
        pending.stage = AT_PROVIDER  # the ticket is spent: a second visit gets the page above

        def done(outcome: str | ProviderError | None, error: StorageError | None) -> None:
            if isinstance(outcome, str):
                respond(redirect(outcome))
            else:
                self._failed(pending, _provider_error(outcome, error), respond)

        self._call_provider(_authorization_url, (pending.provider, pending.attempt), done)

    def _callback(self, name: str, query: dict[str, str], respond: Respond) -> None:
        pending = self.pending.by_state(query.get("state", ""))
        if pending is None or pending.provider.name != name or pending.stage != AT_PROVIDER:
            log.info("callback from %s with an unknown, finished or tampered state", name)
            respond(html_page(400, _PAGE_TITLE, _UNKNOWN_CALLBACK))
            return
        code = query.get("code", "")
        if "error" in query or not code:
            # OIDC and QQ send error=access_denied; WeChat comes back without a code when refused.
            log.info("%s login through %s refused at the provider (%s)", pending.purpose, name,
                     query.get("error", "no code")[:64])
            self._failed(pending, ProviderError(ErrorCode.PROVIDER_DENIED,
                                                DEFAULT_MESSAGES[ErrorCode.PROVIDER_DENIED]), respond)
            return
        pending.stage = FINISHING

        def identified(outcome: ExternalIdentity | ProviderError | None, error: StorageError | None) -> None:
            if not isinstance(outcome, ExternalIdentity):
                self._failed(pending, _provider_error(outcome, error), respond)
            elif pending.purpose == "login":
                self._log_in(pending, outcome, respond)
            else:
                self._link(pending, outcome, respond)

        self._call_provider(_identify, (pending.provider, code, pending.attempt), identified)

    # -- finishing --------------------------------------------------------------------

    def _log_in(self, pending: PendingLogin, identity: ExternalIdentity, respond: Respond) -> None:
        """The linked account; else (a first login) the provider's picture, then a new account."""
        lifetime = self.service.config.login_token_lifetime

        def with_token(storage: Storage, user: UserRecord | None) -> tuple[UserRecord, str] | None:
            return None if user is None else (user, issue_login_token(storage, user.id, lifetime))

        def create(avatar: bytes | None, _error: StorageError | None) -> None:
            # A picture that could not be had (None, or the call not answered) leaves the account without one.
            self.service.run_db(lambda storage: with_token(
                storage, new_account_for_identity(storage, identity, avatar)), (), found)

        def found(outcome: tuple[UserRecord, str] | None, error: StorageError | None) -> None:
            if error is not None:
                self._failed(pending, _storage_failure(error), respond)
            elif outcome is None:  # nobody linked yet: fetched only for a new account
                if identity.avatar_url:
                    self._call_provider(download_avatar, (identity.avatar_url,), create)
                else:
                    create(None, None)
            elif self._still_waiting(pending, respond):
                self._start_session(pending, *outcome, respond)

        self.service.run_db(lambda storage: with_token(
            storage, storage.get_user_by_identity(identity.provider, identity.subject)), (), found)

    def _start_session(self, pending: PendingLogin, user: UserRecord, token: str, respond: Respond) -> None:
        client = pending.client
        if client.session is not None:
            self._failed(pending, ProviderError(ErrorCode.ALREADY_LOGGED_IN,
                                                DEFAULT_MESSAGES[ErrorCode.ALREADY_LOGGED_IN]), respond)
            return
        self._forget(pending)
        session = self.service.start_session(client, user)
        log.info("login through %s: user %d", pending.provider.name, user.id)
        self._push(pending, result={**self.service.accounts.login_result(session), "login_token": token})
        respond(html_page(200, _PAGE_TITLE, _DONE_TEXT["login"]))

    def _link(self, pending: PendingLogin, identity: ExternalIdentity, respond: Respond) -> None:
        if not self._still_waiting(pending, respond):
            return
        session = pending.client.session
        if session is None:  # logged out meanwhile
            self._failed(pending, ProviderError(ErrorCode.NOT_LOGGED_IN,
                                                DEFAULT_MESSAGES[ErrorCode.NOT_LOGGED_IN]), respond)
            return
        user_id = session.user_id

        def link(storage: Storage) -> list[str]:
            storage.link_identity(user_id, identity.provider, identity.subject)
            return storage.linked_providers(user_id)

        def linked(providers: list[str] | None, error: StorageError | None) -> None:
            if isinstance(error, IdentityTakenError):
                self._failed(pending, ProviderError(ErrorCode.ALREADY_LINKED,
                                                    DEFAULT_MESSAGES[ErrorCode.ALREADY_LINKED]), respond)
            elif error is not None:
                self._failed(pending, _storage_failure(error), respond)
            elif self._still_waiting(pending, respond):
                self._forget(pending)
                log.info("user %d linked %s", user_id, identity.provider)
                self._push(pending, result={"linked_providers": providers,
                                            "user": profile_json(session.user)})
                respond(html_page(200, _PAGE_TITLE, _DONE_TEXT["link"]))

        self.service.run_db(link, (), linked)

    def _still_waiting(self, pending: PendingLogin, respond: Respond) -> bool:
        """Whether the login is still on (not expired) and its client still connected."""
        if pending.client.closed or self.pending.by_ticket(pending.ticket) is not pending:
            self._forget(pending)
            respond(html_page(410, _PAGE_TITLE, _CLIENT_GONE if pending.client.closed else _UNKNOWN_CALLBACK))
            return False
        return True

    def _failed(self, pending: PendingLogin, error: ProviderError, respond: Respond) -> None:
        if self.pending.by_ticket(pending.ticket) is pending:
            self._forget(pending)
            self._push(pending, error=(error.code, error.message))
        status = 502 if error.code == ErrorCode.PROVIDER_UNREACHABLE else 400
        respond(html_page(status, _PAGE_TITLE, error.message))

    def _push(self, pending: PendingLogin, *, result: dict[str, Any] | None = None,
              error: tuple[str, str] | None = None) -> None:
        message: dict[str, Any] = {"type": "provider_login", "ticket": pending.ticket,
                                   "purpose": pending.purpose, "provider": pending.provider.name}
        if result is not None:
            message["result"] = result
        else:
            code, text = error
            message["error"] = {"code": code, "message": text}
        self.service.send(pending.client, message)

    def _call_provider(self, job: Callable[..., Any], args: tuple, on_done: Callable[..., None]) -> None:
        assert self.calls is not None
        self.calls.submit(self.service.loop, without_storage(job), args, on_done,
                          deadline=PROVIDER_CALL_DEADLINE)


# -- on the provider workers -----------------------------------------------------------


def _authorization_url(provider: Provider, attempt: Any) -> str | ProviderError:
    try:
        return provider.authorization_url(attempt)
    except ProviderError as exc:
        _log_provider_error(provider, exc)
        return exc


def _identify(provider: Provider, code: str, attempt: Any) -> ExternalIdentity | ProviderError:
    try:
        return provider.identity(code, attempt)
    except ProviderError as exc:
        _log_provider_error(provider, exc)
        return exc


def _log_provider_error(provider: Provider, exc: ProviderError) -> None:
    log.warning("login through %s failed: %s (%s)", provider.name, exc.code, exc.detail or exc.message)


def _provider_error(outcome: Any, error: StorageError | None) -> ProviderError:
    """What the pool gave back instead of an answer: the adapter's ProviderError, or a call that
    never ran or overran its deadline (the provider workers are all stuck or busy)."""
    if isinstance(outcome, ProviderError):
        return outcome
    log.warning("provider call not answered: %s", error)
    return ProviderError(ErrorCode.PROVIDER_UNREACHABLE, DEFAULT_MESSAGES[ErrorCode.PROVIDER_UNREACHABLE])


def _storage_failure(error: StorageError) -> ProviderError:
    return ProviderError(ErrorCode.DATABASE_UNAVAILABLE, DEFAULT_MESSAGES[ErrorCode.DATABASE_UNAVAILABLE],
                         str(error))
