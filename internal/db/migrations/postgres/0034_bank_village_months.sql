-- Points earned per village and month, so that the dashboard (internal/report) sums a town's or the
-- district's points issued and points to date over a row per village and month instead of a row
-- per resident and month (81,000 a town-year; 8,200,000 rows for a district's). Kept in lockstep
-- with ../sqlite/0034_bank_village_months.sql.
--
-- A row is the sum of bank_earnings over the village's residents in the month, each earning in
-- the village it was earned in. A trigger keeps it, so every writer of earnings does. An award
-- takes the row of its resident's village and month until it commits: two awards in one village
-- at the same moment wait for each other that long, as a village's points are one number.
CREATE TABLE bank_village_months (
    village_id BIGINT NOT NULL,
    period     TEXT NOT NULL,
    town_id    BIGINT NOT NULL,
    points     BIGINT NOT NULL,
    PRIMARY KEY (village_id, period)
);
CREATE INDEX bank_village_months_town ON bank_village_months (town_id, period, village_id, points);

CREATE FUNCTION bank_village_months_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.village_id = NEW.village_id AND OLD.period = NEW.period THEN
        UPDATE bank_village_months SET points = points + NEW.points - OLD.points WHERE village_id = NEW.village_id AND period = NEW.period;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE bank_village_months SET points = points - OLD.points WHERE village_id = OLD.village_id AND period = OLD.period;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO bank_village_months (village_id, period, town_id, points) VALUES (NEW.village_id, NEW.period, NEW.town_id, NEW.points)
            ON CONFLICT (village_id, period) DO UPDATE SET points = bank_village_months.points + excluded.points;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER bank_earnings_village_months AFTER INSERT OR DELETE OR UPDATE OF points, village_id, period ON bank_earnings
    FOR EACH ROW EXECUTE FUNCTION bank_village_months_keep();

-- bank_village_months_fill sums the rows anew from bank_earnings (after this migration, or a bulk
-- load with session_replication_role = replica) and says how many there are.
CREATE FUNCTION bank_village_months_fill() RETURNS BIGINT LANGUAGE sql AS $$
    DELETE FROM bank_village_months;
    WITH added AS (
        INSERT INTO bank_village_months (village_id, period, town_id, points)
            SELECT village_id, period, town_id, SUM(points) FROM bank_earnings GROUP BY village_id, period, town_id
        RETURNING 1)
    SELECT COUNT(*) FROM added
$$;
SELECT bank_village_months_fill();
