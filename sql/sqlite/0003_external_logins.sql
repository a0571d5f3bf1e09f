-- Logging in through another service (OpenID Connect, WeChat, QQ): which provider account is
-- which of ours, and the tokens that let such an account's client log in again after a restart
-- (it has no password to send). An account made through a provider has password_hash '' (no
-- password: password logins to it always fail).

CREATE TABLE external_identities (
    -- The provider's configured name (providers.toml) and its stable id for the person.
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    linked_at REAL NOT NULL,
    PRIMARY KEY (provider, subject)
);

-- One account of each provider per user: linking a second replaces nothing silently.
CREATE UNIQUE INDEX external_identities_user_provider ON external_identities (user_id, provider);

CREATE TABLE login_tokens (
    -- SHA-256 (hex) of the token: a copy of the database logs nobody in.
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    expires_at REAL NOT NULL
);

CREATE INDEX login_tokens_by_user ON login_tokens (user_id, expires_at);
