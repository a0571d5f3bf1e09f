-- Logging in through another service (OpenID Connect, WeChat, QQ): which provider account is
-- which of ours, and the tokens that let such an account's client log in again after a restart
-- (it has no password to send). An account made through a provider has password_hash '' (no
-- password: password logins to it always fail). Bytes compared byte for byte, as in 0001.

CREATE TABLE external_identities (
    -- The provider's configured name (providers.toml) and its stable id for the person.
    provider VARBINARY(64) NOT NULL,
    subject VARBINARY(255) NOT NULL,
    user_id BIGINT UNSIGNED NOT NULL,
    linked_at DOUBLE NOT NULL,
    PRIMARY KEY (provider, subject),
    -- One account of each provider per user: linking a second replaces nothing silently.
    UNIQUE KEY external_identities_user_provider (user_id, provider),
    CONSTRAINT external_identities_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE login_tokens (
    -- SHA-256 (hex) of the token: a copy of the database logs nobody in.
    token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    user_id BIGINT UNSIGNED NOT NULL,
    expires_at DOUBLE NOT NULL,
    KEY login_tokens_by_user (user_id, expires_at),
    CONSTRAINT login_tokens_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
