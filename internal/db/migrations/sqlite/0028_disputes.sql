-- 微联盟's one-stop dispute centre (一站式多元解纷中心, internal/alliance): consultations at
-- intake, and cases with their parties, mediation team and sessions. Only the centre's staff
-- (dispute_staff of the town) read any of it. Kept in lockstep with ../postgres/0028_disputes.sql.

-- A consultation (接待): a person came, rang or booked from their phone with a matter, and was
-- advised. A booking (status booked) waits for the centre to answer it; it then becomes answered.
-- The person is a resident (resident_id) or someone else, by name and phone.
CREATE TABLE dispute_consultations (
    id             INTEGER PRIMARY KEY,
    town_id        INTEGER NOT NULL REFERENCES towns(id),
    village_id     INTEGER REFERENCES villages(id),
    day            TEXT NOT NULL,
    resident_id    INTEGER REFERENCES residents(id),
    name           TEXT NOT NULL,
    phone          TEXT NOT NULL DEFAULT '',
    matter         TEXT NOT NULL,
    advice         TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('booked', 'answered')),
    preferred_day  TEXT NOT NULL DEFAULT '',
    case_id        INTEGER,
    became_case    BOOLEAN NOT NULL DEFAULT FALSE,
    created_by     INTEGER REFERENCES accounts(id),
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX dispute_consultations_town ON dispute_consultations (town_id, status, day);
CREATE INDEX dispute_consultations_resident ON dispute_consultations (resident_id);

-- A case (案件) on the flow kit (alliance.dispute_case): mediating, then one outcome — settled
-- (调解成功, the agreement and whether a court confirmed it), understood (初步谅解), filed (现场立案,
-- with the court's case number) or ended (终止, the reason in the timeline).
CREATE TABLE dispute_cases (
    id              INTEGER PRIMARY KEY,
    town_id         INTEGER NOT NULL REFERENCES towns(id),
    village_id      INTEGER NOT NULL REFERENCES villages(id),
    title           TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('land', 'neighbour', 'family', 'labour', 'contract', 'other')),
    source          TEXT NOT NULL CHECK (source IN ('hotline', 'window', 'court', 'village')),
    summary         TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('mediating', 'settled', 'understood', 'filed', 'ended')),
    consultation_id INTEGER REFERENCES dispute_consultations(id),
    due_at          TIMESTAMP NOT NULL,
    agreement       TEXT NOT NULL DEFAULT '',
    confirmed       BOOLEAN NOT NULL DEFAULT FALSE,
    court_number    TEXT NOT NULL DEFAULT '',
    closed_at       TIMESTAMP,
    created_by      INTEGER NOT NULL REFERENCES accounts(id),
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX dispute_cases_town ON dispute_cases (town_id, status);

-- A party to a case: a resident (told of each step) or someone else, by name, as 申请人 or 被申请人.
CREATE TABLE dispute_parties (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES dispute_cases(id),
    resident_id  INTEGER REFERENCES residents(id),
    name         TEXT NOT NULL,
    phone        TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL CHECK (role IN ('applicant', 'respondent'))
);
CREATE INDEX dispute_parties_case ON dispute_parties (case_id);

-- The mediation team of a case: 法官, 特邀调解员, 规划部门, 村两委, 乡贤, by name and unit.
CREATE TABLE dispute_team (
    id       INTEGER PRIMARY KEY,
    case_id  INTEGER NOT NULL REFERENCES dispute_cases(id),
    role     TEXT NOT NULL CHECK (role IN ('judge', 'mediator', 'planning', 'village', 'elder')),
    name     TEXT NOT NULL,
    unit     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX dispute_team_case ON dispute_team (case_id);

-- A mediation session: the day, the place (上门 visit, or at the centre), who attended, what was
-- done (确权, 法律宣传, 政策解答: a comma list of boundary, law, policy) and notes; photos are
-- alliance_photos of owner 'session'.
CREATE TABLE dispute_sessions (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES dispute_cases(id),
    day         TEXT NOT NULL,
    place       TEXT NOT NULL CHECK (place IN ('visit', 'centre')),
    attendees   TEXT NOT NULL,
    work        TEXT NOT NULL DEFAULT '',
    notes       TEXT NOT NULL DEFAULT '',
    created_by  INTEGER NOT NULL REFERENCES accounts(id),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX dispute_sessions_case ON dispute_sessions (case_id);
