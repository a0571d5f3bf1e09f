"""User names: one account per name as people read it (RFC 8265 PRECIS), no look-alike tricks.

A name is kept as its owner typed it, normalised by PRECIS UsernameCasePreserved (NFC, wide
forms made narrow), and identified by its UsernameCaseMapped form, the *key*: "Ada", "ADA" and
"ada", or "Amélie" typed with a composed or a decomposed "é", are one account. A name that mixes
scripts so that one letter could pass for another (a Latin name with a Cyrillic "\u0430") is refused.
"""

from __future__ import annotations

from confusable_homoglyphs import categories, confusables
from precis_i18n import get_profile

from protocol.errors import ErrorCode, ProtocolError

NAME_MAX = 32

_PRESERVED = get_profile("UsernameCasePreserved")
_MAPPED = get_profile("UsernameCaseMapped")

# precis_i18n says why it refused a name as "DISALLOWED/<reason>"; what a person reads instead.
_WHY = {
    "empty": "A user name may not be empty.",
    "spaces": "A user name may not contain spaces.",
    "symbols": "A user name may contain letters, digits and punctuation, but no symbols or emoji.",
    "controls": "A user name may not contain control characters.",
    "punctuation": "A user name may not contain that punctuation.",
    "bidi_rule": "A user name may not mix right-to-left and left-to-right text that way.",
}
_DEFAULT_WHY = "A user name may contain letters, digits and punctuation only, without spaces."


def checked_username(name: str) -> str:
    """The form of a new user name to store; ProtocolError(INVALID_NAME) saying what is wrong."""
    try:
        preserved = _PRESERVED.enforce(name)
    except UnicodeError as exc:
        raise ProtocolError(ErrorCode.INVALID_NAME, _why(exc)) from None
    if len(preserved) > NAME_MAX:
        raise ProtocolError(ErrorCode.INVALID_NAME, f"A user name has at most {NAME_MAX} characters.")
    if is_confusable_mix(preserved):
        raise ProtocolError(ErrorCode.INVALID_NAME,
                            "This user name mixes alphabets in a way that makes it look like another "
                            "name (for example a Cyrillic letter among Latin ones).")
    return preserved


def username_key(name: str) -> str | None:
    """What identifies an account: the case-mapped PRECIS form, or None for a name PRECIS refuses
    (only accounts from before these rules can have one; they are found by their exact name)."""
    try:
        return _MAPPED.enforce(name)
    except UnicodeError:
        return None


def is_confusable_mix(name: str) -> bool:
    """Whether the name mixes scripts and a letter of one could pass for a letter of another.

    Mixing alone is allowed ("tanaka日本"): only a look-alike across the scripts present counts.
    Common characters (digits, punctuation) never count, so "user1" is not "userl".
    """
    scripts = {categories.alias(ch) for ch in name} - {"COMMON"}
    if len(scripts) < 2:
        return False
    for ch in set(name):
        script = categories.alias(ch)
        if script == "COMMON":
            continue
        others = scripts - {script}
        for homoglyph in confusables.confusables_data.get(ch, ()):
            if categories.alias(homoglyph["c"][0]) in others:
                return True
    return False


def _why(exc: UnicodeError) -> str:
    reason = str(exc).rsplit("DISALLOWED/", 1)[-1] if "DISALLOWED/" in str(exc) else ""
    return _WHY.get(reason, _DEFAULT_WHY)
