-- Points earned per village and month, so that the dashboard (internal/report) sums a town's
-- points over a row per village and month instead of a row per resident and month. Kept in
-- lockstep with ../postgres/0034_bank_village_months.sql, which says what the rows mean.
CREATE TABLE bank_village_months (
    village_id INTEGER NOT NULL,
    period     TEXT NOT NULL,
    town_id    INTEGER NOT NULL,
    points     INTEGER NOT NULL,
    PRIMARY KEY (village_id, period)
) WITHOUT ROWID;
CREATE INDEX bank_village_months_town ON bank_village_months (town_id, period, village_id, points);

CREATE TRIGGER bank_earnings_village_months_insert AFTER INSERT ON bank_earnings BEGIN
    INSERT INTO bank_village_months (village_id, period, town_id, points) VALUES (NEW.village_id, NEW.period, NEW.town_id, NEW.points)
        ON CONFLICT (village_id, period) DO UPDATE SET points = points + excluded.points;
END;

-- SQLite has no AFTER INSERT OR UPDATE: an update takes the old points off and adds the new.
CREATE TRIGGER bank_earnings_village_months_update AFTER UPDATE OF points, village_id, period ON bank_earnings BEGIN
    UPDATE bank_village_months SET points = points - OLD.points WHERE village_id = OLD.village_id AND period = OLD.period;
    INSERT INTO bank_village_months (village_id, period, town_id, points) VALUES (NEW.village_id, NEW.period, NEW.town_id, NEW.points)
        ON CONFLICT (village_id, period) DO UPDATE SET points = points + excluded.points;
END;

CREATE TRIGGER bank_earnings_village_months_delete AFTER DELETE ON bank_earnings BEGIN
    UPDATE bank_village_months SET points = points - OLD.points WHERE village_id = OLD.village_id AND period = OLD.period;
END;

INSERT INTO bank_village_months (village_id, period, town_id, points)
    SELECT village_id, period, town_id, SUM(points) FROM bank_earnings GROUP BY village_id, period, town_id;
