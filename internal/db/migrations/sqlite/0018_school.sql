-- 微党校 (internal/school): the expert pool, when each expert can teach, the course categories and
-- the course menu (课程菜单) with each course's experts and materials. Orders, lessons and
-- attendance come in later migrations. Kept in lockstep with ../postgres/0018_school.sql.

-- An expert (专家) of a town's pool. Contact details are shown to staff only. A retired expert keeps
-- their row and their courses' history, and is offered for no new course. account_id is the login
-- with the expert role that is this expert.
CREATE TABLE school_experts (
    id             INTEGER PRIMARY KEY,
    town_id        INTEGER NOT NULL REFERENCES towns(id),
    name           TEXT NOT NULL,
    affiliation    TEXT NOT NULL,
    title          TEXT NOT NULL DEFAULT '',
    fields         TEXT NOT NULL DEFAULT '',
    bio            TEXT NOT NULL DEFAULT '',
    phone          TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    account_id     INTEGER UNIQUE REFERENCES accounts(id),
    retired_at     TIMESTAMP,
    retired_reason TEXT NOT NULL DEFAULT '',
    retired_by     TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX school_experts_town ON school_experts (town_id, name);
-- The logins that may be linked to an expert are a town's holders of the expert role: found by
-- role and town among every resident's grant of a district, not by a scan of them all.
CREATE INDEX account_roles_role_town ON account_roles (role, town_id);

-- An expert's photo, re-encoded as the bank re-encodes a claim's (bank.ProcessPhoto).
CREATE TABLE school_expert_photos (
    expert_id   INTEGER PRIMARY KEY REFERENCES school_experts(id),
    mime        TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    data        BLOB NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- When an expert can teach: a time of day on a weekday (1 Monday … 7 Sunday) every week, or on
-- every day of a span of days (from_day … to_day, the town's calendar); one of the two.
CREATE TABLE school_availability (
    id          INTEGER PRIMARY KEY,
    expert_id   INTEGER NOT NULL REFERENCES school_experts(id),
    weekday     INTEGER CHECK (weekday BETWEEN 1 AND 7),
    from_day    TEXT,
    to_day      TEXT,
    start_time  TEXT NOT NULL,
    end_time    TEXT NOT NULL,
    CHECK ((weekday IS NULL) <> (from_day IS NULL)),
    CHECK ((from_day IS NULL) = (to_day IS NULL))
);
CREATE INDEX school_availability_expert ON school_availability (expert_id);

-- Course categories: the nine the article names belong to every town (town_id empty); a town adds
-- its own.
CREATE TABLE school_categories (
    id          INTEGER PRIMARY KEY,
    town_id     INTEGER REFERENCES towns(id),
    name        TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX school_categories_name ON school_categories (COALESCE(town_id, 0), name);
INSERT INTO school_categories (town_id, name, position, created_at) VALUES
    (NULL, '党性教育', 1, CURRENT_TIMESTAMP),
    (NULL, '微协商议事规则', 2, CURRENT_TIMESTAMP),
    (NULL, '规范化党建知识', 3, CURRENT_TIMESTAMP),
    (NULL, '党建项目品牌化', 4, CURRENT_TIMESTAMP),
    (NULL, '疫情防控', 5, CURRENT_TIMESTAMP),
    (NULL, '接诉即办矛盾调解', 6, CURRENT_TIMESTAMP),
    (NULL, '志愿服务', 7, CURRENT_TIMESTAMP),
    (NULL, '垃圾分类', 8, CURRENT_TIMESTAMP),
    (NULL, '治理政策', 9, CURRENT_TIMESTAMP);

-- A course of the menu. times_taught, rating_count and rating_sum are what its lessons give back:
-- the lessons' migration adds the table that feeds them, in each lesson's own transaction; until
-- then they stay 0 and the menu says 暂无评分.
CREATE TABLE school_courses (
    id            INTEGER PRIMARY KEY,
    town_id       INTEGER NOT NULL REFERENCES towns(id),
    category_id   INTEGER NOT NULL REFERENCES school_categories(id),
    title         TEXT NOT NULL,
    outline       TEXT NOT NULL DEFAULT '',
    minutes       INTEGER NOT NULL CHECK (minutes BETWEEN 10 AND 480),
    format        TEXT NOT NULL CHECK (format IN ('offline', 'online', 'both')),
    status        TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'offered', 'withdrawn')),
    material_url  TEXT NOT NULL DEFAULT '',
    times_taught  INTEGER NOT NULL DEFAULT 0,
    rating_count  INTEGER NOT NULL DEFAULT 0,
    rating_sum    INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX school_courses_title ON school_courses (town_id, title);
CREATE INDEX school_courses_menu ON school_courses (town_id, status, category_id);

-- The experts who can teach a course.
CREATE TABLE school_course_experts (
    course_id   INTEGER NOT NULL REFERENCES school_courses(id),
    expert_id   INTEGER NOT NULL REFERENCES school_experts(id),
    PRIMARY KEY (course_id, expert_id)
);
CREATE INDEX school_course_experts_expert ON school_course_experts (expert_id);

-- A course's materials as a PDF (at most 20 MiB, checked before it is stored); a link is kept on
-- the course instead.
CREATE TABLE school_materials (
    course_id    INTEGER PRIMARY KEY REFERENCES school_courses(id),
    file_name    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    data         BLOB NOT NULL,
    uploaded_at  TIMESTAMP NOT NULL
);
