-- 文明银行: who may redeem an item is a matter of village as well as class: villages lists the
-- ids of the villages whose residents may redeem it, comma-separated as classes are ('' for the
-- whole town). A service's places come to every village store by themselves, so without it a
-- service could not be offered in one village only. Kept in lockstep with
-- ../postgres/0009_bank_item_villages.sql.
ALTER TABLE bank_items ADD COLUMN villages TEXT NOT NULL DEFAULT '';
