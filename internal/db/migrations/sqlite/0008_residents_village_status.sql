-- Registry: the active residents of each village are counted from an index alone. The count sits
-- on every staff page that offers a choice of village, and the bank's figures walk the same
-- residents by village; with only (village_id, name) each resident's row had to be read for its
-- status: at 20,000 residents 13.5 ms for the counts alone (SQLite), 1.1 ms with this index. Kept
-- in lockstep with ../postgres/0008_residents_village_status.sql.
CREATE INDEX residents_village_status ON residents (village_id, status);
