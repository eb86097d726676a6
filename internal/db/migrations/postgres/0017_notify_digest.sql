-- 每日汇总 (issue 13 item 17): a resident chooses to have their in-app messages shown on the home
-- once a day, as one digest, instead of each at once (即时提醒). The choice is kept on the
-- resident, as 大字模式 is, so that staff in office mode can make it for someone beside them. It
-- is the moment the resident chose the digest, NULL for 即时提醒: what came before was shown at
-- once. Messages are stored when they are sent either way, and the messages page lists them all.
-- Kept in lockstep with ../sqlite/0017_notify_digest.sql.
ALTER TABLE residents ADD COLUMN notify_digest_since TIMESTAMPTZ;

-- A resident's digest of a day: their messages first_id..last_id, those sent since the last digest
-- and before the day's digest time in the town. The scheduler makes it once: the key makes a
-- second run, or another server's, add nothing.
CREATE TABLE notify_digests (
    resident_id  BIGINT NOT NULL REFERENCES residents(id),
    day          TEXT NOT NULL,
    first_id     BIGINT NOT NULL,
    last_id      BIGINT NOT NULL,
    messages     INTEGER NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (resident_id, day)
);
