-- 微协商 (internal/consult): topics residents and staff raise (议题) and support, consultation
-- meetings (协商议事会) with typed participants, opinions and decisions, referrals of decisions to
-- departments with deadlines (接诉即办, on the flow kit), the care team's households and visits
-- (贴心服务队) with a schedule for people with care tags, and Open311 clients. Kept in lockstep
-- with ../postgres/0023_consult.sql.

-- Topic categories: the six every town has (town_id empty, code names them in the catalog under
-- consult.category.<code>); a town adds its own by name.
CREATE TABLE consult_categories (
    id          INTEGER PRIMARY KEY,
    town_id     INTEGER REFERENCES towns(id),
    code        TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX consult_categories_name ON consult_categories (COALESCE(town_id, 0), code, name);
INSERT INTO consult_categories (town_id, code, position, created_at) VALUES
    (NULL, 'environment', 1, CURRENT_TIMESTAMP), (NULL, 'water', 2, CURRENT_TIMESTAMP),
    (NULL, 'facilities', 3, CURRENT_TIMESTAMP), (NULL, 'culture', 4, CURRENT_TIMESTAMP),
    (NULL, 'roads', 5, CURRENT_TIMESTAMP), (NULL, 'other', 6, CURRENT_TIMESTAMP);

-- A meeting (协商议事会): a village's 村级议事会, the town's 镇级议事厅, or the district's 议事厅
-- extended to a village. Residents may register for an open one up to its capacity; the rest wait.
-- It is closed with minutes, the attendance and at least one decision or no_decision, and the
-- closing publishes it to the scope's residents.
CREATE TABLE consult_meetings (
    id           INTEGER PRIMARY KEY,
    town_id      INTEGER NOT NULL REFERENCES towns(id),
    village_id   INTEGER REFERENCES villages(id),
    level        TEXT NOT NULL CHECK (level IN ('village', 'town', 'district')),
    title        TEXT NOT NULL,
    starts_at    TIMESTAMP NOT NULL,
    ends_at      TIMESTAMP NOT NULL,
    place        TEXT NOT NULL,
    site_visit   TEXT NOT NULL DEFAULT '',
    host         TEXT NOT NULL,
    open         BOOLEAN NOT NULL DEFAULT FALSE,
    capacity     INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0),
    status       TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'closed', 'cancelled')),
    site_notes   TEXT NOT NULL DEFAULT '',
    minutes      TEXT NOT NULL DEFAULT '',
    no_decision  BOOLEAN NOT NULL DEFAULT FALSE,
    attendance   INTEGER NOT NULL DEFAULT 0 CHECK (attendance >= 0),
    reason       TEXT NOT NULL DEFAULT '',
    closed_at    TIMESTAMP,
    closed_by    TEXT NOT NULL DEFAULT '',
    created_by   INTEGER NOT NULL REFERENCES accounts(id),
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX consult_meetings_town ON consult_meetings (town_id, starts_at);
CREATE INDEX consult_meetings_village ON consult_meetings (village_id, starts_at);

-- A topic (议题): for a village, or the whole town when village_id is empty. It is open for
-- support, accepted onto a meeting's agenda (meeting_id), declined with a reason, merged into
-- another (merged_into; its supporters move there), or decided at the meeting. source says where
-- it came from (a resident, staff, a care-team visit, a volunteer need, an Open311 client) and
-- source_id the visit or need.
CREATE TABLE consult_topics (
    id                INTEGER PRIMARY KEY,
    town_id           INTEGER NOT NULL REFERENCES towns(id),
    village_id        INTEGER REFERENCES villages(id),
    category_id       INTEGER NOT NULL REFERENCES consult_categories(id),
    title             TEXT NOT NULL,
    description       TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'declined', 'merged', 'decided')),
    source            TEXT NOT NULL CHECK (source IN ('resident', 'village', 'town', 'visit', 'need', 'open311')),
    source_id         INTEGER,
    proposed_by       INTEGER REFERENCES accounts(id),
    proposer_resident INTEGER REFERENCES residents(id),
    proposer_name     TEXT NOT NULL DEFAULT '',
    meeting_id        INTEGER REFERENCES consult_meetings(id),
    merged_into       INTEGER REFERENCES consult_topics(id),
    reason            TEXT NOT NULL DEFAULT '',
    outcome           TEXT NOT NULL DEFAULT '',
    supports          INTEGER NOT NULL DEFAULT 0 CHECK (supports >= 0),
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX consult_topics_town ON consult_topics (town_id, status, created_at);
CREATE INDEX consult_topics_meeting ON consult_topics (meeting_id);

-- One verified resident, one support of a topic; a merged topic's supports move to the one it
-- was merged into, a supporter of both counted once.
CREATE TABLE consult_supports (
    topic_id    INTEGER NOT NULL REFERENCES consult_topics(id),
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (topic_id, resident_id)
);
CREATE INDEX consult_supports_resident ON consult_supports (resident_id);

-- Photos of a topic, a department's reply, a care visit or a care-team member's contact card,
-- re-encoded as the bank re-encodes a claim's (bank.ProcessPhoto).
CREATE TABLE consult_photos (
    id          INTEGER PRIMARY KEY,
    owner       TEXT NOT NULL CHECK (owner IN ('topic', 'reply', 'visit', 'member')),
    owner_id    INTEGER NOT NULL,
    mime        TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    data        BLOB NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX consult_photos_owner ON consult_photos (owner, owner_id);

-- Who takes part in a meeting, by type: 区政协委员, 民主党派成员, 职能部门, 村党支部书记, 村两委,
-- 第三方机构, 村民代表, 村民小组长, 居民. A resident is linked (resident_id) and is on the meeting's
-- attendance roll; someone from outside is a contact with a unit, and may have an account.
-- present is marked for those from outside; residents check in on the roll.
CREATE TABLE consult_participants (
    id           INTEGER PRIMARY KEY,
    meeting_id   INTEGER NOT NULL REFERENCES consult_meetings(id),
    kind         TEXT NOT NULL CHECK (kind IN ('cppcc', 'party', 'department', 'secretary', 'committee', 'third_party', 'representative', 'group_leader', 'resident')),
    name         TEXT NOT NULL,
    unit         TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL DEFAULT '',
    resident_id  INTEGER REFERENCES residents(id),
    account_id   INTEGER REFERENCES accounts(id),
    present      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX consult_participants_meeting ON consult_participants (meeting_id);
CREATE UNIQUE INDEX consult_participants_resident ON consult_participants (meeting_id, resident_id) WHERE resident_id IS NOT NULL;

-- A resident's registration for an open meeting: registered within the capacity, or waiting in
-- order of registering until a place frees; cancelled keeps the row.
CREATE TABLE consult_registrations (
    meeting_id   INTEGER NOT NULL REFERENCES consult_meetings(id),
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    status       TEXT NOT NULL CHECK (status IN ('registered', 'waiting', 'cancelled')),
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (meeting_id, resident_id)
);
CREATE INDEX consult_registrations_resident ON consult_registrations (resident_id);

-- An opinion (你说我听 我说你听): who said it, in what capacity (a participant type), on which
-- topic of the agenda, and what.
CREATE TABLE consult_opinions (
    id            INTEGER PRIMARY KEY,
    meeting_id    INTEGER NOT NULL REFERENCES consult_meetings(id),
    participant_id INTEGER REFERENCES consult_participants(id),
    topic_id      INTEGER REFERENCES consult_topics(id),
    speaker       TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('cppcc', 'party', 'department', 'secretary', 'committee', 'third_party', 'representative', 'group_leader', 'resident')),
    body          TEXT NOT NULL,
    recorded_by   TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX consult_opinions_meeting ON consult_opinions (meeting_id, id);

-- A decision (协商成果) of a meeting, on a topic of its agenda or on the meeting as a whole.
CREATE TABLE consult_decisions (
    id          INTEGER PRIMARY KEY,
    meeting_id  INTEGER NOT NULL REFERENCES consult_meetings(id),
    topic_id    INTEGER REFERENCES consult_topics(id),
    body        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX consult_decisions_meeting ON consult_decisions (meeting_id, id);

-- The department directory (职能部门): 市, 区 or 镇 level, its contacts and head (负责人), and the
-- categories it handles (category codes or ids, comma-separated).
CREATE TABLE consult_departments (
    id            INTEGER PRIMARY KEY,
    town_id       INTEGER NOT NULL REFERENCES towns(id),
    level         TEXT NOT NULL CHECK (level IN ('city', 'district', 'town')),
    name          TEXT NOT NULL,
    contact_name  TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    head_name     TEXT NOT NULL DEFAULT '',
    head_phone    TEXT NOT NULL DEFAULT '',
    categories    TEXT NOT NULL DEFAULT '',
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX consult_departments_name ON consult_departments (town_id, name);

-- The logins of a department (role dept_responder); head marks its head contact, to whom overdue
-- referrals escalate.
CREATE TABLE consult_department_accounts (
    department_id INTEGER NOT NULL REFERENCES consult_departments(id),
    account_id    INTEGER NOT NULL UNIQUE REFERENCES accounts(id),
    head          BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (department_id, account_id)
);

-- A referral (接诉即办) of a decision, a topic or a care visit's finding to departments: sent to
-- one or more (consult_referral_targets); the first to accept owns it (department_id, 首接负责),
-- or one transfers it with a reason. Urgency sets the time to respond (紧急 2 hours, 一般 24), and
-- finish_by the time to finish (7 or 15 days, or set). A rating of 不满意 reopens it once
-- (reopened). escalated_at is when its head contact was told it is overdue.
CREATE TABLE consult_referrals (
    id             INTEGER PRIMARY KEY,
    town_id        INTEGER NOT NULL REFERENCES towns(id),
    village_id     INTEGER REFERENCES villages(id),
    decision_id    INTEGER REFERENCES consult_decisions(id),
    topic_id       INTEGER REFERENCES consult_topics(id),
    visit_id       INTEGER,
    category_id    INTEGER NOT NULL REFERENCES consult_categories(id),
    title          TEXT NOT NULL,
    description    TEXT NOT NULL,
    urgency        TEXT NOT NULL CHECK (urgency IN ('urgent', 'normal')),
    respond_by     TIMESTAMP NOT NULL,
    finish_by      TIMESTAMP NOT NULL,
    department_id  INTEGER REFERENCES consult_departments(id),
    status         TEXT NOT NULL DEFAULT 'referred' CHECK (status IN ('referred', 'accepted', 'done', 'rated')),
    reopened       BOOLEAN NOT NULL DEFAULT FALSE,
    rating         INTEGER CHECK (rating BETWEEN 1 AND 5),
    reply          TEXT NOT NULL DEFAULT '',
    requester_id   INTEGER REFERENCES residents(id),
    escalated_at   TIMESTAMP,
    created_by     INTEGER NOT NULL REFERENCES accounts(id),
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX consult_referrals_town ON consult_referrals (town_id, status, created_at);
CREATE INDEX consult_referrals_department ON consult_referrals (department_id, status);
CREATE INDEX consult_referrals_village ON consult_referrals (village_id, created_at);

CREATE TABLE consult_referral_targets (
    referral_id   INTEGER NOT NULL REFERENCES consult_referrals(id),
    department_id INTEGER NOT NULL REFERENCES consult_departments(id),
    PRIMARY KEY (referral_id, department_id)
);
CREATE INDEX consult_referral_targets_department ON consult_referral_targets (department_id);

-- A department's progress note on a referral (答复), with photos (consult_photos owner 'reply').
CREATE TABLE consult_replies (
    id             INTEGER PRIMARY KEY,
    referral_id    INTEGER NOT NULL REFERENCES consult_referrals(id),
    department_id  INTEGER REFERENCES consult_departments(id),
    body           TEXT NOT NULL,
    by_name        TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX consult_replies_referral ON consult_replies (referral_id, id);

-- A member of the care team (贴心服务队): a town cadre with a login (role care_team), whose
-- contact card (name, phone, photo, villages) residents see; the villages and households (联系户)
-- assigned to them.
CREATE TABLE consult_care_members (
    id          INTEGER PRIMARY KEY,
    town_id     INTEGER NOT NULL REFERENCES towns(id),
    account_id  INTEGER NOT NULL UNIQUE REFERENCES accounts(id),
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX consult_care_members_town ON consult_care_members (town_id, name);

CREATE TABLE consult_care_villages (
    member_id   INTEGER NOT NULL REFERENCES consult_care_members(id),
    village_id  INTEGER NOT NULL REFERENCES villages(id),
    PRIMARY KEY (member_id, village_id)
);
CREATE INDEX consult_care_villages_village ON consult_care_villages (village_id);

-- A household has at most one contact cadre.
CREATE TABLE consult_care_households (
    household_id INTEGER PRIMARY KEY REFERENCES households(id),
    member_id    INTEGER NOT NULL REFERENCES consult_care_members(id),
    assigned_at  TIMESTAMP NOT NULL
);
CREATE INDEX consult_care_households_member ON consult_care_households (member_id);

-- How often people with a care tag are visited, in days, as the town set it; a tag the town has
-- not set takes the default of the code (consult.DefaultIntervals).
CREATE TABLE consult_care_intervals (
    town_id  INTEGER NOT NULL REFERENCES towns(id),
    tag      TEXT NOT NULL,
    days     INTEGER NOT NULL CHECK (days BETWEEN 1 AND 366),
    PRIMARY KEY (town_id, tag)
);

-- A visit (走访) to a household, written in the book (记在本上): the day, who was met, the notes,
-- how many needs were found (each became a volunteer need, a referral or a topic, linked from
-- there), and the household's rating of it.
CREATE TABLE consult_visits (
    id             INTEGER PRIMARY KEY,
    town_id        INTEGER NOT NULL REFERENCES towns(id),
    village_id     INTEGER NOT NULL REFERENCES villages(id),
    household_id   INTEGER NOT NULL REFERENCES households(id),
    member_id      INTEGER NOT NULL REFERENCES consult_care_members(id),
    visited_on     TEXT NOT NULL,
    met            TEXT NOT NULL DEFAULT '',
    notes          TEXT NOT NULL,
    needs_found    INTEGER NOT NULL DEFAULT 0 CHECK (needs_found >= 0),
    rating         INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_comment TEXT NOT NULL DEFAULT '',
    rated_by       INTEGER REFERENCES residents(id),
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX consult_visits_household ON consult_visits (household_id, visited_on);
CREATE INDEX consult_visits_town ON consult_visits (town_id, visited_on);
CREATE INDEX consult_visits_member ON consult_visits (member_id, visited_on);

-- What a visit found and where it went: a volunteer need, a referral or a topic.
CREATE TABLE consult_visit_needs (
    visit_id  INTEGER NOT NULL REFERENCES consult_visits(id),
    kind      TEXT NOT NULL CHECK (kind IN ('need', 'referral', 'topic')),
    ref_id    INTEGER NOT NULL,
    PRIMARY KEY (visit_id, kind, ref_id)
);

-- A client of the Open311 GeoReport v2 API that town staff issued a key to; the key is kept as its
-- hash. A request filed through it keeps a token (tokens/{token}.json) until it has an id.
CREATE TABLE consult_open311_clients (
    id          INTEGER PRIMARY KEY,
    town_id     INTEGER NOT NULL REFERENCES towns(id),
    name        TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_by  INTEGER NOT NULL REFERENCES accounts(id),
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP,
    revoked_by  INTEGER REFERENCES accounts(id),
    revoke_reason TEXT NOT NULL DEFAULT ''
);

CREATE TABLE consult_open311_requests (
    token        TEXT PRIMARY KEY,
    town_id      INTEGER NOT NULL REFERENCES towns(id),
    kind         TEXT NOT NULL CHECK (kind IN ('need', 'topic')),
    ref_id       INTEGER NOT NULL,
    client_id    INTEGER REFERENCES consult_open311_clients(id),
    account_id   INTEGER REFERENCES accounts(id),
    created_at   TIMESTAMP NOT NULL,
    UNIQUE (kind, ref_id)
);
