-- 微党校's demand surveys (问需): the town asks its village party branches which categories and
-- topics they need, and when. Kept in lockstep with ../postgres/0020_school_surveys.sql.

-- A survey of a town: its title, the question put to the branches (note), the last day answers
-- are taken (deadline, the town's calendar, 2026-12-20), open or closed by the town (the reason
-- kept). created_by and answered_by are empty for work done by the system (the demo).
CREATE TABLE school_surveys (
    id            INTEGER PRIMARY KEY,
    town_id       INTEGER NOT NULL REFERENCES towns(id),
    title         TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    deadline      TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_reason TEXT NOT NULL DEFAULT '',
    created_by    INTEGER REFERENCES accounts(id),
    created_at    TIMESTAMP NOT NULL,
    closed_at     TIMESTAMP
);
CREATE INDEX school_surveys_town ON school_surveys (town_id, id);

-- The villages (their branches) a survey goes to.
CREATE TABLE school_survey_villages (
    survey_id  INTEGER NOT NULL REFERENCES school_surveys(id),
    village_id INTEGER NOT NULL REFERENCES villages(id),
    PRIMARY KEY (survey_id, village_id)
);
CREATE INDEX school_survey_villages_village ON school_survey_villages (village_id);

-- A branch's answer, one per village and survey, edited in place until the deadline or the close:
-- the categories it needs (ids of the town's categories, comma-separated), its topics (short
-- lines, newline-separated), the months it wants them (2027-01, comma-separated) and a note.
CREATE TABLE school_survey_answers (
    id            INTEGER PRIMARY KEY,
    survey_id     INTEGER NOT NULL REFERENCES school_surveys(id),
    village_id    INTEGER NOT NULL REFERENCES villages(id),
    category_ids  TEXT NOT NULL DEFAULT '',
    topics        TEXT NOT NULL DEFAULT '',
    months        TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    answered_by   INTEGER REFERENCES accounts(id),
    answered_name TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (survey_id, village_id)
);
