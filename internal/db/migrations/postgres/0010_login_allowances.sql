-- Logins: an attempt counts against one allowance, so that a guesser cannot lock the owner out.
-- allowance is '' for a browser or client the server does not know (limited per address and
-- phone, with back-off, and under a looser ceiling per phone), 'device:<id>' for a browser that
-- logged in to the phone before and holds its signed device cookie (its own limit), and
-- 'password' for the old password on the password-change form. Kept in lockstep with
-- ../sqlite/0010_login_allowances.sql.
ALTER TABLE login_attempts ADD COLUMN allowance TEXT NOT NULL DEFAULT '';
