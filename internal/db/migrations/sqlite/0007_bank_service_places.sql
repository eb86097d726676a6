-- 文明银行: a service (定制回馈服务, such as a haircut) offers a number of places per period in each
-- village (capacity, capacity_period), which come back by themselves when the next period begins;
-- goods keep their stock, which only stock-ins raise. A village store's row remembers which
-- period its remaining places belong to (period: '' for goods). Kept in lockstep with
-- ../postgres/0007_bank_service_places.sql.
ALTER TABLE bank_items ADD COLUMN capacity INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0);
ALTER TABLE bank_items ADD COLUMN capacity_period TEXT NOT NULL DEFAULT '' CHECK (capacity_period IN ('', 'day', 'week', 'month', 'year'));
ALTER TABLE bank_stock ADD COLUMN period TEXT NOT NULL DEFAULT '';
-- Services so far had their places stocked in like goods: each now offers, every month, as many
-- places as the most any one village store was given.
UPDATE bank_items SET capacity_period = 'month', capacity = COALESCE((SELECT MAX(given) FROM (SELECT SUM(m.delta) AS given FROM bank_stock_moves m
    WHERE m.item_id = bank_items.id AND m.source IN ('purchase', 'donation') GROUP BY m.village_id) g), 0)
WHERE kind = 'service';
