-- The hub's schema (PostgreSQL). Times are Unix milliseconds (BIGINT), so the same SQL does
-- date arithmetic on SQLite and PostgreSQL. No column holds a credential: targets keep a
-- locator (context name, kubeconfig path, cloud name), never a token, key or password.

CREATE TABLE targets (
    name        TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,
    locator     TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    owner       TEXT NOT NULL DEFAULT '',
    team        TEXT NOT NULL DEFAULT '',
    environment TEXT NOT NULL DEFAULT '',
    region      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    -- the newest scan, and the newest scan with a ReportList (what the list counts)
    last_scan_id   BIGINT,
    last_report_id BIGINT
);

CREATE TABLE scans (
    id           BIGSERIAL PRIMARY KEY,
    uuid         TEXT NOT NULL UNIQUE,
    target       TEXT NOT NULL,
    -- complete | partial | nothing_collected (a ReportList) or failed (no ReportList, `error`)
    status       TEXT NOT NULL,
    error        TEXT,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    identity     TEXT NOT NULL DEFAULT '',
    -- detector reports per level (the ReportList summary) and unsuppressed findings
    fatal        BIGINT NOT NULL DEFAULT 0,
    error_count  BIGINT NOT NULL DEFAULT 0,
    warn         BIGINT NOT NULL DEFAULT 0,
    unknown      BIGINT NOT NULL DEFAULT 0,
    normal       BIGINT NOT NULL DEFAULT 0,
    findings     BIGINT NOT NULL DEFAULT 0,
    -- 0 Normal, 1 Unknown, 2 Warn, 3 Error, 4 Fatal: the worst report level
    worst_rank   BIGINT NOT NULL DEFAULT 0,
    unused_score BIGINT,
    -- the full ReportList: its JSON, gzip-compressed (NULL for a failed scan)
    report       BYTEA
);
CREATE INDEX scans_by_target ON scans (target, started_at DESC, id DESC);
CREATE INDEX scans_by_start ON scans (started_at);

-- One row per open (or last resolved) finding of a target, keyed by its fingerprint.
CREATE TABLE findings (
    target          TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    detector        TEXT NOT NULL,
    level           TEXT NOT NULL,
    level_rank      BIGINT NOT NULL,
    object          TEXT NOT NULL DEFAULT '',
    message         TEXT NOT NULL,
    first_seen_scan BIGINT NOT NULL,
    first_seen_at   BIGINT NOT NULL,
    last_seen_scan  BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    resolved_scan   BIGINT,
    resolved_at     BIGINT,
    PRIMARY KEY (target, fingerprint)
);
CREATE INDEX findings_by_detector ON findings (detector, resolved_scan);
CREATE INDEX findings_by_first_seen ON findings (target, first_seen_scan);
CREATE INDEX findings_by_resolved ON findings (target, resolved_scan);
