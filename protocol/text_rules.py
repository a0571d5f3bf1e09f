"""Text people show each other (display names, signatures, room titles, chat): visible text only.

Control characters (NUL, ESC: terminal escapes in someone's log viewer), bidi overrides and
isolates (U+202E makes "gpj.exe" read "exe.jpg"), zero-width and other invisible characters
(two names that look the same but differ) are refused with a message that names the character,
rather than silently removed: the sender learns why, and nothing is changed behind their back.
Edges are trimmed. Chat may hold line breaks ("\\n"), which the desktop client shows.
"""

from __future__ import annotations

import unicodedata

from protocol.errors import ErrorCode, ProtocolError

# Lengths in characters, after trimming.
DISPLAY_NAME_MAX = 64
SIGNATURE_MAX = 200
TITLE_MAX = 100
CHAT_MAX = 2000

ZERO_WIDTH_JOINER = "\u200d"
# Invisible or blank characters that are not format characters (Cf), so categories miss them:
# Hangul fillers, the combining grapheme joiner, the braille blank.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u034f\u2800")
# Categories refused anywhere: controls, format characters (bidi controls, zero-width spaces,
# soft hyphen, tags), surrogates, line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# What may stand before a zero-width joiner inside an emoji sequence (👩‍💻): a symbol, a skin
# tone modifier (Sk) or the emoji variation selector (U+FE0F).
_EMOJI_BEFORE_JOINER = frozenset({"So", "Sk"})


def clean_text(value: str, field: str, limit: int, *, multiline: bool = False) -> str:
    """The value trimmed at both ends; ProtocolError(BAD_REQUEST) if it is too long or holds a
    character that hides or rearranges text. `multiline` allows "\\n" (chat)."""
    text = value.strip()
    if len(text) > limit:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"'{field}' is longer than {limit} characters.")
    for at, ch in enumerate(text):
        if multiline and ch == "\n":
            continue
        if ch == ZERO_WIDTH_JOINER and _joins_emoji(text, at):
            continue
        if ch in _INVISIBLE or unicodedata.category(ch) in _REFUSED_CATEGORIES:
            raise ProtocolError(ErrorCode.BAD_REQUEST,
                                f"'{field}' may not contain control, invisible or text-direction "
                                f"characters (U+{ord(ch):04X} at position {at + 1}).")
    return text


def _joins_emoji(text: str, at: int) -> bool:
    if not 0 < at < len(text) - 1:
        return False
    before = text[at - 1]
    return ((before == "\ufe0f" or unicodedata.category(before) in _EMOJI_BEFORE_JOINER)
            and unicodedata.category(text[at + 1]) == "So")
