"""The account a provider account's first login makes: passwordless, linked, never another's name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.oauth.external_accounts import new_account_for_identity, username_candidates
from server.oauth.provider import ExternalIdentity
from server.storage.sqlite_storage import SqliteStorage
from server.storage.storage import NO_PASSWORD
from tests.test_connection_limits import fake_png


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    opened = SqliteStorage(tmp_path / "m.db")
    yield opened
    opened.close()


def wei(**fields: str) -> ExternalIdentity:
    return ExternalIdentity(**{"provider": "wechat", "subject": "union-1", "display_name": "王伟", **fields})


def test_a_first_login_makes_a_passwordless_account_the_next_finds_linked(storage: SqliteStorage) -> None:
    made = new_account_for_identity(storage, wei(), None)
    assert made.password_hash == NO_PASSWORD and made.display_name == "王伟" and made.username == "王伟"
    assert storage.get_user_by_identity("wechat", "union-1") == made
    # Two first logins of one person at once: the second gets the account the first made.
    assert new_account_for_identity(storage, wei(display_name="Changed"), None) == made


def test_an_existing_password_account_of_that_name_is_never_taken_over(storage: SqliteStorage) -> None:
    alice = storage.create_user("alice", "hash-a", "Alice", "alice")
    made = new_account_for_identity(storage, ExternalIdentity("school", "sub-9", "Alice", "alice"), None)
    assert made.id != alice.id and made.username == "alice-2"
    assert storage.get_user_by_identity("school", "sub-9") == made
    assert storage.linked_providers(alice.id) == []
    # Nor is any case or Unicode form of it.
    other = new_account_for_identity(storage, ExternalIdentity("school", "sub-10", "", "ALICE"), None)
    assert other.username == "ALICE-3"


def test_a_display_name_that_is_someone_elses_user_name_is_not_used(storage: SqliteStorage) -> None:
    storage.create_user("bob", "hash-b", "Bob", "bob")
    made = new_account_for_identity(storage, ExternalIdentity("school", "sub-1", "bob", "robert"), None)
    assert made.username == "robert" and made.display_name == "robert"


def test_names_come_from_the_best_valid_hint(storage: SqliteStorage) -> None:
    by_email = ExternalIdentity("school", "s", "Ann Lee", "", "ann.lee@school.example")
    assert next(username_candidates(by_email)) == "ann.lee"
    assert next(username_candidates(ExternalIdentity("school", "s", "Ann Lee"))) == "Ann"
    # Nothing usable (symbols only): the provider's name.
    assert next(username_candidates(ExternalIdentity("qq", "s", "☺☺", "☺"))) == "qq"


def test_the_providers_avatar_is_kept_for_a_new_account(storage: SqliteStorage) -> None:
    picture = fake_png(2000)
    made = new_account_for_identity(storage, wei(), picture)
    assert made.avatar == picture
