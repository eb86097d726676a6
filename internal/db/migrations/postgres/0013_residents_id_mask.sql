-- A masked 身份证号 shows its first 3 and last 4 characters, no longer its first 6: with 6 shown,
-- the 8 hidden digits were exactly the birth date, which staff who may not see the number saw
-- beside it. Every ID number stored has 18 characters. Kept in lockstep with
-- ../sqlite/0013_residents_id_mask.sql.
UPDATE residents SET id_masked = substr(id_masked, 1, 3) || '***********' || substr(id_masked, 15, 4)
WHERE length(id_masked) = 18;
