-- 文明银行: a reissued card (补卡) gets a new number, and the lost card's number is retired here, so
-- that the lost card is refused by its printed number as well as by its QR code (the counter says
-- it was replaced), and so that no serial is ever given out twice. Kept in lockstep with
-- ../sqlite/0011_bank_retired_cards.sql.
CREATE TABLE bank_retired_cards (
    number     TEXT PRIMARY KEY,
    card_id    BIGINT NOT NULL REFERENCES bank_cards(id),
    retired_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX bank_retired_cards_card ON bank_retired_cards (card_id);
