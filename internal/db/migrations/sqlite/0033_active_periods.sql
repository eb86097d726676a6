-- Who was active in a period, one row per resident and period, so that the dashboard
-- (internal/report) counts active accounts and participation from an index. Kept in lockstep with
-- ../postgres/0033_active_periods.sql, which says what the rows mean.
CREATE TABLE active_periods (
    resident_id INTEGER NOT NULL,
    period      TEXT NOT NULL,
    town_id     INTEGER NOT NULL,
    village_id  INTEGER NOT NULL,
    earned      BOOLEAN NOT NULL,
    PRIMARY KEY (resident_id, period)
) WITHOUT ROWID;
CREATE INDEX active_periods_town ON active_periods (town_id, period, village_id, earned);

CREATE TRIGGER bank_earnings_active_insert AFTER INSERT ON bank_earnings WHEN NEW.points > 0 BEGIN
    INSERT INTO active_periods (resident_id, period, town_id, village_id, earned) VALUES
        (NEW.resident_id, NEW.period, NEW.town_id, NEW.village_id, TRUE),
        (NEW.resident_id, substr(NEW.period, 1, 4) || '-Q' || ((CAST(substr(NEW.period, 6, 2) AS INTEGER) + 2) / 3), NEW.town_id, NEW.village_id, TRUE),
        (NEW.resident_id, substr(NEW.period, 1, 4), NEW.town_id, NEW.village_id, TRUE),
        (NEW.resident_id, 'all', NEW.town_id, NEW.village_id, TRUE)
        ON CONFLICT (resident_id, period) DO UPDATE SET earned = TRUE WHERE NOT active_periods.earned;
END;
CREATE TRIGGER bank_earnings_active_update AFTER UPDATE OF points ON bank_earnings WHEN NEW.points > 0 BEGIN
    INSERT INTO active_periods (resident_id, period, town_id, village_id, earned) VALUES
        (NEW.resident_id, NEW.period, NEW.town_id, NEW.village_id, TRUE),
        (NEW.resident_id, substr(NEW.period, 1, 4) || '-Q' || ((CAST(substr(NEW.period, 6, 2) AS INTEGER) + 2) / 3), NEW.town_id, NEW.village_id, TRUE),
        (NEW.resident_id, substr(NEW.period, 1, 4), NEW.town_id, NEW.village_id, TRUE),
        (NEW.resident_id, 'all', NEW.town_id, NEW.village_id, TRUE)
        ON CONFLICT (resident_id, period) DO UPDATE SET earned = TRUE WHERE NOT active_periods.earned;
END;
CREATE TRIGGER attend_months_active AFTER INSERT ON attend_months BEGIN
    INSERT INTO active_periods (resident_id, period, town_id, village_id, earned) VALUES
        (NEW.resident_id, NEW.month, NEW.town_id, NEW.village_id, FALSE),
        (NEW.resident_id, substr(NEW.month, 1, 4) || '-Q' || ((CAST(substr(NEW.month, 6, 2) AS INTEGER) + 2) / 3), NEW.town_id, NEW.village_id, FALSE),
        (NEW.resident_id, substr(NEW.month, 1, 4), NEW.town_id, NEW.village_id, FALSE),
        (NEW.resident_id, 'all', NEW.town_id, NEW.village_id, FALSE)
        ON CONFLICT DO NOTHING;
END;

-- What was earned and attended before this, each period's village the first month's.
WITH m AS (
    SELECT resident_id, period AS month, town_id, village_id, 1 AS earned FROM bank_earnings WHERE points > 0
    UNION ALL SELECT resident_id, month, town_id, village_id, 0 FROM attend_months
), p AS (
    SELECT resident_id, month, town_id, village_id, earned, month AS period FROM m
    UNION ALL SELECT resident_id, month, town_id, village_id, earned, substr(month, 1, 4) || '-Q' || ((CAST(substr(month, 6, 2) AS INTEGER) + 2) / 3) FROM m
    UNION ALL SELECT resident_id, month, town_id, village_id, earned, substr(month, 1, 4) FROM m
    UNION ALL SELECT resident_id, month, town_id, village_id, earned, 'all' FROM m
)
INSERT INTO active_periods (resident_id, period, town_id, village_id, earned)
    SELECT resident_id, period, town_id, village_id, earned = 1 FROM p WHERE true ORDER BY month, earned DESC
    ON CONFLICT (resident_id, period) DO UPDATE SET earned = TRUE WHERE excluded.earned AND NOT active_periods.earned;

-- A town's residents by status, with what the dashboard counts of them (village, birth date, party
-- member), read from the index alone.
CREATE INDEX residents_town_status ON residents (town_id, status, village_id, birth_date, party_member);
