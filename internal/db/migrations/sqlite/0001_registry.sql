-- The registry: towns, villages, households, residents; accounts, roles, sessions, audit.
-- Kept in lockstep with ../postgres/0001_registry.sql (a test compares tables and columns).

CREATE TABLE towns (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    timezone    TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE villages (
    id          INTEGER PRIMARY KEY,
    town_id     INTEGER NOT NULL REFERENCES towns(id),
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (town_id, name),
    UNIQUE (town_id, code)
);

CREATE TABLE households (
    id               INTEGER PRIMARY KEY,
    village_id       INTEGER NOT NULL REFERENCES villages(id),
    number           TEXT NOT NULL,
    address          TEXT NOT NULL DEFAULT '',
    head_resident_id INTEGER,
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (village_id, number)
);
CREATE INDEX households_number ON households (number);

CREATE TABLE residents (
    id            INTEGER PRIMARY KEY,
    town_id       INTEGER NOT NULL REFERENCES towns(id),
    village_id    INTEGER NOT NULL REFERENCES villages(id),
    household_id  INTEGER NOT NULL REFERENCES households(id),
    name          TEXT NOT NULL,
    gender        TEXT NOT NULL CHECK (gender IN ('M', 'F')),
    birth_date    TEXT NOT NULL,
    id_enc        BLOB NOT NULL,
    id_hash       TEXT NOT NULL UNIQUE,
    id_masked     TEXT NOT NULL,
    phone         TEXT NOT NULL DEFAULT '',
    relation      TEXT NOT NULL DEFAULT '',
    party_member  BOOLEAN NOT NULL DEFAULT FALSE,
    care_tags     TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'moved_out', 'deceased')),
    status_date   TEXT NOT NULL DEFAULT '',
    registered_on TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX residents_village_name ON residents (village_id, name);
CREATE INDEX residents_name ON residents (name);
CREATE INDEX residents_phone ON residents (phone);
CREATE INDEX residents_household ON residents (household_id);

-- Where a resident lived and when: a move closes one row and opens another.
CREATE TABLE residence_history (
    id           INTEGER PRIMARY KEY,
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    village_id   INTEGER NOT NULL REFERENCES villages(id),
    household_id INTEGER NOT NULL REFERENCES households(id),
    from_at      TIMESTAMP NOT NULL,
    to_at        TIMESTAMP,
    reason       TEXT NOT NULL DEFAULT '',
    recorded_by  INTEGER
);
CREATE INDEX residence_history_resident ON residence_history (resident_id, from_at);

CREATE TABLE accounts (
    id                   INTEGER PRIMARY KEY,
    phone                TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    resident_id          INTEGER REFERENCES residents(id),
    password_hash        TEXT NOT NULL DEFAULT '',
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           TIMESTAMP NOT NULL,
    last_login_at        TIMESTAMP
);
CREATE INDEX accounts_resident ON accounts (resident_id);

CREATE TABLE account_roles (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    role        TEXT NOT NULL,
    town_id     INTEGER REFERENCES towns(id),
    village_id  INTEGER REFERENCES villages(id),
    granted_by  INTEGER,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX account_roles_account ON account_roles (account_id);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    kind        TEXT NOT NULL CHECK (kind IN ('web', 'api')),
    csrf        TEXT NOT NULL,
    acting_for  INTEGER REFERENCES residents(id),
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE login_attempts (
    id     INTEGER PRIMARY KEY,
    phone  TEXT NOT NULL,
    addr   TEXT NOT NULL,
    ok     BOOLEAN NOT NULL,
    at     TIMESTAMP NOT NULL
);
CREATE INDEX login_attempts_phone ON login_attempts (phone, at);
CREATE INDEX login_attempts_addr ON login_attempts (addr, at);

CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY,
    at               TIMESTAMP NOT NULL,
    actor_account_id INTEGER,
    actor_name       TEXT NOT NULL DEFAULT '',
    for_resident_id  INTEGER,
    for_name         TEXT NOT NULL DEFAULT '',
    town_id          INTEGER,
    village_id       INTEGER,
    action           TEXT NOT NULL,
    entity           TEXT NOT NULL,
    entity_id        INTEGER,
    summary          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_town_at ON audit_log (town_id, at);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
