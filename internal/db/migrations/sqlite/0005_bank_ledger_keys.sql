-- 文明银行: on PostgreSQL this step drops the foreign keys that the one posting statement keeps by
-- construction (entries to their transaction and account, postings and earnings to their
-- resident; see ../postgres/0005_bank_ledger_keys.sql). SQLite's checks cost its single writer
-- little, so they stay, and the step changes nothing here but the version, to keep the two sets
-- in lockstep.
SELECT 1;
