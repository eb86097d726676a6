-- 微联盟 (internal/alliance): the member units of the town's 党建协调委员会 and their logins, and
-- the pillar's photos. The three lists, activities, donations and the dispute centre follow in
-- their own migrations. Kept in lockstep with ../postgres/0024_alliance.sql.

-- A member unit (成员单位): a government office, an enterprise, a public institution, a university,
-- a hospital, a democratic party or a social organisation that joined the town's 协调委员会 on
-- joined_on. An inactive unit keeps its history and takes no new work.
CREATE TABLE alliance_units (
    id             INTEGER PRIMARY KEY,
    town_id        INTEGER NOT NULL REFERENCES towns(id),
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('agency', 'institution', 'state_enterprise', 'private_enterprise', 'university', 'hospital', 'party', 'social')),
    party_org      TEXT NOT NULL DEFAULT '',
    liaison_name   TEXT NOT NULL DEFAULT '',
    liaison_phone  TEXT NOT NULL DEFAULT '',
    contacts       TEXT NOT NULL DEFAULT '',
    joined_on      TEXT NOT NULL,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX alliance_units_name ON alliance_units (town_id, name);

-- The logins of a unit (role unit_liaison): each sees its own unit's lists, projects, activities
-- and donations.
CREATE TABLE alliance_unit_accounts (
    unit_id     INTEGER NOT NULL REFERENCES alliance_units(id),
    account_id  INTEGER NOT NULL UNIQUE REFERENCES accounts(id),
    PRIMARY KEY (unit_id, account_id)
);

-- Photos of 微联盟's records, re-encoded (bank.ProcessPhoto): a project's milestone, an
-- activity, a donation, a handover's signature, a dispute session. The owner decides who sees one.
CREATE TABLE alliance_photos (
    id          INTEGER PRIMARY KEY,
    owner       TEXT NOT NULL CHECK (owner IN ('milestone', 'activity', 'donation', 'handover', 'session')),
    owner_id    INTEGER NOT NULL,
    mime        TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    data        BLOB NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX alliance_photos_owner ON alliance_photos (owner, owner_id);
