-- Accounts, rooms and chat history for MySQL/MariaDB (InnoDB, utf8mb4 so emoji fit).
-- Lengths are enforced by server/storage/storage.py, the same for both engines.

CREATE TABLE users (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    -- UTF-8 bytes, compared byte for byte: exact and case-sensitive. Not VARCHAR with
    -- utf8mb4_bin, whose PAD SPACE comparison makes 'bob' and 'bob ' the same name.
    -- 64 characters of UTF-8 take at most 256 bytes.
    username VARBINARY(256) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    display_name VARCHAR(64) NOT NULL,
    signature VARCHAR(255) NOT NULL DEFAULT '',
    -- MEDIUMBLOB because BLOB stops at 65535 bytes, one short of 64 KiB.
    avatar MEDIUMBLOB NULL,
    created_at DOUBLE NOT NULL,
    UNIQUE KEY users_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE rooms (
    -- Bytes for the same reason as user names; ids are printable ASCII when created, but any
    -- text may be looked up (an ASCII column would refuse to compare with non-ASCII text).
    room_id VARBINARY(64) NOT NULL PRIMARY KEY,
    owner_id BIGINT UNSIGNED NOT NULL,
    title VARCHAR(128) NOT NULL,
    password_hash VARCHAR(255) NULL,
    persistent BOOLEAN NOT NULL,
    created_at DOUBLE NOT NULL,
    KEY rooms_persistent (persistent, created_at),
    CONSTRAINT rooms_owner FOREIGN KEY (owner_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE chat_messages (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    room_id VARBINARY(64) NOT NULL,
    user_id BIGINT UNSIGNED NOT NULL,
    text TEXT NOT NULL,
    sent_at DOUBLE NOT NULL,
    KEY chat_messages_by_room (room_id, sent_at, id),
    CONSTRAINT chat_messages_room FOREIGN KEY (room_id) REFERENCES rooms (room_id) ON DELETE CASCADE,
    CONSTRAINT chat_messages_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
