-- The key that identifies an account: the PRECIS UsernameCaseMapped form of its name (see
-- protocol/names.py), so that "Ada", "ADA" and "ada" are one account. Computed in Python, so
-- accounts made before this migration get theirs when the server starts (server/storage/
-- username_keys.py); NULL while unset, and for the rare old name whose key another holds.
-- Bytes compared byte for byte, as user names are (see 0001); a UNIQUE index allows many NULLs.

ALTER TABLE users ADD COLUMN username_key VARBINARY(256) NULL;

CREATE UNIQUE INDEX users_username_key ON users (username_key);
