"""clean_text: visible text only, trimmed; chat may break lines; emoji sequences survive."""

from __future__ import annotations

import pytest

from protocol.errors import ProtocolError
from protocol.text_rules import clean_text

REFUSED = ["\x00", "\x1b", "\x7f", "\x85", "\r", "\t", "\u202a", "\u202e", "\u2066", "\u2069", "\u200b",
           "\u200c", "\u200e", "\u2060", "\ufeff", "\u00ad", "\u2028", "\u2029", "\u3164", "\u115f",
           "\u034f", "\u2800", "\U000e0041"]


@pytest.mark.parametrize("ch", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_hiding_and_control_characters_are_refused_and_named(ch: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        clean_text(f"ab{ch}cd", "title", 100, multiline=True)
    assert refused.value.code == "BAD_REQUEST"
    assert f"U+{ord(ch):04X} at position 3" in refused.value.message


def test_edges_are_trimmed_and_length_counts_after_trimming() -> None:
    assert clean_text("  \t Standup \n", "title", 7) == "Standup"
    with pytest.raises(ProtocolError, match="longer than 6"):
        clean_text("Standup", "title", 6)


def test_line_breaks_only_where_allowed() -> None:
    assert clean_text("one\ntwo", "text", 100, multiline=True) == "one\ntwo"
    with pytest.raises(ProtocolError, match="U\\+000A"):
        clean_text("one\ntwo", "display_name", 100)


def test_zero_width_joiner_only_inside_emoji_sequences() -> None:
    for emoji in ("\U0001F469\u200d\U0001F4BB", "\U0001F3F3\ufe0f\u200d\U0001F308",
                  "\U0001F469\U0001F3FD\u200d\U0001F52C"):
        assert clean_text(f"hi {emoji}", "text", 100) == f"hi {emoji}"
    for hidden in ("a\u200db", "\u200d\U0001F469", "\U0001F469\u200d", "\U0001F469\u200da"):
        with pytest.raises(ProtocolError):
            clean_text(hidden, "text", 100)


def test_ordinary_text_of_any_script_passes() -> None:
    for text in ("Zoë's room", "שלום עולם", "مرحبا", "会議室 3", "Ελληνικά", "a\u0301", "x\u3000y"):
        assert clean_text(text, "title", 100) == text


def test_every_refused_character_of_every_plane_is_found_by_the_scanned_ranges() -> None:
    # The check looks only where such characters live today; a Unicode update that put one
    # elsewhere would fail here, not let it through unseen.
    import sys
    import unicodedata

    from protocol.text_rules import _INVISIBLE, _REFUSED_CATEGORIES, _SCANNED_RANGES

    outside = [hex(code) for code in range(sys.maxunicode + 1)
               if not any(start <= code < end for start, end in _SCANNED_RANGES)
               and (unicodedata.category(chr(code)) in _REFUSED_CATEGORIES or chr(code) in _INVISIBLE)]
    assert outside == []


def test_ascii_text_is_held_to_the_same_rules() -> None:
    for code in [*range(0x20), 0x7F]:
        allowed_in_chat = code == 0x0A
        text = f"ab{chr(code)}cd"
        if allowed_in_chat:
            assert clean_text(text, "text", 100, multiline=True) == text
        else:
            with pytest.raises(ProtocolError):
                clean_text(text, "text", 100, multiline=True)
        with pytest.raises(ProtocolError):
            clean_text(text, "title", 100)
