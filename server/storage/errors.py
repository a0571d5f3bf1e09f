"""What can go wrong in storage, in terms the account and room layers can act on."""

from __future__ import annotations


class StorageError(Exception):
    """A storage operation failed; the message is safe to show to an operator."""


class StorageUnavailable(StorageError):
    """The database cannot be reached or did not answer in time; retrying later may work."""


class NameTakenError(StorageError):
    """Another account already has this user name."""


class RoomIdTakenError(StorageError):
    """A room with this id already exists."""


class RoomQuotaError(StorageError):
    """The owner already keeps as many persistent rooms as one person may."""


class IdentityTakenError(StorageError):
    """This provider account is linked to an account already, or the user has one of that provider."""


class LastLoginMethodError(StorageError):
    """Unlinking would leave the account with no way to log in (no password, no other provider)."""
