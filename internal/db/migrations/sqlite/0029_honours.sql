-- The 文明银行's public side (internal/honours): the honour roll (名录墙) and the public evaluation
-- that fills it (群众评议), the public notices (公示) with objections that every published list
-- goes through, and the part's photos. Featured actions, contests, the 流动红旗 and the 文明大户
-- lists follow in their own migrations. Kept in lockstep with ../postgres/0029_honours.sql.

-- Photos of the public side's records, re-encoded (bank.SavePhotos): a nomination's, a deed's, an
-- action's poster, a contest entry's, a judge's at the door, a name on the wall. The owner decides
-- who sees one.
CREATE TABLE honours_photos (
    id          INTEGER PRIMARY KEY,
    owner       TEXT NOT NULL CHECK (owner IN ('nomination', 'deed', 'action', 'entry', 'score', 'wall')),
    owner_id    INTEGER NOT NULL,
    mime        TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    data        BLOB NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX honours_photos_owner ON honours_photos (owner, owner_id);

-- A category of the honour roll: the six the town starts with (code: filial 孝老爱亲, helping
-- 助人为乐, brave 见义勇为, honest 诚实守信, dedicated 敬业奉献, green 环境美化), named by the
-- catalog, and those the town adds, named by name (code '').
CREATE TABLE honours_categories (
    id          INTEGER PRIMARY KEY,
    town_id     INTEGER NOT NULL REFERENCES towns(id),
    code        TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX honours_categories_code ON honours_categories (town_id, code) WHERE code <> '';
CREATE UNIQUE INDEX honours_categories_name ON honours_categories (town_id, name) WHERE name <> '';

-- A nomination (推荐) of a resident for the honour roll, by a resident (a neighbour, or themself:
-- by_resident) or by staff, with a story and photos. The nominee consents, or a guardian for a
-- minor (consent_by, consent_name); staff admit it to a round or decline it with a reason.
CREATE TABLE honours_nominations (
    id            INTEGER PRIMARY KEY,
    town_id       INTEGER NOT NULL REFERENCES towns(id),
    village_id    INTEGER NOT NULL REFERENCES villages(id),
    resident_id   INTEGER NOT NULL REFERENCES residents(id),
    category_id   INTEGER NOT NULL REFERENCES honours_categories(id),
    story         TEXT NOT NULL,
    by_resident   INTEGER REFERENCES residents(id),
    by_account    INTEGER NOT NULL REFERENCES accounts(id),
    by_name       TEXT NOT NULL DEFAULT '',
    consent       TEXT NOT NULL DEFAULT 'asked' CHECK (consent IN ('asked', 'given', 'refused')),
    consent_by    TEXT NOT NULL DEFAULT '' CHECK (consent_by IN ('', 'self', 'guardian')),
    consent_name  TEXT NOT NULL DEFAULT '',
    consent_at    TIMESTAMP,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'admitted', 'declined', 'chosen', 'not_chosen', 'withdrawn')),
    reason        TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX honours_nominations_town ON honours_nominations (town_id, status, id);
CREATE INDEX honours_nominations_village ON honours_nominations (village_id, status, id);
CREATE INDEX honours_nominations_resident ON honours_nominations (resident_id, id);
CREATE UNIQUE INDEX honours_nominations_live ON honours_nominations (resident_id, category_id) WHERE status IN ('open', 'admitted');

-- An evaluation round (群众评议): a village's or the town's (village_id NULL), over a period, with
-- the nominees staff admitted, the number to be chosen (seats), the votes each voter has, and the
-- rule: residents' votes; a panel's score weighted (panel_weight, percent) with the votes; or the
-- village's 村民代表 only (the voters listed in honours_round_voters).
CREATE TABLE honours_rounds (
    id              INTEGER PRIMARY KEY,
    town_id         INTEGER NOT NULL REFERENCES towns(id),
    village_id      INTEGER REFERENCES villages(id),
    title           TEXT NOT NULL,
    year            INTEGER NOT NULL,
    opens_at        TIMESTAMP NOT NULL,
    closes_at       TIMESTAMP NOT NULL,
    seats           INTEGER NOT NULL CHECK (seats > 0),
    votes_per_voter INTEGER NOT NULL CHECK (votes_per_voter > 0),
    rule            TEXT NOT NULL CHECK (rule IN ('votes', 'panel_votes', 'representatives')),
    panel_weight    INTEGER NOT NULL DEFAULT 0 CHECK (panel_weight BETWEEN 0 AND 100),
    rule_code       TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed', 'notice', 'published', 'cancelled')),
    closed_at       TIMESTAMP,
    closed_by_name  TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    created_by      INTEGER NOT NULL REFERENCES accounts(id),
    created_by_name TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CHECK (closes_at > opens_at)
);
CREATE INDEX honours_rounds_town ON honours_rounds (town_id, status, closes_at);

-- The nominees admitted to a round.
CREATE TABLE honours_round_nominees (
    round_id       INTEGER NOT NULL REFERENCES honours_rounds(id),
    nomination_id  INTEGER NOT NULL REFERENCES honours_nominations(id),
    PRIMARY KEY (round_id, nomination_id)
);

-- The voters of a round under the rule 'representatives': the village's 村民代表, named by staff.
CREATE TABLE honours_round_voters (
    round_id     INTEGER NOT NULL REFERENCES honours_rounds(id),
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    PRIMARY KEY (round_id, resident_id)
);

-- A panel member's score (0–100) of a nominee in a round under the rule 'panel_votes'.
CREATE TABLE honours_panel_scores (
    round_id       INTEGER NOT NULL REFERENCES honours_rounds(id),
    nomination_id  INTEGER NOT NULL REFERENCES honours_nominations(id),
    account_id     INTEGER NOT NULL REFERENCES accounts(id),
    judge_name     TEXT NOT NULL DEFAULT '',
    score          INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    scored_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (round_id, nomination_id, account_id)
);

-- A vote: one voter, one nominee, once (the unique key holds under races). account_id is the
-- account that cast it: the voter's own, or a village's staff member at the office (assisted_by_name
-- set). device and addr are a keyed hash of the browser's device cookie and of the client address,
-- never the raw values; the anomaly rules read them. A voided vote stays, no longer counted, with
-- who voided it and why; a vote the voter takes back is deleted (the audit log keeps it).
CREATE TABLE honours_votes (
    id                INTEGER PRIMARY KEY,
    round_id          INTEGER NOT NULL REFERENCES honours_rounds(id),
    nomination_id     INTEGER NOT NULL REFERENCES honours_nominations(id),
    voter_id          INTEGER NOT NULL REFERENCES residents(id),
    village_id        INTEGER NOT NULL REFERENCES villages(id),
    household_id      INTEGER NOT NULL REFERENCES households(id),
    account_id        INTEGER NOT NULL REFERENCES accounts(id),
    assisted_by_name  TEXT NOT NULL DEFAULT '',
    device            TEXT NOT NULL DEFAULT '',
    addr              TEXT NOT NULL DEFAULT '',
    cast_at           TIMESTAMP NOT NULL,
    voided_at         TIMESTAMP,
    voided_by_name    TEXT NOT NULL DEFAULT '',
    void_reason       TEXT NOT NULL DEFAULT '',
    UNIQUE (round_id, voter_id, nomination_id)
);
CREATE INDEX honours_votes_round ON honours_votes (round_id, nomination_id);
CREATE INDEX honours_votes_cast ON honours_votes (round_id, cast_at);

-- An anomaly the rules found in a round's votes, flagged to the town beside the result and never
-- acted on by itself: more votes than eligible voters in a village (over_eligible), a burst from
-- one device or address (device_burst, addr_burst), a staff member's many assisted votes in a short
-- time (assisted_burst), a nominee's votes mostly from one household (one_household) or from
-- accounts made in the last days (new_accounts). subject names what the rule found (a village, a
-- hash, a staff member, a nominee) so that a rule finds each thing once.
CREATE TABLE honours_vote_flags (
    id               INTEGER PRIMARY KEY,
    round_id         INTEGER NOT NULL REFERENCES honours_rounds(id),
    rule             TEXT NOT NULL CHECK (rule IN ('over_eligible', 'device_burst', 'addr_burst', 'assisted_burst', 'one_household', 'new_accounts')),
    subject          TEXT NOT NULL,
    village_id       INTEGER REFERENCES villages(id),
    nomination_id    INTEGER REFERENCES honours_nominations(id),
    votes            INTEGER NOT NULL DEFAULT 0,
    detail           TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'reviewed')),
    reviewed_by_name TEXT NOT NULL DEFAULT '',
    note             TEXT NOT NULL DEFAULT '',
    found_at         TIMESTAMP NOT NULL,
    UNIQUE (round_id, rule, subject)
);

-- The honour roll (名录墙): a name chosen by a round (nomination_id, round_id), or entered by the
-- town for an earlier year (the 537 of 2021), with the village, category, story, year and a photo.
-- Points paid for being chosen are the bank's answer (transaction_id, pay_note). media marks a
-- story for the 融媒 joint report.
CREATE TABLE honours_wall (
    id              INTEGER PRIMARY KEY,
    town_id         INTEGER NOT NULL REFERENCES towns(id),
    village_id      INTEGER NOT NULL REFERENCES villages(id),
    resident_id     INTEGER REFERENCES residents(id),
    name            TEXT NOT NULL,
    category_id     INTEGER NOT NULL REFERENCES honours_categories(id),
    story           TEXT NOT NULL DEFAULT '',
    year            INTEGER NOT NULL,
    nomination_id   INTEGER UNIQUE REFERENCES honours_nominations(id),
    round_id        INTEGER REFERENCES honours_rounds(id),
    transaction_id  INTEGER,
    pay_note        TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX honours_wall_town ON honours_wall (town_id, year, village_id);
CREATE INDEX honours_wall_village ON honours_wall (village_id, year);

-- A list on public notice (公示) before it is published: a round's chosen (kind round), a contest
-- round's winners (contest), a month's 文明大户 (households). Residents of its scope (the village,
-- or the whole town for village_id NULL) object to an item until notice_until; staff decide each
-- objection. When the time is up and no objection is open, the list is published without the
-- items struck by upheld objections, and the part that owns it (publishers) acts on the rest.
CREATE TABLE honours_notices (
    id               INTEGER PRIMARY KEY,
    town_id          INTEGER NOT NULL REFERENCES towns(id),
    village_id       INTEGER REFERENCES villages(id),
    kind             TEXT NOT NULL CHECK (kind IN ('round', 'contest', 'households')),
    ref_id           INTEGER NOT NULL,
    title            TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'notice' CHECK (status IN ('notice', 'published', 'withdrawn')),
    notice_until     TIMESTAMP NOT NULL,
    published_at     TIMESTAMP,
    created_by_name  TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (kind, ref_id)
);
CREATE INDEX honours_notices_due ON honours_notices (status, notice_until);
CREATE INDEX honours_notices_town ON honours_notices (town_id, status, id);

-- An item of a notice: the nomination, contest entry or household it names (item_id, in the
-- owner's table), its rank, whom it concerns (resident_id, household_id), its village, and what
-- the board shows (label, detail; a minor's name is masked when the item is made). An upheld
-- objection strikes it (struck_at, struck_reason).
CREATE TABLE honours_notice_items (
    notice_id      INTEGER NOT NULL REFERENCES honours_notices(id),
    item_id        INTEGER NOT NULL,
    rank           INTEGER NOT NULL DEFAULT 0,
    resident_id    INTEGER REFERENCES residents(id),
    household_id   INTEGER REFERENCES households(id),
    village_id     INTEGER NOT NULL REFERENCES villages(id),
    label          TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '',
    struck_at      TIMESTAMP,
    struck_reason  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (notice_id, item_id)
);

-- An objection (异议) to an item on notice, by a resident of the notice's scope, once per item;
-- staff uphold it (the item is struck) or dismiss it, with their reason, and the objector is told.
CREATE TABLE honours_objections (
    id               INTEGER PRIMARY KEY,
    notice_id        INTEGER NOT NULL REFERENCES honours_notices(id),
    item_id          INTEGER NOT NULL,
    resident_id      INTEGER NOT NULL REFERENCES residents(id),
    reason           TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'dismissed')),
    decided_by_name  TEXT NOT NULL DEFAULT '',
    decision         TEXT NOT NULL DEFAULT '',
    decided_at       TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (notice_id, item_id, resident_id)
);
CREATE INDEX honours_objections_open ON honours_objections (notice_id, status);
