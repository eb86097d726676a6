-- The 流动红旗 awarded every month by a published formula, the monthly 文明大户 lists, and the
-- stories marked for the 融媒 joint report (internal/honours: flags.go, households.go, media.go).
-- Kept in lockstep with ../postgres/0032_honours_flags.sql.

-- The town's formula of the 流动红旗, in whole weights: the score of a village in a month is
-- points × its points per head + hours × its 微志愿 hours per head + lessons × its party members'
-- lesson coverage (0 to 1). A town that never set one uses points 1 and the others 0.
CREATE TABLE honours_flag_weights (
    town_id          INTEGER PRIMARY KEY REFERENCES towns(id),
    points           INTEGER NOT NULL CHECK (points BETWEEN 0 AND 100),
    hours            INTEGER NOT NULL CHECK (hours BETWEEN 0 AND 100),
    lessons          INTEGER NOT NULL CHECK (lessons BETWEEN 0 AND 100),
    updated_by_name  TEXT NOT NULL DEFAULT '',
    updated_at       TIMESTAMP NOT NULL
);

-- A month's award of the 流动红旗: once per town and month (the unique key holds under races),
-- with the weights it was computed by and who awarded it why.
CREATE TABLE honours_flags (
    id               INTEGER PRIMARY KEY,
    town_id          INTEGER NOT NULL REFERENCES towns(id),
    month            TEXT NOT NULL,
    w_points         INTEGER NOT NULL,
    w_hours          INTEGER NOT NULL,
    w_lessons        INTEGER NOT NULL,
    reason           TEXT NOT NULL DEFAULT '',
    awarded_by_name  TEXT NOT NULL DEFAULT '',
    awarded_at       TIMESTAMP NOT NULL,
    UNIQUE (town_id, month)
);

-- Every village's inputs and score in an award, as computed then: residents in the register
-- (heads), points earned in the month, 微志愿 minutes served, party members and those who attended a
-- lesson (reached), the score in thousandths, the rank; the holders are rank 1 (a tie: several).
CREATE TABLE honours_flag_rows (
    flag_id     INTEGER NOT NULL REFERENCES honours_flags(id),
    village_id  INTEGER NOT NULL REFERENCES villages(id),
    heads       INTEGER NOT NULL,
    points      INTEGER NOT NULL,
    minutes     INTEGER NOT NULL,
    members     INTEGER NOT NULL,
    reached     INTEGER NOT NULL,
    score       INTEGER NOT NULL,
    rank        INTEGER NOT NULL,
    PRIMARY KEY (flag_id, village_id)
);
CREATE INDEX honours_flag_rows_village ON honours_flag_rows (village_id, rank);

-- A month's 文明大户 list: the top households by the month's points (size places, and those
-- level with the last), put on notice (its notice is kind 'households', ref_id this id) and kept
-- when published. A list withdrawn from notice is followed by a new one, the next attempt; two
-- lists opened for a month at once meet on the unique key.
CREATE TABLE honours_household_lists (
    id               INTEGER PRIMARY KEY,
    town_id          INTEGER NOT NULL REFERENCES towns(id),
    month            TEXT NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 1,
    size             INTEGER NOT NULL CHECK (size > 0),
    created_by_name  TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    published_at     TIMESTAMP,
    UNIQUE (town_id, month, attempt)
);

-- The households of a list as put on notice, with their points of the month and the board's
-- label (the head's name, a minor's masked); kept marks those published (not struck).
CREATE TABLE honours_household_items (
    list_id       INTEGER NOT NULL REFERENCES honours_household_lists(id),
    household_id  INTEGER NOT NULL REFERENCES households(id),
    village_id    INTEGER NOT NULL REFERENCES villages(id),
    rank          INTEGER NOT NULL,
    points        INTEGER NOT NULL,
    label         TEXT NOT NULL,
    kept          BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (list_id, household_id)
);

-- A story marked for the 融媒 joint report (融媒联合报道): an approved deed of an action, a name on
-- the 名录墙, or an action (kind, ref_id in the owner's table), once each, with staff's note.
CREATE TABLE honours_media (
    id               INTEGER PRIMARY KEY,
    town_id          INTEGER NOT NULL REFERENCES towns(id),
    kind             TEXT NOT NULL CHECK (kind IN ('deed', 'wall', 'action')),
    ref_id           INTEGER NOT NULL,
    note             TEXT NOT NULL DEFAULT '',
    marked_by_name   TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (kind, ref_id)
);
CREATE INDEX honours_media_town ON honours_media (town_id, id);
