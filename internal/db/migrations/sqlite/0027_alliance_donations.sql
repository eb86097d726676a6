-- 微联盟's donations (internal/alliance/donations.go), traced from the donor through the villages
-- to the residents who received them. Kept in lockstep with ../postgres/0027_alliance_donations.sql.

-- A donation (捐赠): from a member unit, or a person named by donor_name; money in yuan (never
-- points) and/or items. receipt_no is the town's 捐赠收据 number, unique in the town.
CREATE TABLE alliance_donations (
    id          INTEGER PRIMARY KEY,
    town_id     INTEGER NOT NULL REFERENCES towns(id),
    receipt_no  TEXT NOT NULL,
    unit_id     INTEGER REFERENCES alliance_units(id),
    donor_name  TEXT NOT NULL,
    donated_on  TEXT NOT NULL,
    money_yuan  INTEGER NOT NULL DEFAULT 0 CHECK (money_yuan >= 0),
    note        TEXT NOT NULL DEFAULT '',
    created_by  INTEGER,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX alliance_donations_receipt ON alliance_donations (town_id, receipt_no);
CREATE INDEX alliance_donations_unit ON alliance_donations (unit_id);

-- What a donation gave: a quantity in a measure word (件, 本, 箱…). allocated counts what went to
-- villages (or, for goods meant for the points shop, into its stock at once), never beyond.
CREATE TABLE alliance_donation_items (
    id             INTEGER PRIMARY KEY,
    donation_id    INTEGER NOT NULL REFERENCES alliance_donations(id),
    name           TEXT NOT NULL,
    measure        TEXT NOT NULL,
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    allocated      INTEGER NOT NULL DEFAULT 0 CHECK (allocated >= 0 AND allocated <= quantity),
    shop_item_id   INTEGER REFERENCES bank_items(id),
    shop_village   INTEGER REFERENCES villages(id)
);
CREATE INDEX alliance_donation_items_donation ON alliance_donation_items (donation_id);

-- An allocation (分配) of an item to a village; handed counts what the village handed out, never
-- beyond.
CREATE TABLE alliance_donation_allocations (
    id           INTEGER PRIMARY KEY,
    donation_id  INTEGER NOT NULL REFERENCES alliance_donations(id),
    item_id      INTEGER NOT NULL REFERENCES alliance_donation_items(id),
    village_id   INTEGER NOT NULL REFERENCES villages(id),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    handed       INTEGER NOT NULL DEFAULT 0 CHECK (handed >= 0 AND handed <= quantity),
    created_by   INTEGER,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX alliance_donation_allocations_donation ON alliance_donation_allocations (donation_id);
CREATE INDEX alliance_donation_allocations_village ON alliance_donation_allocations (village_id);

-- A handover (发放) to a resident (for themself or their household): how many, on which day, and
-- either a signature photo (alliance_photos owner 'handover') or the staff member who confirmed it.
-- request_key is the idempotency key of the request that recorded it: a form sent twice, or a
-- request resent, records it once.
CREATE TABLE alliance_donation_handovers (
    id             INTEGER PRIMARY KEY,
    allocation_id  INTEGER NOT NULL REFERENCES alliance_donation_allocations(id),
    donation_id    INTEGER NOT NULL REFERENCES alliance_donations(id),
    village_id     INTEGER NOT NULL REFERENCES villages(id),
    resident_id    INTEGER NOT NULL REFERENCES residents(id),
    household_id   INTEGER,
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    handed_on      TEXT NOT NULL,
    confirmed_by   INTEGER,
    request_key    TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX alliance_donation_handovers_allocation ON alliance_donation_handovers (allocation_id);
CREATE INDEX alliance_donation_handovers_resident ON alliance_donation_handovers (resident_id);
CREATE UNIQUE INDEX alliance_donation_handovers_key ON alliance_donation_handovers (donation_id, request_key) WHERE request_key <> '';
