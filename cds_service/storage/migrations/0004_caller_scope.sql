-- Issue 21 and issue 20 point 4: what was shown is the caller's alone, and suppression is atomic.
-- client_key: SHA-256 of the caller's issuer and tenant (auth/identity.py); '' for cards recorded
-- before this migration, which no caller's feedback can then name.
ALTER TABLE cds_card ADD COLUMN client_key VARCHAR(64) NOT NULL DEFAULT '';

-- The override reasons the card offered, as a JSON list of "system|code": feedback may give only these.
ALTER TABLE cds_card ADD COLUMN override_reasons TEXT NOT NULL DEFAULT '[]';

-- Card -> caller, hashed patient and hashed draft order, so an override can start a suppression
-- scoped to them in one statement. The old rows had no caller: dropped (they expire in 7 days
-- anyway, and without a caller they could only ever suppress too widely).
DROP TABLE cds_card_subject;

CREATE TABLE cds_card_subject (
    card_uuid   VARCHAR(36) PRIMARY KEY,
    client_key  VARCHAR(64) NOT NULL,
    subject_key VARCHAR(64) NOT NULL,
    kind        VARCHAR(64) NOT NULL,
    order_kind  VARCHAR(64) NOT NULL,
    draft_key   VARCHAR(64) NOT NULL,
    hook        VARCHAR(32) NOT NULL,
    issued_at   BIGINT NOT NULL
);

CREATE INDEX cds_card_subject_issued ON cds_card_subject (issued_at);

-- Active suppressions per caller, hashed patient, card kind, kind of order, hashed draft ('' when
-- the card was about no draft) and the hook the override was given on. Old unscoped rows dropped:
-- without them a card is shown, never hidden.
DROP TABLE cds_suppression;

CREATE TABLE cds_suppression (
    client_key  VARCHAR(64) NOT NULL,
    subject_key VARCHAR(64) NOT NULL,
    kind        VARCHAR(64) NOT NULL,
    order_kind  VARCHAR(64) NOT NULL,
    draft_key   VARCHAR(64) NOT NULL,
    hook        VARCHAR(32) NOT NULL,
    until_at    BIGINT NOT NULL,
    PRIMARY KEY (client_key, subject_key, kind, order_kind, draft_key, hook)
);

CREATE INDEX cds_suppression_until ON cds_suppression (until_at);

-- The last look before signing: a critical card suppressed by an override on another draft is
-- shown once per draft on order-sign. The row is claimed with one INSERT .. ON CONFLICT DO NOTHING,
-- so two workers answering at once cannot both show it.
CREATE TABLE cds_last_look (
    client_key  VARCHAR(64) NOT NULL,
    subject_key VARCHAR(64) NOT NULL,
    kind        VARCHAR(64) NOT NULL,
    draft_key   VARCHAR(64) NOT NULL,
    until_at    BIGINT NOT NULL,
    PRIMARY KEY (client_key, subject_key, kind, draft_key)
);

CREATE INDEX cds_last_look_until ON cds_last_look (until_at);
