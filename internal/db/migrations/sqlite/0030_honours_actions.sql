-- The town's monthly featured and brand actions (特色行动, 品牌行动) of the 文明银行's public side
-- (internal/honours/actions.go): the action with its villages and the ways to take part —
-- registering and attending (the kit's attendance model, attend_events of kind honours.action),
-- reporting a deed with a photo, and a contribution staff count per household — and the points
-- each person was paid for it. Kept in lockstep with ../postgres/0030_honours_actions.sql.

-- An action: the town's, for a month (2026-01), for all its villages or those listed in
-- honours_action_villages, with the ways people take part (way_*), the unit a contribution is
-- counted in (e.g. 勺), and the rule it pays under: once per person per action (pay_per 'person'),
-- or per contribution up to pay_cap per person (pay_per 'contribution'). Its poster is a photo of
-- owner 'action'.
CREATE TABLE honours_actions (
    id                INTEGER PRIMARY KEY,
    town_id           INTEGER NOT NULL REFERENCES towns(id),
    kind              TEXT NOT NULL CHECK (kind IN ('featured', 'brand')),
    title             TEXT NOT NULL,
    month             TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    all_villages      BOOLEAN NOT NULL DEFAULT TRUE,
    way_attend        BOOLEAN NOT NULL DEFAULT FALSE,
    way_deed          BOOLEAN NOT NULL DEFAULT FALSE,
    way_contribution  BOOLEAN NOT NULL DEFAULT FALSE,
    unit              TEXT NOT NULL DEFAULT '',
    rule_code         TEXT NOT NULL DEFAULT '',
    pay_per           TEXT NOT NULL DEFAULT 'person' CHECK (pay_per IN ('person', 'contribution')),
    pay_cap           INTEGER NOT NULL DEFAULT 1 CHECK (pay_cap BETWEEN 1 AND 100),
    status            TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'cancelled')),
    cancel_reason     TEXT NOT NULL DEFAULT '',
    created_by        INTEGER NOT NULL REFERENCES accounts(id),
    created_by_name   TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX honours_actions_town ON honours_actions (town_id, month);

-- The villages of an action that is not for all the town's.
CREATE TABLE honours_action_villages (
    action_id   INTEGER NOT NULL REFERENCES honours_actions(id),
    village_id  INTEGER NOT NULL REFERENCES villages(id),
    PRIMARY KEY (action_id, village_id)
);

-- A deed reported for an action (随手拍) by a resident, with photos of owner 'deed' shown to others
-- only with consent; the village's staff approve it (it is then paid under the action's rule, on
-- public notice where the rule says so) or reject it with a reason. pay_note says why an approved
-- deed was not paid (the person was paid for the action already, the cap was reached).
CREATE TABLE honours_action_deeds (
    id                INTEGER PRIMARY KEY,
    action_id         INTEGER NOT NULL REFERENCES honours_actions(id),
    village_id        INTEGER NOT NULL REFERENCES villages(id),
    resident_id       INTEGER NOT NULL REFERENCES residents(id),
    story             TEXT NOT NULL,
    happened_on       TEXT NOT NULL,
    consent           BOOLEAN NOT NULL DEFAULT FALSE,
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    reviewed_by_name  TEXT NOT NULL DEFAULT '',
    reason            TEXT NOT NULL DEFAULT '',
    reviewed_at       TIMESTAMP,
    pay_note          TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX honours_action_deeds_action ON honours_action_deeds (action_id, status);
CREATE INDEX honours_action_deeds_village ON honours_action_deeds (village_id, status);

-- A contribution counted by the village's staff for a household (e.g. rice given for 幸福粥): the
-- amount in the action's unit, and the member it is credited to (the household's head unless
-- staff name another); pay_note as a deed's.
CREATE TABLE honours_action_contributions (
    id                INTEGER PRIMARY KEY,
    action_id         INTEGER NOT NULL REFERENCES honours_actions(id),
    village_id        INTEGER NOT NULL REFERENCES villages(id),
    household_id      INTEGER NOT NULL REFERENCES households(id),
    resident_id       INTEGER NOT NULL REFERENCES residents(id),
    amount            INTEGER NOT NULL CHECK (amount > 0),
    note              TEXT NOT NULL DEFAULT '',
    recorded_by_name  TEXT NOT NULL DEFAULT '',
    pay_note          TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX honours_action_contributions_action ON honours_action_contributions (action_id, village_id);

-- The points a person was paid for taking part in an action, one row per payment slot: slot 1
-- only under pay_per 'person' (the key honours:action:<id>:resident:<id>), slots 1..pay_cap under
-- 'contribution' (a key naming the deed, contribution or attendance). The primary key holds the
-- rule under races. way and ref_id name what was paid (ref_id: the deed, the contribution, or the
-- resident for attending); the bank's answer is kept (transaction_id, or note: a message key).
CREATE TABLE honours_action_pays (
    action_id       INTEGER NOT NULL REFERENCES honours_actions(id),
    resident_id     INTEGER NOT NULL REFERENCES residents(id),
    slot            INTEGER NOT NULL,
    way             TEXT NOT NULL CHECK (way IN ('attend', 'deed', 'contribution')),
    ref_id          INTEGER NOT NULL,
    idem_key        TEXT NOT NULL UNIQUE,
    transaction_id  INTEGER,
    note            TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (action_id, resident_id, slot),
    UNIQUE (action_id, way, ref_id)
);
