-- A need's idempotency key (微志愿): the need form carries one, so that a need sent twice — a
-- double tap, or a draft kept on the phone without signal and sent again when the signal returns
-- (static/offline.js) — is one need. A key is the requester's: unique per account that recorded
-- the need, and empty (NULL) for needs filed without one. Kept in lockstep with
-- ../postgres/0016_need_keys.sql.
ALTER TABLE volunteer_needs ADD COLUMN idem_key TEXT;
CREATE UNIQUE INDEX volunteer_needs_key ON volunteer_needs (recorded_by, idem_key);
