-- 微志愿: the six teams of every village, volunteers, posts with shifts, sign-ups with a waiting
-- list, attendance, certificates, needs found at the door; and in-app notifications, which every
-- pillar uses. Kept in lockstep with ../postgres/0003_volunteer.sql.

-- A team (志愿队) of one of the six kinds; every village has all six.
CREATE TABLE volunteer_teams (
    id          INTEGER PRIMARY KEY,
    town_id     INTEGER NOT NULL REFERENCES towns(id),
    village_id  INTEGER NOT NULL REFERENCES villages(id),
    kind        TEXT NOT NULL CHECK (kind IN ('livelihood', 'policy', 'patrol', 'environment', 'mediation', 'culture')),
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (village_id, kind)
);
-- The six teams of the villages that existed before this migration.
INSERT INTO volunteer_teams (town_id, village_id, kind, created_at)
SELECT v.town_id, v.id, k.kind, CURRENT_TIMESTAMP
FROM villages v CROSS JOIN (SELECT 'livelihood' AS kind UNION ALL SELECT 'policy' UNION ALL SELECT 'patrol'
    UNION ALL SELECT 'environment' UNION ALL SELECT 'mediation' UNION ALL SELECT 'culture') k;

-- A team's leaders: village staff accounts.
CREATE TABLE volunteer_team_leaders (
    team_id     INTEGER NOT NULL REFERENCES volunteer_teams(id),
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, account_id)
);

-- A volunteer (志愿者): a resident who registered with consent (a guardian's for a child under 14).
CREATE TABLE volunteers (
    id                INTEGER PRIMARY KEY,
    town_id           INTEGER NOT NULL REFERENCES towns(id),
    village_id        INTEGER NOT NULL REFERENCES villages(id),
    resident_id       INTEGER NOT NULL UNIQUE REFERENCES residents(id),
    number            TEXT NOT NULL UNIQUE,
    skills            TEXT NOT NULL DEFAULT '',
    availability      TEXT NOT NULL DEFAULT '',
    consent_at        TIMESTAMP NOT NULL,
    guardian_name     TEXT NOT NULL DEFAULT '',
    guardian_relation TEXT NOT NULL DEFAULT '',
    recorded_by       INTEGER,
    recorded_by_name  TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX volunteers_village ON volunteers (village_id);

CREATE TABLE volunteer_members (
    team_id       INTEGER NOT NULL REFERENCES volunteer_teams(id),
    volunteer_id  INTEGER NOT NULL REFERENCES volunteers(id),
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, volunteer_id)
);
CREATE INDEX volunteer_members_volunteer ON volunteer_members (volunteer_id);

-- A post (志愿岗位) of a team; a recurring post generates its shifts from its weekly pattern.
CREATE TABLE volunteer_posts (
    id               INTEGER PRIMARY KEY,
    town_id          INTEGER NOT NULL REFERENCES towns(id),
    village_id       INTEGER NOT NULL REFERENCES villages(id),
    team_id          INTEGER NOT NULL REFERENCES volunteer_teams(id),
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    place            TEXT NOT NULL,
    skills           TEXT NOT NULL DEFAULT '',
    open_to          TEXT NOT NULL CHECK (open_to IN ('village', 'town')),
    rule_code        TEXT NOT NULL,
    recurrence       TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_by       INTEGER,
    created_by_name  TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    closed_at        TIMESTAMP
);
CREATE INDEX volunteer_posts_town ON volunteer_posts (town_id, status, id);

-- A shift (班次): taken counts confirmed places, so that a sign-up takes a place with one guarded
-- update and capacity holds however sign-ups race; waiting counts the line, kept under the same row
-- lock, so that joining it needs no count of those ahead.
CREATE TABLE volunteer_shifts (
    id           INTEGER PRIMARY KEY,
    post_id      INTEGER NOT NULL REFERENCES volunteer_posts(id),
    town_id      INTEGER NOT NULL REFERENCES towns(id),
    village_id   INTEGER NOT NULL REFERENCES villages(id),
    day          TEXT NOT NULL,
    starts_at    TIMESTAMP NOT NULL,
    ends_at      TIMESTAMP NOT NULL,
    capacity     INTEGER NOT NULL CHECK (capacity > 0),
    taken        INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0 AND taken <= capacity),
    waiting      INTEGER NOT NULL DEFAULT 0 CHECK (waiting >= 0),
    completed_at TIMESTAMP,
    completed_by_name TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at),
    UNIQUE (post_id, starts_at)
);
CREATE INDEX volunteer_shifts_town_day ON volunteer_shifts (town_id, day);

-- A sign-up (报名): confirmed holds a place, waiting is in line (by queued_at, id), then attended
-- or no_show once the shift is confirmed complete; cancelled frees the place.
CREATE TABLE volunteer_signups (
    id               INTEGER PRIMARY KEY,
    shift_id         INTEGER NOT NULL REFERENCES volunteer_shifts(id),
    volunteer_id     INTEGER NOT NULL REFERENCES volunteers(id),
    resident_id      INTEGER NOT NULL REFERENCES residents(id),
    status           TEXT NOT NULL CHECK (status IN ('confirmed', 'waiting', 'cancelled', 'attended', 'no_show')),
    queued_at        TIMESTAMP NOT NULL,
    scanned_in_at    TIMESTAMP,
    scanned_out_at   TIMESTAMP,
    checked_in_at    TIMESTAMP,
    checked_out_at   TIMESTAMP,
    checked_in_by    TEXT NOT NULL DEFAULT '',
    checked_out_by   TEXT NOT NULL DEFAULT '',
    minutes          INTEGER NOT NULL DEFAULT 0,
    confirmed_by     TEXT NOT NULL DEFAULT '',
    transaction_id   INTEGER,
    award_error      TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (shift_id, resident_id)
);
CREATE INDEX volunteer_signups_queue ON volunteer_signups (shift_id, status, queued_at, id);
CREATE INDEX volunteer_signups_resident ON volunteer_signups (resident_id, status);

-- A service certificate (志愿服务证明) as issued: its number and what it stated.
CREATE TABLE volunteer_certificates (
    id            INTEGER PRIMARY KEY,
    volunteer_id  INTEGER NOT NULL REFERENCES volunteers(id),
    number        TEXT NOT NULL UNIQUE,
    minutes       INTEGER NOT NULL,
    shifts        INTEGER NOT NULL,
    issued_by     TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL
);

-- A need (群众需求) found at the door or filed by a resident: 点单 (open) → 派单 (assigned to a
-- team) → 接单 (taken by a volunteer) → done → 评单 (rated); refused ends it with a reason.
CREATE TABLE volunteer_needs (
    id               INTEGER PRIMARY KEY,
    town_id          INTEGER NOT NULL REFERENCES towns(id),
    village_id       INTEGER NOT NULL REFERENCES villages(id),
    category         TEXT NOT NULL,
    description      TEXT NOT NULL,
    for_resident_id  INTEGER REFERENCES residents(id),
    for_name         TEXT NOT NULL,
    urgency          TEXT NOT NULL CHECK (urgency IN ('low', 'normal', 'high', 'urgent')),
    status           TEXT NOT NULL CHECK (status IN ('open', 'assigned', 'taken', 'done', 'rated', 'refused')),
    team_id          INTEGER REFERENCES volunteer_teams(id),
    volunteer_id     INTEGER REFERENCES volunteers(id),
    rating           INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_comment   TEXT NOT NULL DEFAULT '',
    source           TEXT NOT NULL CHECK (source IN ('visit', 'self')),
    recorded_by      INTEGER,
    recorded_by_name TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    closed_at        TIMESTAMP
);
CREATE INDEX volunteer_needs_village ON volunteer_needs (village_id, status, id);
CREATE INDEX volunteer_needs_for ON volunteer_needs (for_resident_id);

-- Every step of a need, with who took it and why (a refusal or a sending back needs a reason).
CREATE TABLE volunteer_need_events (
    id           INTEGER PRIMARY KEY,
    need_id      INTEGER NOT NULL REFERENCES volunteer_needs(id),
    status       TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    actor_id     INTEGER,
    actor_name   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX volunteer_need_events_need ON volunteer_need_events (need_id, id);

-- An in-app notification to a resident (站内消息).
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY,
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL DEFAULT '',
    link         TEXT NOT NULL DEFAULT '',
    sender_name  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    read_at      TIMESTAMP
);
CREATE INDEX notifications_resident ON notifications (resident_id, id);
