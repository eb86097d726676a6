-- Contests judged by panels (评比: 一米微花园, 最美庭院, 门前三包, internal/honours contests.go):
-- the contest with its criteria and weights, the households entered, the panels of judges, the
-- judges' sealed score sheets and their history, and each round's results. Kept in lockstep with
-- ../postgres/0031_honours_contests.sql.

-- A contest (评比) the town runs: a village round, whose top `advance` entries of each village go
-- to the town round, whose top `winners` go on public notice and are paid under the bank's rule
-- rule_code. Judges score each criterion from 0 to `scale` (10 or 100). status is the round under
-- way ('village', 'town'), then 'closed' when the town round is closed (its winners on notice),
-- 'published' when the notice is published.
CREATE TABLE honours_contests (
    id               INTEGER PRIMARY KEY,
    town_id          INTEGER NOT NULL REFERENCES towns(id),
    title            TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('garden', 'courtyard', 'frontdoor', 'other')),
    description      TEXT NOT NULL DEFAULT '',
    scale            INTEGER NOT NULL CHECK (scale IN (10, 100)),
    advance          INTEGER NOT NULL CHECK (advance > 0),
    winners          INTEGER NOT NULL CHECK (winners > 0),
    rule_code        TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'village' CHECK (status IN ('village', 'town', 'closed', 'published')),
    village_closed_at TIMESTAMP,
    town_closed_at   TIMESTAMP,
    closed_by_name   TEXT NOT NULL DEFAULT '',
    close_reason     TEXT NOT NULL DEFAULT '',
    created_by       INTEGER NOT NULL REFERENCES accounts(id),
    created_by_name  TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX honours_contests_town ON honours_contests (town_id, status, id);

-- A criterion of a contest (整洁, 创意, 绿化, 维护, …) and its weight in the total.
CREATE TABLE honours_contest_criteria (
    id          INTEGER PRIMARY KEY,
    contest_id  INTEGER NOT NULL REFERENCES honours_contests(id),
    name        TEXT NOT NULL,
    weight      INTEGER NOT NULL CHECK (weight BETWEEN 1 AND 100),
    position    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (contest_id, name)
);

-- A panel member (评审官): an account with the role judge, named to one round of one contest, in
-- a capacity (bank staff 银行工作人员, village staff 村干部, villager representative 村民代表,
-- volunteer 志愿者); a village round's judge scores one village's entries, or every village's for
-- village_id NULL.
CREATE TABLE honours_contest_judges (
    id          INTEGER PRIMARY KEY,
    contest_id  INTEGER NOT NULL REFERENCES honours_contests(id),
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    capacity    TEXT NOT NULL CHECK (capacity IN ('bank_staff', 'village_staff', 'representative', 'volunteer')),
    round       TEXT NOT NULL CHECK (round IN ('village', 'town')),
    village_id  INTEGER REFERENCES villages(id),
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (contest_id, round, account_id)
);
CREATE INDEX honours_contest_judges_account ON honours_contest_judges (account_id, contest_id);

-- An entry: a household in a contest, entered by one of its residents (by_resident) or by a
-- village's staff, with a note and photos; resident_id is whom the points go to.
CREATE TABLE honours_contest_entries (
    id              INTEGER PRIMARY KEY,
    contest_id      INTEGER NOT NULL REFERENCES honours_contests(id),
    town_id         INTEGER NOT NULL REFERENCES towns(id),
    village_id      INTEGER NOT NULL REFERENCES villages(id),
    household_id    INTEGER NOT NULL REFERENCES households(id),
    resident_id     INTEGER NOT NULL REFERENCES residents(id),
    note            TEXT NOT NULL DEFAULT '',
    by_resident     BOOLEAN NOT NULL DEFAULT FALSE,
    entered_by      INTEGER NOT NULL REFERENCES accounts(id),
    entered_by_name TEXT NOT NULL DEFAULT '',
    advanced        BOOLEAN NOT NULL DEFAULT FALSE,
    won             BOOLEAN NOT NULL DEFAULT FALSE,
    transaction_id  INTEGER,
    pay_note        TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (contest_id, household_id)
);
CREATE INDEX honours_contest_entries_village ON honours_contest_entries (contest_id, village_id);

-- A judge's score sheet of an entry in a round, one mark per criterion (honours_contest_marks),
-- sealed until the round closes: nobody but the judge reads it before. A change after submitting
-- keeps the earlier marks in honours_contest_sheet_history.
CREATE TABLE honours_contest_sheets (
    id          INTEGER PRIMARY KEY,
    contest_id  INTEGER NOT NULL REFERENCES honours_contests(id),
    entry_id    INTEGER NOT NULL REFERENCES honours_contest_entries(id),
    round       TEXT NOT NULL CHECK (round IN ('village', 'town')),
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    judge_name  TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    submitted_at TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (entry_id, round, account_id)
);
CREATE INDEX honours_contest_sheets_contest ON honours_contest_sheets (contest_id, round, account_id);

CREATE TABLE honours_contest_marks (
    sheet_id      INTEGER NOT NULL REFERENCES honours_contest_sheets(id),
    criterion_id  INTEGER NOT NULL REFERENCES honours_contest_criteria(id),
    score         INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    PRIMARY KEY (sheet_id, criterion_id)
);

-- The marks a sheet had before a change (marks: criterion id=score, comma separated), and when.
CREATE TABLE honours_contest_sheet_history (
    id          INTEGER PRIMARY KEY,
    sheet_id    INTEGER NOT NULL REFERENCES honours_contest_sheets(id),
    marks       TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    scored_at   TIMESTAMP NOT NULL,
    changed_at  TIMESTAMP NOT NULL
);
CREATE INDEX honours_contest_sheet_history_sheet ON honours_contest_sheet_history (sheet_id, id);

-- An entry's result in a closed round: the judges counted, the trimmed mean of their weighted
-- totals and the lowest and highest total (the spread), in hundredths of a point out of 100; its
-- rank (in its village for the village round, in the town for the town round).
CREATE TABLE honours_contest_results (
    contest_id  INTEGER NOT NULL REFERENCES honours_contests(id),
    entry_id    INTEGER NOT NULL REFERENCES honours_contest_entries(id),
    round       TEXT NOT NULL CHECK (round IN ('village', 'town')),
    judges      INTEGER NOT NULL,
    score       INTEGER NOT NULL,
    low         INTEGER NOT NULL,
    high        INTEGER NOT NULL,
    rank        INTEGER NOT NULL,
    PRIMARY KEY (entry_id, round)
);
CREATE INDEX honours_contest_results_contest ON honours_contest_results (contest_id, round, rank);
