-- The key that identifies an account: the PRECIS UsernameCaseMapped form of its name (see
-- protocol/names.py), so that "Ada", "ADA" and "ada" are one account. Computed in Python, so
-- accounts made before this migration get theirs when the server starts (server/storage/
-- username_keys.py); NULL while unset, and for the rare old name whose key another holds.
-- A UNIQUE index allows many NULLs.

ALTER TABLE users ADD COLUMN username_key TEXT;

CREATE UNIQUE INDEX users_username_key ON users (username_key);
