-- Accounts, rooms and chat history: the SQLite twin of mysql/0001_init.sql.
-- Lengths are enforced by server/storage/storage.py, the same for both engines.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SQLite's default BINARY collation: names match exactly, case and trailing spaces included.
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL,
    signature TEXT NOT NULL DEFAULT '',
    avatar BLOB,
    created_at REAL NOT NULL
);

CREATE TABLE rooms (
    room_id TEXT NOT NULL PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    password_hash TEXT,
    persistent INTEGER NOT NULL CHECK (persistent IN (0, 1)),
    created_at REAL NOT NULL
);

CREATE INDEX rooms_persistent ON rooms (persistent, created_at);

CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    text TEXT NOT NULL,
    sent_at REAL NOT NULL
);

CREATE INDEX chat_messages_by_room ON chat_messages (room_id, sent_at, id);
