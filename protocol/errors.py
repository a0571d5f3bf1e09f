"""Error codes: each failure a person can meet has its own code and message."""

from __future__ import annotations


class ErrorCode:
    """Codes carried in error replies `{"code": ..., "message": ...}`."""

    BAD_REQUEST = "BAD_REQUEST"
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    HELLO_FIRST = "HELLO_FIRST"
    INVALID_NAME = "INVALID_NAME"
    INVALID_PASSWORD = "INVALID_PASSWORD"
    NAME_TAKEN = "NAME_TAKEN"
    # Not sent by this server any more: login answers WRONG_PASSWORD for an unknown name too, so
    # that no reply tells which names exist. Kept for older servers and the asyncio baseline.
    UNKNOWN_USER = "UNKNOWN_USER"
    WRONG_PASSWORD = "WRONG_PASSWORD"
    RATE_LIMITED = "RATE_LIMITED"
    SERVER_BUSY = "SERVER_BUSY"
    NOT_LOGGED_IN = "NOT_LOGGED_IN"
    ALREADY_LOGGED_IN = "ALREADY_LOGGED_IN"
    BAD_TOKEN = "BAD_TOKEN"
    MEDIA_ALREADY_CONNECTED = "MEDIA_ALREADY_CONNECTED"
    UNKNOWN_ROOM = "UNKNOWN_ROOM"
    WRONG_ROOM_PASSWORD = "WRONG_ROOM_PASSWORD"
    ROOM_FULL = "ROOM_FULL"
    ALREADY_IN_ROOM = "ALREADY_IN_ROOM"
    ROOM_QUOTA = "ROOM_QUOTA"
    NOT_IN_ROOM = "NOT_IN_ROOM"
    AVATAR_TOO_LARGE = "AVATAR_TOO_LARGE"
    BAD_AVATAR = "BAD_AVATAR"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    # Logging in through a provider (OpenID Connect, WeChat, QQ)
    UNKNOWN_PROVIDER = "UNKNOWN_PROVIDER"
    PROVIDER_DENIED = "PROVIDER_DENIED"
    PROVIDER_UNREACHABLE = "PROVIDER_UNREACHABLE"
    PROVIDER_REFUSED = "PROVIDER_REFUSED"
    LOGIN_EXPIRED = "LOGIN_EXPIRED"
    LAST_LOGIN_METHOD = "LAST_LOGIN_METHOD"
    ALREADY_LINKED = "ALREADY_LINKED"
    INTERNAL_ERROR = "INTERNAL_ERROR"


# The message a person reads when the code alone is all that is known.
DEFAULT_MESSAGES: dict[str, str] = {
    ErrorCode.BAD_REQUEST: "The request is malformed.",
    ErrorCode.UNKNOWN_TYPE: "The server does not know this kind of request.",
    ErrorCode.UNSUPPORTED_VERSION: "This client speaks a protocol version the server does not support.",
    ErrorCode.HELLO_FIRST: "Say hello (with the protocol version) before anything else.",
    ErrorCode.INVALID_NAME: "User names are 1 to 32 letters, digits or punctuation, without spaces.",
    ErrorCode.INVALID_PASSWORD: "Passwords are 8 to 128 characters, and not a common one.",
    ErrorCode.NAME_TAKEN: "That user name is already taken.",
    ErrorCode.UNKNOWN_USER: "There is no account with that user name.",
    ErrorCode.WRONG_PASSWORD: "Wrong user name or password.",
    ErrorCode.RATE_LIMITED: "Too many attempts: wait a moment and try again.",
    ErrorCode.SERVER_BUSY: "The server is busy checking passwords: try again in a moment.",
    ErrorCode.NOT_LOGGED_IN: "Log in first.",
    ErrorCode.ALREADY_LOGGED_IN: "This connection is already logged in.",
    ErrorCode.BAD_TOKEN: "The session token is wrong or has expired: log in again.",
    ErrorCode.MEDIA_ALREADY_CONNECTED: "This session already has a live connection for this stream.",
    ErrorCode.UNKNOWN_ROOM: "There is no room with that id.",
    ErrorCode.WRONG_ROOM_PASSWORD: "The room password is wrong.",
    ErrorCode.ROOM_FULL: "The room is full.",
    ErrorCode.ALREADY_IN_ROOM: "You are already in a room: leave it first.",
    ErrorCode.ROOM_QUOTA: "You have as many saved rooms as one person may keep.",
    ErrorCode.NOT_IN_ROOM: "You are not in a room.",
    ErrorCode.AVATAR_TOO_LARGE: "The avatar image is too large (256 KiB at most).",
    ErrorCode.BAD_AVATAR: "The avatar must be a PNG or JPEG image.",
    ErrorCode.DATABASE_UNAVAILABLE: "The server cannot reach its database right now. Please try again in a "
                                    "moment.",
    ErrorCode.UNKNOWN_PROVIDER: "This server has no such login provider.",
    ErrorCode.PROVIDER_DENIED: "The login was cancelled or refused at the provider.",
    ErrorCode.PROVIDER_UNREACHABLE: "The login provider could not be reached: try again later.",
    ErrorCode.PROVIDER_REFUSED: "The login provider's answer could not be accepted: try again.",
    ErrorCode.LOGIN_EXPIRED: "The login took too long or its link was already used: start again.",
    ErrorCode.LAST_LOGIN_METHOD: "This is the only way left to log in to your account: add another first.",
    ErrorCode.ALREADY_LINKED: "That provider account is already linked to an account here.",
    ErrorCode.INTERNAL_ERROR: "The server failed to handle the request.",
}


class ProtocolError(Exception):
    """A request that gets an error reply; the connection stays open."""

    def __init__(self, code: str, message: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message or DEFAULT_MESSAGES.get(code, code))
        self.code = code
        self.message = message or DEFAULT_MESSAGES.get(code, code)
        # Whole seconds after which the same request may succeed (RATE_LIMITED, SERVER_BUSY).
        self.retry_after = retry_after
        # The id of the request this answers, when the request could be read that far.
        self.request_id: int | str | None = None

    def to_json(self) -> dict[str, str | int]:
        error: dict[str, str | int] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return error
