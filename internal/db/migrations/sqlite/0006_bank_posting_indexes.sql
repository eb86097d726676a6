-- 文明银行: one index entry fewer per posting. No query reads postings by town and id (the
-- statement reads an account's entries, the cap a resident's postings by rule), so that index
-- only cost every posting a write. (On PostgreSQL the one-reversal-per-transaction index also
-- becomes partial; SQLite's is part of the table's definition and stays as it is.) Kept in
-- lockstep with ../postgres/0006_bank_posting_indexes.sql.
DROP INDEX IF EXISTS bank_transactions_town;
