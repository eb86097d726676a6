-- 文明银行: no hot rows on the write path. On PostgreSQL a foreign key check locks the row it
-- refers to (FOR KEY SHARE, which writes the locker into the row), so the foreign keys from every
-- posting to its town, and from every earnings row to its town, village and household, made every
-- posting of a town lock (and write) the town's row, and every posting of a village the village's
-- row: the hot rows the design forbids, and about half of a bulk award's time. These columns are
-- placements copied from the resident, whose own foreign key stays; towns, villages and households
-- are never deleted. Kept in lockstep with ../sqlite/0004_bank_hot_rows.sql, where the single
-- writer takes no row locks and the constraints stay.
ALTER TABLE bank_transactions DROP CONSTRAINT IF EXISTS bank_transactions_town_id_fkey;
ALTER TABLE bank_earnings DROP CONSTRAINT IF EXISTS bank_earnings_town_id_fkey;
ALTER TABLE bank_earnings DROP CONSTRAINT IF EXISTS bank_earnings_village_id_fkey;
ALTER TABLE bank_earnings DROP CONSTRAINT IF EXISTS bank_earnings_household_id_fkey;
