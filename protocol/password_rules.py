"""What a new password must be: long enough, and not one that attackers try first.

Checked when an account is made (and by any future change of password), never at login: an
account from before these rules still logs in with its short password.
"""

from __future__ import annotations

import functools
from pathlib import Path

from protocol.errors import ErrorCode, ProtocolError

PASSWORD_MIN, PASSWORD_MAX = 8, 128
# The rules in a phrase, for a form to show beside the password field.
RULES_TEXT = f"at least {PASSWORD_MIN} characters, and not one of the most common passwords"
# The 10,000 most common passwords (zxcvbn's list, MIT licence: see the file's header).
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


def check_new_password(password: str) -> None:
    """ProtocolError(INVALID_PASSWORD) with a message that says which rule the password breaks."""
    if len(password) < PASSWORD_MIN:
        raise ProtocolError(ErrorCode.INVALID_PASSWORD,
                            f"The password is too short: use at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        raise ProtocolError(ErrorCode.INVALID_PASSWORD,
                            f"The password is too long: use at most {PASSWORD_MAX} characters.")
    # Lower case, as the list is: "Password1" is guessed as early as "password1".
    if password.lower() in common_passwords():
        raise ProtocolError(ErrorCode.INVALID_PASSWORD,
                            "This password is too common: attackers try it first. Choose another.")


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))
