-- The attendance kit's aggregates, so that coverage and the dashboard's participation read a few
-- rows a person and month, not every check-in, and a period's figures a row per event. Kept in
-- lockstep with ../postgres/0022_attend_months.sql.

-- Who attended events of a kind in a month of the town's calendar (person-months): as a
-- resident's first check-in of the month is taken, with their village and whether they were a
-- party member then; events counts their check-ins of the month, so that one taken back or
-- cancelled leaves the others. No row is shared by two people: none is hot.
CREATE TABLE attend_months (
    kind        TEXT NOT NULL,
    town_id     INTEGER NOT NULL REFERENCES towns(id),
    month       TEXT NOT NULL,
    party       BOOLEAN NOT NULL,
    village_id  INTEGER NOT NULL REFERENCES villages(id),
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    events      INTEGER NOT NULL CHECK (events > 0),
    PRIMARY KEY (kind, town_id, month, party, village_id, resident_id)
);
CREATE INDEX attend_months_resident ON attend_months (resident_id, kind, month);

-- Each event's roll and check-ins, counted as they change.
ALTER TABLE attend_events ADD COLUMN roll_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attend_events ADD COLUMN checked_count INTEGER NOT NULL DEFAULT 0;

UPDATE attend_events SET roll_count = (SELECT COUNT(*) FROM attend_entries a WHERE a.event_id = attend_events.id),
    checked_count = (SELECT COUNT(checked_in_at) FROM attend_entries a WHERE a.event_id = attend_events.id);
-- The check-ins before this, in the towns' calendar (China's, UTC+8, which every town has so far).
INSERT INTO attend_months (kind, town_id, month, party, village_id, resident_id, events)
    SELECT e.kind, e.town_id, strftime('%Y-%m', e.starts_at, '+8 hours'), r.party_member, r.village_id, a.resident_id, COUNT(*)
    FROM attend_entries a JOIN attend_events e ON e.id = a.event_id JOIN residents r ON r.id = a.resident_id
    WHERE a.checked_in_at IS NOT NULL AND e.cancelled_at IS NULL
    GROUP BY e.kind, e.town_id, strftime('%Y-%m', e.starts_at, '+8 hours'), r.party_member, r.village_id, a.resident_id;
