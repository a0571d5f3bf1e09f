"""User names: the stored form, the key that identifies an account, and look-alike mixes."""

from __future__ import annotations

import unicodedata

import pytest

from protocol.errors import ProtocolError
from protocol.names import NAME_MAX, checked_username, is_confusable_mix, username_key


def test_the_key_is_one_for_every_case_width_and_normal_form() -> None:
    forms = ["Amélie", unicodedata.normalize("NFD", "Amélie"), "AMÉLIE", "amélie"]
    assert {username_key(form) for form in forms} == {"amélie"}
    assert username_key("".join(chr(ord(c) + 0xFEE0) for c in "Ada")) == "ada"  # full width
    assert username_key("two words") is None


def test_names_are_stored_as_typed_but_composed() -> None:
    assert checked_username("Ada") == "Ada"
    assert checked_username(unicodedata.normalize("NFD", "Zoë")) == unicodedata.normalize("NFC", "Zoë")
    assert checked_username("x" * NAME_MAX)
    with pytest.raises(ProtocolError, match=f"at most {NAME_MAX}"):
        checked_username("x" * (NAME_MAX + 1))


@pytest.mark.parametrize("name", ["p\u0430ypal", "\u0391lice", "b\u043eb", "\u0406van", "k\u0456m"])
def test_a_letter_that_passes_for_one_of_another_script_in_the_name_is_refused(name: str) -> None:
    assert is_confusable_mix(name)
    with pytest.raises(ProtocolError) as refused:
        checked_username(name)
    assert refused.value.code == "INVALID_NAME"


@pytest.mark.parametrize("name", ["ivan", "\u0438\u0432\u0430\u043d", "\u03b1\u03b8\u03b7\u03bd\u03ac",
                                  "tanaka\u65e5\u672c", "user1", "\u0645\u062d\u0645\u062f", "bob.smith-2"])
def test_one_script_or_scripts_without_look_alikes_pass(name: str) -> None:
    assert not is_confusable_mix(name)
    assert checked_username(name)
