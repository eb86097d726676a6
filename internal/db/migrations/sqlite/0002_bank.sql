-- 文明银行: the double-entry ledger, rules, claims, the shop, cards, and per-period earnings.
-- Kept in lockstep with ../postgres/0002_bank.sql.

-- An account: one per resident, issuing sub-accounts per town (shards, so that no one row is
-- locked by every award), one shop account per village. balance and the chain head are kept on
-- the row and checked against the entries by `siwei verify`.
CREATE TABLE bank_accounts (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('resident', 'issuing', 'shop')),
    town_id      INTEGER NOT NULL REFERENCES towns(id),
    village_id   INTEGER REFERENCES villages(id),
    resident_id  INTEGER UNIQUE REFERENCES residents(id),
    shard        INTEGER NOT NULL DEFAULT 0,
    balance      BIGINT NOT NULL DEFAULT 0,
    earned       BIGINT NOT NULL DEFAULT 0,
    seq          BIGINT NOT NULL DEFAULT 0,
    head_hash    TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    CHECK (kind <> 'resident' OR balance >= 0)
);
CREATE UNIQUE INDEX bank_accounts_system ON bank_accounts (kind, town_id, COALESCE(village_id, 0), shard) WHERE kind <> 'resident';

CREATE TABLE bank_transactions (
    id              INTEGER PRIMARY KEY,
    town_id         INTEGER NOT NULL REFERENCES towns(id),
    kind            TEXT NOT NULL,
    idem_key        TEXT NOT NULL UNIQUE,
    request_hash    TEXT NOT NULL,
    resident_id     INTEGER REFERENCES residents(id),
    rule_id         INTEGER,
    rule_code       TEXT NOT NULL DEFAULT '',
    amount          BIGINT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    reverses_id     INTEGER UNIQUE REFERENCES bank_transactions(id),
    actor_id        INTEGER,
    actor_name      TEXT NOT NULL DEFAULT '',
    for_resident_id INTEGER,
    approved_by     TEXT NOT NULL DEFAULT '',
    period          TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX bank_transactions_cap ON bank_transactions (resident_id, rule_code, created_at);
CREATE INDEX bank_transactions_town ON bank_transactions (town_id, id);

CREATE TABLE bank_entries (
    id             INTEGER PRIMARY KEY,
    transaction_id INTEGER NOT NULL REFERENCES bank_transactions(id),
    account_id     INTEGER NOT NULL REFERENCES bank_accounts(id),
    seq            BIGINT NOT NULL,
    amount         BIGINT NOT NULL,
    balance_after  BIGINT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    UNIQUE (account_id, seq)
);
CREATE INDEX bank_entries_transaction ON bank_entries (transaction_id);

-- Points earned per resident per month (YYYY-MM, the town's calendar): the rankings' source.
-- Household and village figures are sums over these rows, never rows of their own.
CREATE TABLE bank_earnings (
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    period       TEXT NOT NULL,
    town_id      INTEGER NOT NULL REFERENCES towns(id),
    village_id   INTEGER NOT NULL REFERENCES villages(id),
    household_id INTEGER NOT NULL REFERENCES households(id),
    points       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (resident_id, period)
);
CREATE INDEX bank_earnings_town ON bank_earnings (town_id, period, household_id, village_id, points);

-- 积分细则: a rule set per member class per town, optionally per village; versioned.
CREATE TABLE bank_rule_sets (
    id          INTEGER PRIMARY KEY,
    town_id     INTEGER NOT NULL REFERENCES towns(id),
    village_id  INTEGER REFERENCES villages(id),
    class       TEXT NOT NULL CHECK (class IN ('party', 'villager', 'minor')),
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX bank_rule_sets_scope ON bank_rule_sets (town_id, COALESCE(village_id, 0), class);

CREATE TABLE bank_rule_versions (
    id             INTEGER PRIMARY KEY,
    rule_set_id    INTEGER NOT NULL REFERENCES bank_rule_sets(id),
    version        INTEGER NOT NULL,
    adopted_by     TEXT NOT NULL,
    adopted_on     TEXT NOT NULL,
    resolution     TEXT NOT NULL DEFAULT '',
    effective_from TEXT NOT NULL,
    created_by     INTEGER,
    created_at     TIMESTAMP NOT NULL,
    UNIQUE (rule_set_id, version)
);

CREATE TABLE bank_rules (
    id                INTEGER PRIMARY KEY,
    version_id        INTEGER NOT NULL REFERENCES bank_rule_versions(id),
    code              TEXT NOT NULL,
    name              TEXT NOT NULL,
    category          TEXT NOT NULL DEFAULT '',
    points            INTEGER NOT NULL CHECK (points > 0),
    cap_period        TEXT NOT NULL DEFAULT '' CHECK (cap_period IN ('', 'day', 'week', 'month', 'year')),
    cap_count         INTEGER NOT NULL DEFAULT 0,
    evidence_required BOOLEAN NOT NULL DEFAULT FALSE,
    notice_required   BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (version_id, code)
);

-- 积分超市: goods with stock per village store, services with capacity per period.
CREATE TABLE bank_items (
    id               INTEGER PRIMARY KEY,
    town_id          INTEGER NOT NULL REFERENCES towns(id),
    kind             TEXT NOT NULL CHECK (kind IN ('goods', 'service')),
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    price            INTEGER NOT NULL CHECK (price > 0),
    limit_count      INTEGER NOT NULL DEFAULT 0,
    limit_period     TEXT NOT NULL DEFAULT '' CHECK (limit_period IN ('', 'day', 'week', 'month', 'year')),
    classes          TEXT NOT NULL DEFAULT '',
    low_stock        INTEGER NOT NULL DEFAULT 0,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMP NOT NULL
);

CREATE TABLE bank_stock (
    item_id     INTEGER NOT NULL REFERENCES bank_items(id),
    village_id  INTEGER NOT NULL REFERENCES villages(id),
    quantity    INTEGER NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    PRIMARY KEY (item_id, village_id)
);

CREATE TABLE bank_stock_moves (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER NOT NULL REFERENCES bank_items(id),
    village_id  INTEGER NOT NULL REFERENCES villages(id),
    delta       INTEGER NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('purchase', 'donation', 'redeem', 'cancel', 'correction')),
    note        TEXT NOT NULL DEFAULT '',
    actor_id    INTEGER,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX bank_stock_moves_item ON bank_stock_moves (item_id, village_id, id);

CREATE TABLE bank_redemptions (
    id              INTEGER PRIMARY KEY,
    item_id         INTEGER NOT NULL REFERENCES bank_items(id),
    resident_id     INTEGER NOT NULL REFERENCES residents(id),
    village_id      INTEGER NOT NULL REFERENCES villages(id),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    points          BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('reserved', 'fulfilled', 'cancelled')),
    idem_key        TEXT NOT NULL UNIQUE,
    transaction_id  INTEGER NOT NULL REFERENCES bank_transactions(id),
    refund_id       INTEGER REFERENCES bank_transactions(id),
    created_at      TIMESTAMP NOT NULL,
    closed_at       TIMESTAMP,
    closed_by       INTEGER
);
CREATE INDEX bank_redemptions_resident ON bank_redemptions (resident_id, item_id, created_at);
CREATE INDEX bank_redemptions_village ON bank_redemptions (village_id, status);

-- 申报: a resident's claim (or staff's record for them), reviewed, then on public notice (公示)
-- until its period ends without an upheld objection (异议), then posted with key claim:<id>.
CREATE TABLE bank_claims (
    id             INTEGER PRIMARY KEY,
    town_id        INTEGER NOT NULL REFERENCES towns(id),
    village_id     INTEGER NOT NULL REFERENCES villages(id),
    resident_id    INTEGER NOT NULL REFERENCES residents(id),
    rule_id        INTEGER NOT NULL REFERENCES bank_rules(id),
    rule_code      TEXT NOT NULL,
    points         BIGINT NOT NULL,
    description    TEXT NOT NULL,
    happened_on    TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'rejected', 'notice', 'posted', 'withdrawn')),
    idem_key       TEXT UNIQUE,
    recorded_by    INTEGER,
    recorded_name  TEXT NOT NULL DEFAULT '',
    reviewed_by    INTEGER,
    reviewed_name  TEXT NOT NULL DEFAULT '',
    review_reason  TEXT NOT NULL DEFAULT '',
    reviewed_at    TIMESTAMP,
    notice_until   TIMESTAMP,
    transaction_id INTEGER REFERENCES bank_transactions(id),
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX bank_claims_village ON bank_claims (village_id, status, id);
CREATE INDEX bank_claims_due ON bank_claims (status, notice_until);
CREATE INDEX bank_claims_resident ON bank_claims (resident_id, id);

CREATE TABLE bank_claim_photos (
    id        INTEGER PRIMARY KEY,
    claim_id  INTEGER NOT NULL REFERENCES bank_claims(id),
    mime      TEXT NOT NULL,
    width     INTEGER NOT NULL,
    height    INTEGER NOT NULL,
    data      BLOB NOT NULL
);
CREATE INDEX bank_claim_photos_claim ON bank_claim_photos (claim_id);

CREATE TABLE bank_objections (
    id           INTEGER PRIMARY KEY,
    claim_id     INTEGER NOT NULL REFERENCES bank_claims(id),
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    reason       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'upheld', 'dismissed')),
    decided_by   INTEGER,
    decided_name TEXT NOT NULL DEFAULT '',
    decision     TEXT NOT NULL DEFAULT '',
    decided_at   TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    UNIQUE (claim_id, resident_id)
);

-- 开卡: a card per resident with a number (town code + serial) and a generation that a lost-card
-- report bumps, so that the old QR token stops working; 一户一码 for each household's door plaque.
CREATE TABLE bank_cards (
    id           INTEGER PRIMARY KEY,
    resident_id  INTEGER NOT NULL UNIQUE REFERENCES residents(id),
    number       TEXT NOT NULL UNIQUE,
    generation   INTEGER NOT NULL DEFAULT 1,
    status       TEXT NOT NULL CHECK (status IN ('active', 'lost')),
    issued_at    TIMESTAMP NOT NULL,
    lost_at      TIMESTAMP
);

CREATE TABLE bank_household_codes (
    household_id INTEGER PRIMARY KEY REFERENCES households(id),
    code         TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL
);
