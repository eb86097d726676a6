-- 文明银行: no hot rows on the write path. On PostgreSQL this step drops the foreign keys from
-- postings and earnings to their town, village and household, whose checks lock those rows (see
-- ../postgres/0004_bank_hot_rows.sql). SQLite's single writer takes no row locks, so its
-- constraints stay, and the step changes nothing here but the version, to keep the two sets in
-- lockstep.
SELECT 1;
