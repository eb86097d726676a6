-- 微党校's lesson orders (点单 → 派单 → 接单 → 开课) on the flow kit, and the lessons they become.
-- The timeline of each order is in flow_steps (flow 'school.order'). Kept in lockstep with
-- ../postgres/0019_school_orders.sql.

-- An order of a course by a village's party branch: the dates it would like (one to three, the
-- town's calendar, comma-separated), offline at a place or online, the audience it expects (its
-- party members, and others), a note. The town assigns an expert and fixes the time (starts_at,
-- ends_at); the expert accepts or declines (reason keeps the last decline or the cancellation).
CREATE TABLE school_orders (
    id              INTEGER PRIMARY KEY,
    town_id         INTEGER NOT NULL REFERENCES towns(id),
    village_id      INTEGER NOT NULL REFERENCES villages(id),
    course_id       INTEGER NOT NULL REFERENCES school_courses(id),
    status          TEXT NOT NULL DEFAULT 'ordered' CHECK (status IN ('ordered', 'assigned', 'accepted', 'cancelled')),
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
CREATE INDEX school_orders_town ON school_orders (town_id, status, id);
CREATE INDEX school_orders_village ON school_orders (village_id, id);
CREATE INDEX school_orders_expert ON school_orders (expert_id, status);

-- A lesson (党课): what an accepted order became, at its time and place or meeting link. The
-- attendance of the next slice (its roll and check-ins) hangs off it. A cancelled lesson keeps its
-- row and the reason.
CREATE TABLE school_lessons (
    id             INTEGER PRIMARY KEY,
    order_id       INTEGER NOT NULL UNIQUE REFERENCES school_orders(id),
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
    CHECK (ends_at > starts_at)
);
CREATE INDEX school_lessons_expert ON school_lessons (expert_id, status, starts_at);
CREATE INDEX school_lessons_town ON school_lessons (town_id, starts_at);
