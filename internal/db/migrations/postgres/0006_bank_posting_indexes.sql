-- 文明银行: two index entries fewer per posting. No query reads postings by town and id (the
-- statement reads an account's entries, the cap a resident's postings by rule), so that index
-- only cost every posting a write. A reversal names the transaction it undoes, and only one may:
-- the unique index now holds the reversals alone, where it held an empty entry for every other
-- posting too. Kept in lockstep with ../sqlite/0006_bank_posting_indexes.sql.
DROP INDEX IF EXISTS bank_transactions_town;
CREATE UNIQUE INDEX IF NOT EXISTS bank_transactions_reversal ON bank_transactions (reverses_id) WHERE reverses_id IS NOT NULL;
ALTER TABLE bank_transactions DROP CONSTRAINT IF EXISTS bank_transactions_reverses_id_key;
