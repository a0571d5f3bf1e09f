"""Password hashing: what is stored can check a password but never give it back."""

from __future__ import annotations

import logging
import re

import pytest
from argon2 import PasswordHasher

from server.passwords import checks_run, hash_password, needs_rehash, verify_password
from server.storage.storage import NO_PASSWORD


def test_hash_is_argon2id_and_not_the_password() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert stored != "correct horse battery staple"
    assert "correct horse" not in stored


def test_same_password_hashes_differently_each_time() -> None:
    first, second = hash_password("hunter2"), hash_password("hunter2")
    assert first != second
    assert verify_password(first, "hunter2") and verify_password(second, "hunter2")


@pytest.mark.parametrize("password", ["hunter2", "", "pässwörd 🔑", "x" * 1000, "x'); DROP TABLE users;--"])
def test_right_password_verifies_and_near_misses_do_not(password: str) -> None:
    stored = hash_password(password)
    assert verify_password(stored, password)
    for wrong in [password + " ", password.upper() + "A", password[:-1], "hunter3"]:
        if wrong != password:
            assert not verify_password(stored, wrong)


def test_hash_is_expensive_enough_to_slow_guessing() -> None:
    # At least OWASP's argon2id floor: 19 MiB of memory and 2 passes per guess.
    params = re.search(r"\$m=(\d+),t=(\d+),p=(\d+)\$", hash_password("pw"))
    assert params is not None
    memory_kib, passes = int(params.group(1)), int(params.group(2))
    assert memory_kib >= 19 * 1024 and passes >= 2


def test_damaged_stored_hash_never_matches_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert not verify_password("not a hash at all", "hunter2")
        assert not verify_password("", "")
    assert "not a valid argon2 hash" in caplog.text
    assert "hunter2" not in caplog.text


def test_weaker_old_hash_asks_for_rehash() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("pw")
    assert verify_password(old, "pw")
    assert needs_rehash(old)
    assert not needs_rehash(hash_password("pw"))


def test_an_account_without_a_password_matches_no_password_not_even_an_empty_one(
        caplog: pytest.LogCaptureFixture) -> None:
    before = checks_run.value
    for attempt in ("", "anything", NO_PASSWORD):
        assert not verify_password(NO_PASSWORD, attempt)
    assert checks_run.value - before == 3  # each one paid a whole check: the time tells nothing
    assert "not a valid argon2 hash" not in caplog.text
