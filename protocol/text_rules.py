"""Text people show each other (display names, signatures, room titles, chat): visible text only.

Control characters (NUL, ESC: terminal escapes in someone's log viewer), bidi overrides and
isolates (U+202E makes "gpj.exe" read "exe.jpg"), zero-width and other invisible characters
(two names that look the same but differ) are refused with a message that names the character,
rather than silently removed: the sender learns why, and nothing is changed behind their back.
Edges are trimmed. Chat may hold line breaks ("\\n"), which the desktop client shows.
"""

from __future__ import annotations

import functools
import re
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


# Where refused characters live: the Basic Multilingual Plane (controls, surrogates, separators,
# most format characters), plane 1 (a few format characters) and plane 14 (tags). The other planes
# hold ideographs, private use or nothing; a test checks this against every code point.
_SCANNED_RANGES = ((0, 0x20000), (0xE0000, 0xE1000))


_ASCII_CONTROLS = re.compile("[\x00-\x1f\x7f]")
_ASCII_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f]")


@functools.cache
def _refused_pattern(multiline: bool) -> re.Pattern[str]:
    """One character class of every refused character, as ranges: a chat line is checked in C,
    not per character in Python (that cost 1 ms of the control loop per 2,000-character line)."""
    codes = [code for start, end in _SCANNED_RANGES for code in range(start, end)
             if unicodedata.category(chr(code)) in _REFUSED_CATEGORIES or chr(code) in _INVISIBLE]
    if multiline:
        codes.remove(ord("\n"))
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return re.compile("[" + "".join(f"{re.escape(chr(first))}-{re.escape(chr(last))}"
                                    for first, last in ranges) + "]")


def clean_text(value: str, field: str, limit: int, *, multiline: bool = False) -> str:
    """The value trimmed at both ends; ProtocolError(BAD_REQUEST) if it is too long or holds a
    character that hides or rearranges text. `multiline` allows "\\n" (chat)."""
    text = value.strip()
    if len(text) > limit:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"'{field}' is longer than {limit} characters.")
    # ASCII text (most of it) needs only the short class of ASCII controls.
    pattern = (_ASCII_CONTROLS_BUT_NEWLINE if multiline else _ASCII_CONTROLS) if text.isascii() \
        else _refused_pattern(multiline)
    found = pattern.search(text)
    while found is not None:
        at, ch = found.start(), found.group()
        if not (ch == ZERO_WIDTH_JOINER and _joins_emoji(text, at)):
            raise ProtocolError(ErrorCode.BAD_REQUEST,
                                f"'{field}' may not contain control, invisible or text-direction "
                                f"characters (U+{ord(ch):04X} at position {at + 1}).")
        found = pattern.search(text, at + 1)
    return text


def _joins_emoji(text: str, at: int) -> bool:
    if not 0 < at < len(text) - 1:
        return False
    before = text[at - 1]
    return ((before == "\ufe0f" or unicodedata.category(before) in _EMOJI_BEFORE_JOINER)
            and unicodedata.category(text[at + 1]) == "So")
