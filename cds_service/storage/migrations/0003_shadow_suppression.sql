-- Shadow mode and repeated-alert suppression (site configuration).
-- disposition: shown (the clinician saw it), shadow (computed in shadow mode, not shown),
-- suppressed (an override with a reason silenced it), capped (over the per-response cap or
-- filtered by a per-call option). The committee report counts each.
ALTER TABLE cds_card ADD COLUMN disposition VARCHAR(16) NOT NULL DEFAULT 'shown';

ALTER TABLE cds_rating ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0;

-- Which patient (as HMAC-SHA256 with the site secret, never the id), card kind and kind of
-- order a shown card was about, so an override can start a suppression. Kept 7 days.
CREATE TABLE cds_card_subject (
    card_uuid   VARCHAR(36) PRIMARY KEY,
    subject_key VARCHAR(64) NOT NULL,
    kind        VARCHAR(64) NOT NULL,
    order_kind  VARCHAR(64) NOT NULL,
    hook        VARCHAR(32) NOT NULL,
    issued_at   BIGINT NOT NULL
);

CREATE INDEX cds_card_subject_issued ON cds_card_subject (issued_at);

-- Active suppressions: this card kind for this (hashed) patient and kind of order, on the hook
-- where it was overridden, until until_at (epoch seconds).
CREATE TABLE cds_suppression (
    subject_key VARCHAR(64) NOT NULL,
    kind        VARCHAR(64) NOT NULL,
    order_kind  VARCHAR(64) NOT NULL,
    hook        VARCHAR(32) NOT NULL,
    until_at    BIGINT NOT NULL,
    PRIMARY KEY (subject_key, kind, order_kind, hook)
);

CREATE INDEX cds_suppression_until ON cds_suppression (until_at);
