-- 大字模式 (适老化): a resident's choice of large text, higher contrast and fewer items per screen,
-- kept on the resident so that it follows them to any phone, and so that staff in office mode can
-- switch it on for someone without an account.
ALTER TABLE residents ADD COLUMN large_text BOOLEAN NOT NULL DEFAULT FALSE;
