-- Issue 20: the committee report counts clinician decisions, not calls (cds_service/audit/decisions.py).
-- A card's decision: a random id shared by the cards shown about the same patient, draft order and
-- card kind within the session window; NULL for cards recorded before this migration (each its own).
ALTER TABLE cds_card ADD COLUMN decision_id VARCHAR(36);

CREATE INDEX cds_card_decision ON cds_card (decision_id);

-- Decisions still open: the keyed hash of patient, draft and kind, kept only until the window passes.
CREATE TABLE cds_decision_open (
    decision_key VARCHAR(64) PRIMARY KEY,
    decision_id  VARCHAR(36) NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE INDEX cds_decision_open_seen ON cds_decision_open (last_seen_at);

-- This database's own key for those hashes when CDS_SUPPRESSION_SECRET is not set.
CREATE TABLE cds_instance_key (
    name   VARCHAR(32) PRIMARY KEY,
    secret VARCHAR(64) NOT NULL
);

-- The ratings' one vocabulary (hooks/knowledge/pama.json "ratings"): the Argonaut code replaces ours.
UPDATE cds_rating SET rating = 'no-criteria-apply' WHERE rating = 'no-criteria';
