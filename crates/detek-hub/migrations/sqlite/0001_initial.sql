-- The hub's schema (SQLite). Times are Unix milliseconds (INTEGER), so the same SQL does
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
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    -- the newest scan, and the newest scan with a ReportList (what the list counts)
    last_scan_id   INTEGER,
    last_report_id INTEGER
);

CREATE TABLE scans (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid         TEXT NOT NULL UNIQUE,
    target       TEXT NOT NULL,
    -- complete | partial | nothing_collected (a ReportList) or failed (no ReportList, `error`)
    status       TEXT NOT NULL,
    error        TEXT,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    identity     TEXT NOT NULL DEFAULT '',
    -- detector reports per level (the ReportList summary) and unsuppressed findings
    fatal        INTEGER NOT NULL DEFAULT 0,
    error_count  INTEGER NOT NULL DEFAULT 0,
    warn         INTEGER NOT NULL DEFAULT 0,
    unknown      INTEGER NOT NULL DEFAULT 0,
    normal       INTEGER NOT NULL DEFAULT 0,
    findings     INTEGER NOT NULL DEFAULT 0,
    -- 0 Normal, 1 Unknown, 2 Warn, 3 Error, 4 Fatal: the worst report level
    worst_rank   INTEGER NOT NULL DEFAULT 0,
    unused_score INTEGER,
    -- the full ReportList: its JSON, gzip-compressed (NULL for a failed scan)
    report       BLOB
);
CREATE INDEX scans_by_target ON scans (target, started_at DESC, id DESC);
CREATE INDEX scans_by_start ON scans (started_at);

-- One row per open (or last resolved) finding of a target, keyed by its fingerprint.
CREATE TABLE findings (
    target          TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    detector        TEXT NOT NULL,
    level           TEXT NOT NULL,
    level_rank      INTEGER NOT NULL,
    object          TEXT NOT NULL DEFAULT '',
    message         TEXT NOT NULL,
    first_seen_scan INTEGER NOT NULL,
    first_seen_at   INTEGER NOT NULL,
    last_seen_scan  INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    resolved_scan   INTEGER,
    resolved_at     INTEGER,
    PRIMARY KEY (target, fingerprint)
);
CREATE INDEX findings_by_detector ON findings (detector, resolved_scan);
CREATE INDEX findings_by_first_seen ON findings (target, first_seen_scan);
CREATE INDEX findings_by_resolved ON findings (target, resolved_scan);
