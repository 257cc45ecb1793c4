-- JWT ids already accepted, kept until the token could no longer be valid (replay protection).
-- jti_key is a SHA-256 of issuer and jti, so a client's arbitrary string never sizes the index.
CREATE TABLE auth_seen_jti (
    jti_key    VARCHAR(64) PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE INDEX auth_seen_jti_expires ON auth_seen_jti (expires_at);
