"""Behaviour every Storage engine must show; test_sqlite_storage and test_mysql_storage subclass this.

A subclass's module provides the fixtures: `storage` (an empty, migrated database), `reopen`
(a callable opening another Storage on the same database, as a restarted server would),
`schema_rows` (a callable returning the schema_version table's rows as (version, name,
applied_at)) and `engine` ("sqlite" or "mysql").
"""

from __future__ import annotations

import threading
import time

import pytest

from server.storage import (
    NameTakenError,
    RoomIdTakenError,
    RoomQuotaError,
    Storage,
    StorageError,
    UserRecord,
)
from server.storage.errors import IdentityTakenError, LastLoginMethodError
from server.storage.migrations import load_migrations
from server.storage.storage import MAX_AVATAR_BYTES, MAX_USERNAME_CHARS, NO_PASSWORD, room_cursor

SQL_LOOKING_NAMES = [
    "x'); DROP TABLE users;--",
    "Robert'); DROP TABLE students; --",
    "' OR '1'='1",
    '" OR ""="',
    "%s",
    "?",
    "\\'; --",
]


class StorageContract:
    # -- accounts -----------------------------------------------------------

    def test_registered_user_reads_back_by_name_and_id(self, storage: Storage) -> None:
        made = storage.create_user("alice", "hash-a", "Alice A.")
        assert made.username == "alice" and made.password_hash == "hash-a"
        assert made.display_name == "Alice A." and made.signature == "" and made.avatar is None
        assert abs(made.created_at - time.time()) < 60
        assert storage.get_user_by_name("alice") == made
        assert storage.get_user(made.id) == made
        assert storage.get_user_by_name("bob") is None
        assert storage.get_user(made.id + 1000) is None

    def test_each_user_gets_an_own_id(self, storage: Storage) -> None:
        ids = {storage.create_user(f"user{n}", "h", "U").id for n in range(5)}
        assert len(ids) == 5

    def test_names_are_exact_and_case_sensitive(self, storage: Storage) -> None:
        names = ["Alice", "alice", "ALICE", "bob", "bob ", " bob", "e\u0301", "\u00e9"]
        users = {name: storage.create_user(name, f"hash of {name!r}", "x") for name in names}
        assert len({u.id for u in users.values()}) == len(names)
        for name in names:
            assert storage.get_user_by_name(name) == users[name]
        assert storage.get_user_by_name("aLiCe") is None
        assert storage.get_user_by_name("bob  ") is None

    def test_unicode_and_emoji_names_round_trip(self, storage: Storage) -> None:
        names = ["Zoë", "李小龙", "Ελένη", "🦊 fox", "👩‍💻", "😀" * MAX_USERNAME_CHARS, "नमस्ते"]
        for name in names:
            made = storage.create_user(name, "h", f"{name[:20]} (display) 🎉")
            found = storage.get_user_by_name(name)
            assert found == made
            assert found is not None and found.username == name
            assert found.display_name == f"{name[:20]} (display) 🎉"

    def test_name_longer_than_the_limit_is_refused(self, storage: Storage) -> None:
        with pytest.raises(ValueError, match="user name"):
            storage.create_user("a" * (MAX_USERNAME_CHARS + 1), "h", "x")
        with pytest.raises(ValueError, match="user name"):
            storage.create_user("", "h", "x")
        assert storage.get_user_by_name("a" * (MAX_USERNAME_CHARS + 1)) is None

    def test_sql_looking_names_are_stored_literally(self, storage: Storage) -> None:
        alice = storage.create_user("alice", "h", "Alice")
        for name in SQL_LOOKING_NAMES:
            made = storage.create_user(name, "h", name)
            assert storage.get_user_by_name(name) == made
        # The users table is intact: old rows are there and new ones can be added.
        assert storage.get_user_by_name("alice") == alice
        assert storage.create_user("carol", "h", "Carol").username == "carol"
        assert storage.get_user_by_name("' OR '1'='1") is not None
        assert storage.get_user_by_name("' OR 'x'='x") is None

    def test_taken_name_is_refused_and_the_first_account_kept(self, storage: Storage) -> None:
        first = storage.create_user("alice", "first-hash", "First")
        with pytest.raises(NameTakenError):
            storage.create_user("alice", "second-hash", "Second")
        assert storage.get_user_by_name("alice") == first

    def test_a_taken_key_is_a_taken_name_whatever_the_spelling(self, storage: Storage) -> None:
        ada = storage.create_user("Ada", "h", "Ada", username_key="ada")
        with pytest.raises(NameTakenError):
            storage.create_user("ADA", "h2", "Impostor", username_key="ada")
        assert storage.get_user_by_name("aDa", "ada") == ada
        assert storage.get_user_by_name("aDa") is None  # no key given: exact names only
        assert storage.get_user_by_name("adam", "adam") is None
        assert storage.users_without_key() == []

    def test_exact_name_wins_over_key_and_keys_are_added_where_free(self, storage: Storage) -> None:
        # Accounts from before keys: none has one yet.
        old_bob = storage.create_user("Bob", "h1", "Bob")
        new_bob = storage.create_user("bob", "h2", "bob")
        spaced = storage.create_user("two words", "h3", "x")
        assert storage.users_without_key() == [(old_bob.id, "Bob"), (new_bob.id, "bob"),
                                               (spaced.id, "two words")]
        assert storage.set_username_key(old_bob.id, "bob")
        assert not storage.set_username_key(new_bob.id, "bob")  # the older account holds it
        assert storage.users_without_key() == [(new_bob.id, "bob"), (spaced.id, "two words")]
        assert storage.get_user_by_name("bob", "bob") == new_bob  # typed exactly: that account
        assert storage.get_user_by_name("BOB", "bob") == old_bob  # any other form: the key's holder
        assert storage.get_user_by_name("two words") == spaced

    def test_concurrent_registrations_of_one_name_exactly_one_wins(self, storage: Storage) -> None:
        threads = 8
        start = threading.Barrier(threads)
        outcomes: list[UserRecord | Exception] = []
        lock = threading.Lock()

        def register(n: int) -> None:
            start.wait()
            try:
                outcome: UserRecord | Exception = storage.create_user("popular", f"hash-{n}", f"Person {n}")
            except Exception as exc:
                outcome = exc
            with lock:
                outcomes.append(outcome)

        workers = [threading.Thread(target=register, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        winners = [o for o in outcomes if isinstance(o, UserRecord)]
        losers = [o for o in outcomes if not isinstance(o, UserRecord)]
        assert len(winners) == 1, outcomes
        assert len(losers) == threads - 1 and all(isinstance(o, NameTakenError) for o in losers), losers
        assert storage.get_user_by_name("popular") == winners[0]

    # -- profiles -----------------------------------------------------------

    def test_profile_update_changes_only_what_is_given(self, storage: Storage) -> None:
        user = storage.create_user("alice", "h", "Alice")
        renamed = storage.update_profile(user.id, display_name="Alice 🌸")
        assert renamed.display_name == "Alice 🌸" and renamed.signature == ""
        signed = storage.update_profile(user.id, signature="Out until Monday; ping Bob")
        assert signed.display_name == "Alice 🌸" and signed.signature == "Out until Monday; ping Bob"
        assert storage.update_profile(user.id) == signed
        assert storage.get_user(user.id) == signed
        assert signed.username == "alice" and signed.password_hash == "h"
        assert signed.created_at == user.created_at

    def test_avatar_round_trips_and_clears(self, storage: Storage) -> None:
        user = storage.create_user("alice", "h", "Alice")
        other = storage.create_user("bob", "h", "Bob")
        avatar = bytes(range(256)) * (MAX_AVATAR_BYTES // 256)
        assert len(avatar) == MAX_AVATAR_BYTES
        assert storage.update_profile(user.id, avatar=avatar).avatar == avatar
        found = storage.get_user(user.id)
        assert found is not None and found.avatar == avatar
        assert storage.update_profile(user.id, display_name="A").avatar == avatar
        assert storage.get_user(other.id) == other
        assert storage.update_profile(user.id, avatar=b"").avatar is None
        cleared = storage.get_user(user.id)
        assert cleared is not None and cleared.avatar is None

    def test_oversized_avatar_is_refused_and_the_old_one_kept(self, storage: Storage) -> None:
        user = storage.create_user("alice", "h", "Alice")
        storage.update_profile(user.id, avatar=b"\x89PNG small")
        with pytest.raises(ValueError, match="avatar"):
            storage.update_profile(user.id, avatar=b"x" * (MAX_AVATAR_BYTES + 1))
        found = storage.get_user(user.id)
        assert found is not None and found.avatar == b"\x89PNG small"

    def test_profile_of_unknown_user_is_an_error(self, storage: Storage) -> None:
        with pytest.raises(StorageError):
            storage.update_profile(12345, display_name="ghost")

    # -- rooms --------------------------------------------------------------

    def test_room_reads_back(self, storage: Storage) -> None:
        owner = storage.create_user("alice", "h", "Alice")
        open_room = storage.create_room("abc-123", owner.id, "Stand-up ☕", None, False)
        locked = storage.create_room("XYZ_9", owner.id, "Board", "room-hash", True)
        assert storage.get_room("abc-123") == open_room
        assert open_room.password_hash is None and open_room.persistent is False
        assert storage.get_room("XYZ_9") == locked
        assert locked.password_hash == "room-hash" and locked.persistent is True
        assert locked.title == "Board" and locked.owner_id == owner.id
        assert storage.get_room("xyz_9") is None
        assert storage.get_room("nope") is None
        assert storage.get_room("ünïcode") is None

    def test_duplicate_room_id_is_refused_and_the_first_room_kept(self, storage: Storage) -> None:
        owner = storage.create_user("alice", "h", "Alice")
        first = storage.create_room("r1", owner.id, "First", None, True)
        with pytest.raises(RoomIdTakenError):
            storage.create_room("r1", owner.id, "Second", "pw", False)
        assert storage.get_room("r1") == first

    def test_room_of_unknown_owner_is_an_error_not_a_taken_id(self, storage: Storage) -> None:
        with pytest.raises(StorageError) as caught:
            storage.create_room("r1", 9999, "Orphan", None, False)
        assert not isinstance(caught.value, RoomIdTakenError)
        assert storage.get_room("r1") is None

    def test_room_id_with_spaces_is_refused(self, storage: Storage) -> None:
        owner = storage.create_user("alice", "h", "Alice")
        with pytest.raises(ValueError, match="room id"):
            storage.create_room("r 1", owner.id, "Spaced", None, False)

    def test_only_persistent_rooms_are_listed_oldest_first(self, storage: Storage) -> None:
        owner = storage.create_user("alice", "h", "Alice")
        kept = []
        for n in range(3):
            kept.append(storage.create_room(f"keep-{2 - n}", owner.id, f"Kept {n}", None, True))
            storage.create_room(f"temp-{n}", owner.id, f"Temporary {n}", None, False)
            time.sleep(0.002)
        assert storage.list_persistent_rooms() == kept
        assert [r.room_id for r in storage.list_temporary_rooms()] == ["temp-0", "temp-1", "temp-2"]

    def test_deleting_a_room_removes_its_chat(self, storage: Storage) -> None:
        owner = storage.create_user("alice", "h", "Alice")
        storage.create_room("r1", owner.id, "Doomed", None, True)
        storage.create_room("r2", owner.id, "Stays", None, True)
        storage.add_chat_message("r1", owner.id, "hello r1", 1.0)
        storage.add_chat_message("r2", owner.id, "hello r2", 2.0)
        storage.delete_room("r1")
        assert storage.get_room("r1") is None
        assert [r.room_id for r in storage.list_persistent_rooms()] == ["r2"]
        # A new room under the old id starts with an empty history.
        storage.create_room("r1", owner.id, "Reborn", None, False)
        assert storage.recent_chat("r1") == []
        assert [c.text for c in storage.recent_chat("r2")] == ["hello r2"]
        storage.delete_room("never-existed")

    # -- chat ---------------------------------------------------------------

    def test_chat_comes_back_oldest_first_with_sender_names(self, storage: Storage) -> None:
        alice = storage.create_user("alice", "h", "Alice")
        bob = storage.create_user("bob 🎸", "h", "Bob")
        storage.create_room("r1", alice.id, "Chat", None, False)
        storage.create_room("r2", alice.id, "Elsewhere", None, False)
        storage.add_chat_message("r1", alice.id, "hi", 100.0)
        storage.add_chat_message("r1", bob.id, "hello 👋", 101.5)
        storage.add_chat_message("r2", bob.id, "wrong room", 102.0)
        storage.add_chat_message("r1", alice.id, "x'); DROP TABLE chat_messages;--", 103.0)
        chat = storage.recent_chat("r1")
        assert [(c.username, c.display_name, c.text, c.sent_at) for c in chat] == [
            ("alice", "Alice", "hi", 100.0),
            ("bob 🎸", "Bob", "hello 👋", 101.5),
            ("alice", "Alice", "x'); DROP TABLE chat_messages;--", 103.0),
        ]
        # History shows who wrote a line by the name they have now.
        storage.update_profile(bob.id, display_name="Bobby 🎸")
        assert [c.display_name for c in storage.recent_chat("r1")] == ["Alice", "Bobby 🎸", "Alice"]
        assert {c.room_id for c in chat} == {"r1"}
        assert [c.user_id for c in chat] == [alice.id, bob.id, alice.id]

    def test_chat_limit_keeps_the_newest_lines(self, storage: Storage) -> None:
        alice = storage.create_user("alice", "h", "Alice")
        storage.create_room("r1", alice.id, "Chat", None, False)
        for n in range(60):
            storage.add_chat_message("r1", alice.id, f"line {n}", 1000.0 + n)
        assert [c.text for c in storage.recent_chat("r1")] == [f"line {n}" for n in range(10, 60)]
        assert [c.text for c in storage.recent_chat("r1", limit=3)] == ["line 57", "line 58", "line 59"]
        assert storage.recent_chat("r1", limit=0) == []

    def test_chat_in_a_missing_room_is_an_error(self, storage: Storage) -> None:
        alice = storage.create_user("alice", "h", "Alice")
        with pytest.raises(StorageError):
            storage.add_chat_message("nowhere", alice.id, "hello?", 1.0)

    # -- restarts and migrations -------------------------------------------

    def test_everything_survives_a_restart(self, storage: Storage, reopen) -> None:
        alice = storage.create_user("Alice 😀", "h", "Alice")
        alice = storage.update_profile(alice.id, signature="sig", avatar=b"\x00avatar\xff")
        room = storage.create_room("r1", alice.id, "Kept", "room-hash", True)
        storage.add_chat_message("r1", alice.id, "still here?", 5.0)
        storage.close()
        again = reopen()
        assert again.get_user_by_name("Alice 😀") == alice
        assert again.get_room("r1") == room
        assert again.list_persistent_rooms() == [room]
        assert [c.text for c in again.recent_chat("r1")] == ["still here?"]
        with pytest.raises(NameTakenError):
            again.create_user("Alice 😀", "h2", "Impostor")

    def test_migrations_are_applied_once(self, storage: Storage, reopen, schema_rows, engine: str) -> None:
        migrations = load_migrations(engine)
        assert storage.schema_version() == migrations[-1].version
        rows = schema_rows()
        assert [(version, name) for version, name, _ in rows] == [(m.version, m.name) for m in migrations]
        storage.close()
        again = reopen()
        assert again.schema_version() == migrations[-1].version
        # Same rows, same timestamps: nothing was applied a second time.
        assert schema_rows() == rows

    def test_closed_storage_refuses_calls(self, storage: Storage) -> None:
        storage.close()
        with pytest.raises(StorageError, match="closed"):
            storage.get_user_by_name("alice")

    # -- pages of rooms and the persistent-room quota ------------------------------

    def test_persistent_rooms_come_in_pages_that_join_up(self, storage: Storage) -> None:
        owner = storage.create_user("alice", "h", "Alice")
        made = [storage.create_room(f"r{n:02d}", owner.id, f"Room {n}", None, True) for n in range(7)]
        storage.create_room("temp", owner.id, "Temporary", None, False)
        pages, after = [], None
        while True:
            page = storage.list_persistent_rooms(after=after, limit=3)
            pages.append(page)
            if len(page) < 3:
                break
            after = room_cursor(page[-1])
        assert [len(page) for page in pages] == [3, 3, 1]
        assert [room for page in pages for room in page] == made == storage.list_persistent_rooms()

    def test_the_quota_refuses_one_persistent_room_too_many_and_keeps_nothing(self, storage: Storage) -> None:
        owner = storage.create_user("alice", "h", "Alice")
        other = storage.create_user("bob", "h", "Bob")
        for n in range(3):
            storage.create_room(f"keep-{n}", owner.id, "Kept", None, True, persistent_quota=3)
        with pytest.raises(RoomQuotaError):
            storage.create_room("one-too-many", owner.id, "Refused", None, True, persistent_quota=3)
        assert storage.get_room("one-too-many") is None
        # Temporary rooms and other owners are not counted against it.
        storage.create_room("temp", owner.id, "Temporary", None, False, persistent_quota=3)
        storage.create_room("bobs", other.id, "Bob's", None, True, persistent_quota=3)

    def test_racing_creates_cannot_pass_the_quota(self, storage: Storage) -> None:
        owner = storage.create_user("alice", "h", "Alice")
        outcomes: list[str] = []

        def create(n: int) -> None:
            try:
                storage.create_room(f"race-{n}", owner.id, "Race", None, True, persistent_quota=2)
                outcomes.append("kept")
            except RoomQuotaError:
                outcomes.append("refused")

        threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["kept"] * 2 + ["refused"] * 6
        assert len(storage.list_persistent_rooms()) == 2

    # -- logging in through a provider ---------------------------------------------

    def test_a_provider_account_makes_a_passwordless_user_found_again_by_it(self, storage: Storage) -> None:
        made = storage.create_user_with_identity("wang-wei", "wang-wei", "王伟", "wechat", "o6_bmasdasdsad6")
        assert made.password_hash == NO_PASSWORD and made.display_name == "王伟"
        assert storage.get_user_by_identity("wechat", "o6_bmasdasdsad6") == made
        assert storage.get_user_by_identity("qq", "o6_bmasdasdsad6") is None  # per provider
        assert storage.get_user_by_identity("wechat", "O6_BMASDASDSAD6") is None  # subjects are exact
        assert storage.linked_providers(made.id) == ["wechat"]

    def test_a_taken_name_makes_nothing_not_even_the_link(self, storage: Storage) -> None:
        storage.create_user("alice", "hash-a", "Alice")
        with pytest.raises(NameTakenError):
            storage.create_user_with_identity("alice", "alice", "Alice", "school", "sub-1")
        # The password account was not taken over, and the provider account is linked to nobody.
        assert storage.get_user_by_identity("school", "sub-1") is None
        assert storage.get_user_by_name("alice").password_hash == "hash-a"

    def test_one_provider_account_links_to_one_user_and_a_user_to_one_of_each_provider(
            self, storage: Storage) -> None:
        alice = storage.create_user("alice", "hash-a", "Alice")
        bob = storage.create_user("bob", "hash-b", "Bob")
        storage.link_identity(alice.id, "school", "sub-a")
        with pytest.raises(IdentityTakenError):
            storage.link_identity(bob.id, "school", "sub-a")
        with pytest.raises(IdentityTakenError):
            storage.link_identity(alice.id, "school", "sub-other")
        with pytest.raises(IdentityTakenError):
            storage.create_user_with_identity("carol", "carol", "Carol", "school", "sub-a")
        assert storage.get_user_by_name("carol") is None  # the whole transaction went
        assert storage.get_user_by_identity("school", "sub-a") == alice
        assert storage.linked_providers(bob.id) == []

    def test_the_last_way_to_log_in_cannot_be_unlinked(self, storage: Storage) -> None:
        wei = storage.create_user_with_identity("wei", "wei", "Wei", "wechat", "union-1")
        with pytest.raises(LastLoginMethodError):
            storage.unlink_identity(wei.id, "wechat")
        assert storage.linked_providers(wei.id) == ["wechat"]
        storage.link_identity(wei.id, "qq", "openid-1")
        assert storage.unlink_identity(wei.id, "wechat") is True
        assert storage.linked_providers(wei.id) == ["qq"]
        assert storage.unlink_identity(wei.id, "wechat") is False  # nothing left to unlink
        with pytest.raises(LastLoginMethodError):
            storage.unlink_identity(wei.id, "qq")
        # An account with a password may unlink every provider.
        alice = storage.create_user("alice", "hash-a", "Alice")
        storage.link_identity(alice.id, "school", "sub-a")
        assert storage.unlink_identity(alice.id, "school") is True
        assert storage.get_user_by_identity("school", "sub-a") is None

    def test_racing_unlinks_never_leave_an_account_with_no_way_in(self, storage: Storage) -> None:
        wei = storage.create_user_with_identity("wei", "wei", "Wei", "wechat", "union-1")
        storage.link_identity(wei.id, "qq", "openid-1")
        outcomes: list[str] = []

        def unlink(provider: str) -> None:
            try:
                outcomes.append("unlinked" if storage.unlink_identity(wei.id, provider) else "none")
            except LastLoginMethodError:
                outcomes.append("refused")

        threads = [threading.Thread(target=unlink, args=(provider,)) for provider in ("wechat", "qq") * 3]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcomes.count("unlinked") == 1
        assert len(storage.linked_providers(wei.id)) == 1

    def test_login_tokens_find_their_user_until_they_expire_or_are_deleted(self, storage: Storage) -> None:
        wei = storage.create_user_with_identity("wei", "wei", "Wei", "wechat", "union-1")
        now = time.time()
        storage.add_login_token("a" * 64, wei.id, now + 60)
        storage.add_login_token("b" * 64, wei.id, now - 1)
        assert storage.get_user_by_login_token("a" * 64, now) == wei
        assert storage.get_user_by_login_token("b" * 64, now) is None  # expired
        assert storage.get_user_by_login_token("c" * 64, now) is None
        assert storage.get_user_by_login_token("a" * 64, now + 61) is None
        storage.delete_login_tokens(wei.id)
        assert storage.get_user_by_login_token("a" * 64, now) is None

    def test_identities_and_tokens_survive_a_restart(self, storage: Storage, reopen) -> None:
        wei = storage.create_user_with_identity("wei", "wei", "Wei", "wechat", "union-1")
        storage.add_login_token("d" * 64, wei.id, time.time() + 60)
        again = reopen()
        try:
            assert again.get_user_by_identity("wechat", "union-1") == wei
            assert again.get_user_by_login_token("d" * 64, time.time()) == wei
        finally:
            again.close()
