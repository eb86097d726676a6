-- Who was active in a period, one row per resident and period, so that the dashboard
-- (internal/report) counts active accounts and participation from an index instead of taking the
-- distinct residents of a year's earnings and attendance. Kept in lockstep with
-- ../sqlite/0033_active_periods.sql.
--
-- A period is a month of the town's calendar (2026-11), its quarter (2026-Q4), its year (2026) and
-- 'all' (to date). A row says the resident earned points (a month's bank_earnings above 0: earned)
-- or attended an event of any pillar (an attend_months row) in it. The village is the one the
-- resident was first active in during the period, so a resident who moved counts once. A point
-- reversed later, or a check-in taken back, does not take the activity back: the resident did take
-- part. No row is shared by two people, so none is hot. Triggers keep it, so every writer of
-- earnings and attendance does.
CREATE TABLE active_periods (
    resident_id BIGINT NOT NULL,
    period      TEXT NOT NULL,
    town_id     BIGINT NOT NULL,
    village_id  BIGINT NOT NULL,
    earned      BOOLEAN NOT NULL,
    PRIMARY KEY (resident_id, period)
);
CREATE INDEX active_periods_town ON active_periods (town_id, period, village_id, earned);

-- The periods a month (YYYY-MM) is in.
CREATE FUNCTION active_periods_of(month TEXT) RETURNS TEXT[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[month, substr(month, 1, 4) || '-Q' || ((CAST(substr(month, 6, 2) AS INTEGER) + 2) / 3), substr(month, 1, 4), 'all']
$$;

CREATE FUNCTION active_periods_earned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.points > 0 THEN
        INSERT INTO active_periods (resident_id, period, town_id, village_id, earned)
            SELECT NEW.resident_id, p, NEW.town_id, NEW.village_id, TRUE FROM unnest(active_periods_of(NEW.period)) p
            ON CONFLICT (resident_id, period) DO UPDATE SET earned = TRUE WHERE NOT active_periods.earned;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER bank_earnings_active AFTER INSERT OR UPDATE OF points ON bank_earnings
    FOR EACH ROW EXECUTE FUNCTION active_periods_earned();

CREATE FUNCTION active_periods_attended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO active_periods (resident_id, period, town_id, village_id, earned)
        SELECT NEW.resident_id, p, NEW.town_id, NEW.village_id, FALSE FROM unnest(active_periods_of(NEW.month)) p
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER attend_months_active AFTER INSERT ON attend_months
    FOR EACH ROW EXECUTE FUNCTION active_periods_attended();

-- active_periods_fill adds what was earned and attended while the triggers did not run (before
-- this migration, or a bulk load with session_replication_role = replica), each period's village
-- the first month's, and says how many rows it added.
CREATE FUNCTION active_periods_fill() RETURNS BIGINT LANGUAGE sql AS $$
    WITH added AS (
        INSERT INTO active_periods (resident_id, period, town_id, village_id, earned)
            SELECT DISTINCT ON (resident_id, p) resident_id, p, town_id, village_id,
                bool_or(earned) OVER (PARTITION BY resident_id, p)
            FROM (SELECT resident_id, period AS month, town_id, village_id, TRUE AS earned FROM bank_earnings WHERE points > 0
                  UNION ALL SELECT resident_id, month, town_id, village_id, FALSE FROM attend_months) m,
                unnest(active_periods_of(m.month)) p
            ORDER BY resident_id, p, month, earned DESC
        ON CONFLICT (resident_id, period) DO UPDATE SET earned = TRUE WHERE excluded.earned AND NOT active_periods.earned
        RETURNING 1)
    SELECT COUNT(*) FROM added
$$;
SELECT active_periods_fill();

-- A town's residents by status, with what the dashboard counts of them (village, birth date, party
-- member), read from the index alone.
CREATE INDEX residents_town_status ON residents (town_id, status, village_id, birth_date, party_member);
