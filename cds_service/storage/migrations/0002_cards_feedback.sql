-- Every card the service issued, so feedback can be joined to what the clinician was shown.
-- No patient identifiers: only the card's own ids, its kind from the knowledge base and when.
CREATE TABLE cds_card (
    uuid             VARCHAR(36) PRIMARY KEY,
    service_id       VARCHAR(64) NOT NULL,
    hook             VARCHAR(32) NOT NULL,
    kind             VARCHAR(64) NOT NULL,
    indicator        VARCHAR(16) NOT NULL,
    suggestion_uuids TEXT NOT NULL,
    consult_id       VARCHAR(64),
    issued_at        BIGINT NOT NULL
);

CREATE INDEX cds_card_issued ON cds_card (issued_at);

-- Appropriateness ratings returned as systemActions (Argonaut PAMA), one per judged draft order.
CREATE TABLE cds_rating (
    consult_id  VARCHAR(64) PRIMARY KEY,
    service_id  VARCHAR(64) NOT NULL,
    order_kind  VARCHAR(64) NOT NULL,
    rating      VARCHAR(32) NOT NULL,
    issued_at   BIGINT NOT NULL
);

CREATE INDEX cds_rating_issued ON cds_rating (issued_at);

-- Feedback items as received. feedback_key is a hash of the item's content, so a client that
-- sends the same item twice (CDS Hooks allows it) stores it once. The clinician's free-text
-- comment is not kept (it may name the patient); only whether there was one.
CREATE TABLE cds_feedback (
    feedback_key         VARCHAR(64) PRIMARY KEY,
    service_id           VARCHAR(64) NOT NULL,
    card_uuid            VARCHAR(64) NOT NULL,
    outcome              VARCHAR(16) NOT NULL,
    accepted_suggestions TEXT,
    override_system      VARCHAR(256),
    override_code        VARCHAR(128),
    override_display     VARCHAR(256),
    has_comment          INTEGER NOT NULL,
    outcome_at           BIGINT NOT NULL,
    received_at          BIGINT NOT NULL
);

CREATE INDEX cds_feedback_card ON cds_feedback (card_uuid);
CREATE INDEX cds_feedback_received ON cds_feedback (received_at);
