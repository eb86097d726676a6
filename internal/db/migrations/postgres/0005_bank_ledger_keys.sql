-- 文明银行: the ledger's own references are kept by the one posting statement, not by foreign
-- key triggers. Every posting inserts its transaction, both entries and the earnings row in one
-- statement, having locked both accounts in it, so an entry's transaction and account, and a
-- posting's resident, exist by construction; the four triggers per posting that checked them again
-- (and locked the resident's row FOR KEY SHARE) cost about a tenth of a posting. Nothing is ever
-- deleted from these tables, and `siwei verify` finds an entry whose transaction or account is
-- missing. Kept in lockstep with ../sqlite/0005_bank_ledger_keys.sql, where the checks cost the
-- single writer little and stay.
ALTER TABLE bank_entries DROP CONSTRAINT IF EXISTS bank_entries_transaction_id_fkey;
ALTER TABLE bank_entries DROP CONSTRAINT IF EXISTS bank_entries_account_id_fkey;
ALTER TABLE bank_transactions DROP CONSTRAINT IF EXISTS bank_transactions_resident_id_fkey;
ALTER TABLE bank_earnings DROP CONSTRAINT IF EXISTS bank_earnings_resident_id_fkey;
