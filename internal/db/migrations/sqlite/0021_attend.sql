-- The kit's attendance model (签到), shared by every pillar: an event with its roll, check-ins by
-- a rotating QR, a roll call, a link or a sign-in sheet typed back, and person-times. 微党校's
-- lessons are its first events; 评单 (the branch's rating) closes a lesson order, and attendees rate
-- the lesson. Kept in lockstep with ../postgres/0021_attend.sql.

-- An event people attend: kind names the pillar's record (school.lesson) and ref_id its id. The
-- roll is closed (closed_at) when staff end the check-in, or the event is cancelled.
CREATE TABLE attend_events (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    ref_id       INTEGER NOT NULL,
    town_id      INTEGER NOT NULL REFERENCES towns(id),
    village_id   INTEGER REFERENCES villages(id),
    title        TEXT NOT NULL,
    starts_at    TIMESTAMP NOT NULL,
    ends_at      TIMESTAMP NOT NULL,
    online       BOOLEAN NOT NULL DEFAULT FALSE,
    closed_at    TIMESTAMP,
    closed_by    TEXT NOT NULL DEFAULT '',
    cancelled_at TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    UNIQUE (kind, ref_id),
    CHECK (ends_at > starts_at)
);
CREATE INDEX attend_events_town ON attend_events (town_id, kind, starts_at);

-- A person on an event's roll: there by membership (the branch's party members) or invited, and
-- checked in once, by which means and by whom. The points an attendance earns are the pillar's to
-- pay; the bank's answer is kept here (the transaction, or why it was not paid).
CREATE TABLE attend_entries (
    event_id       INTEGER NOT NULL REFERENCES attend_events(id),
    resident_id    INTEGER NOT NULL REFERENCES residents(id),
    invited        BOOLEAN NOT NULL DEFAULT FALSE,
    checked_in_at  TIMESTAMP,
    method         TEXT NOT NULL DEFAULT '' CHECK (method IN ('', 'qr', 'roll', 'link', 'sheet')),
    checked_by     TEXT NOT NULL DEFAULT '',
    transaction_id INTEGER,
    pay_note       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, resident_id)
);
CREATE INDEX attend_entries_resident ON attend_entries (resident_id, event_id);

-- An order the branch rated is done, and a lesson keeps the branch's rating (评单) and what its
-- 两委 will apply (学后转化, up to three lines, one per line). SQLite cannot change a CHECK, so both
-- tables are rebuilt: the lessons' copy references the orders' copy, whose renaming carries the
-- reference along, so that no row is ever without its parent.
CREATE TABLE school_orders_new (
    id              INTEGER PRIMARY KEY,
    town_id         INTEGER NOT NULL REFERENCES towns(id),
    village_id      INTEGER NOT NULL REFERENCES villages(id),
    course_id       INTEGER NOT NULL REFERENCES school_courses(id),
    status          TEXT NOT NULL DEFAULT 'ordered' CHECK (status IN ('ordered', 'assigned', 'accepted', 'rated', 'cancelled')),
    dates           TEXT NOT NULL,
    mode            TEXT NOT NULL CHECK (mode IN ('offline', 'online')),
    place           TEXT NOT NULL DEFAULT '',
    members         INTEGER NOT NULL CHECK (members >= 0),
    others          INTEGER NOT NULL DEFAULT 0 CHECK (others >= 0),
    note            TEXT NOT NULL DEFAULT '',
    ordered_by      INTEGER NOT NULL REFERENCES accounts(id),
    ordered_by_name TEXT NOT NULL DEFAULT '',
    expert_id       INTEGER REFERENCES school_experts(id),
    starts_at       TIMESTAMP,
    ends_at         TIMESTAMP,
    reason          TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
INSERT INTO school_orders_new (id, town_id, village_id, course_id, status, dates, mode, place, members, others, note, ordered_by, ordered_by_name,
    expert_id, starts_at, ends_at, reason, created_at, updated_at)
    SELECT id, town_id, village_id, course_id, status, dates, mode, place, members, others, note, ordered_by, ordered_by_name,
    expert_id, starts_at, ends_at, reason, created_at, updated_at FROM school_orders;
CREATE TABLE school_lessons_new (
    id             INTEGER PRIMARY KEY,
    order_id       INTEGER NOT NULL UNIQUE REFERENCES school_orders_new(id),
    town_id        INTEGER NOT NULL REFERENCES towns(id),
    village_id     INTEGER NOT NULL REFERENCES villages(id),
    course_id      INTEGER NOT NULL REFERENCES school_courses(id),
    expert_id      INTEGER NOT NULL REFERENCES school_experts(id),
    starts_at      TIMESTAMP NOT NULL,
    ends_at        TIMESTAMP NOT NULL,
    mode           TEXT NOT NULL CHECK (mode IN ('offline', 'online')),
    place          TEXT NOT NULL DEFAULT '',
    link           TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    cancel_reason  TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    branch_rating  INTEGER,
    branch_comment TEXT NOT NULL DEFAULT '',
    applied        TEXT NOT NULL DEFAULT '',
    CHECK (ends_at > starts_at)
);
INSERT INTO school_lessons_new (id, order_id, town_id, village_id, course_id, expert_id, starts_at, ends_at, mode, place, link, status, cancel_reason, created_at)
    SELECT id, order_id, town_id, village_id, course_id, expert_id, starts_at, ends_at, mode, place, link, status, cancel_reason, created_at FROM school_lessons;
DROP TABLE school_lessons;
DROP TABLE school_orders;
ALTER TABLE school_orders_new RENAME TO school_orders;
ALTER TABLE school_lessons_new RENAME TO school_lessons;
CREATE INDEX school_orders_town ON school_orders (town_id, status, id);
CREATE INDEX school_orders_village ON school_orders (village_id, id);
CREATE INDEX school_orders_expert ON school_orders (expert_id, status);
CREATE INDEX school_lessons_expert ON school_lessons (expert_id, status, starts_at);
CREATE INDEX school_lessons_town ON school_lessons (town_id, starts_at);

-- An attendee's rating of a lesson (1–5) and comment; one each, which they may change.
CREATE TABLE school_ratings (
    lesson_id   INTEGER NOT NULL REFERENCES school_lessons(id),
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (lesson_id, resident_id)
);
