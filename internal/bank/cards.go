package bank

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// cardRow is a card with where its holder lives, for permission checks.
type cardRow struct {
	Card
	townID, villageID int64
	holder            people.Status
}

const cardCols = `c.id, c.resident_id, r.name, v.name, c.number, c.generation, c.status, c.issued_at, r.town_id, r.village_id, r.status`

const cardFrom = ` FROM bank_cards c JOIN residents r ON r.id = c.resident_id JOIN villages v ON v.id = r.village_id`

func scanCard(sc interface{ Scan(...any) error }) (cardRow, error) {
	var c cardRow
	err := sc.Scan(&c.ID, &c.ResidentID, &c.ResidentName, &c.VillageName, &c.Number, &c.Generation, &c.Status, &c.IssuedAt, &c.townID, &c.villageID, &c.holder)
	return c, err
}

// cardWhere returns the card matching cond ("c.id = $1"), or ok=false.
func cardWhere(ctx context.Context, q db.Querier, cond string, arg any) (cardRow, bool, error) {
	c, err := scanCard(q.QueryRowContext(ctx, `SELECT `+cardCols+cardFrom+` WHERE `+cond, arg))
	if db.IsNoRows(err) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("bank: card: %w", err)
	}
	return c, true, nil
}

// holderOf is a resident as card issuance needs them.
type holderOf struct {
	townID, villageID int64
	townCode, name    string
	status            people.Status
}

func (s *Service) holder(ctx context.Context, residentID int64) (holderOf, error) {
	var h holderOf
	err := s.DB.Read().QueryRowContext(ctx, `SELECT r.town_id, r.village_id, t.code, r.name, r.status FROM residents r
		JOIN towns t ON t.id = r.town_id WHERE r.id = $1`, residentID).Scan(&h.townID, &h.villageID, &h.townCode, &h.name, &h.status)
	if db.IsNoRows(err) {
		return h, errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return h, fmt.Errorf("bank: card: %w", err)
	}
	return h, nil
}

// IssueCard opens a card for a resident in the register (开卡): the next serial of the town. A
// resident has one card; a lost one is reissued, not issued again. Staff of the village only.
func (s *Service) IssueCard(ctx context.Context, a *auth.Actor, residentID int64) (Card, error) {
	out, err := s.IssueCards(ctx, a, []int64{residentID})
	if err != nil {
		return Card{}, err
	}
	return out[0].Card, out[0].Err
}

// CardResult is one resident's outcome in IssueCards: their new card, or why not.
type CardResult struct {
	ResidentID int64
	Card       Card
	Err        error
}

// cardChunk is how many cards share a transaction in IssueCards.
const cardChunk = 200

// IssueCards opens cards for many residents of one town at once (批量开卡), as IssueCard does for
// each: every one stands on its own (a resident who has a card, another village's or a moved
// one is refused alone), in consecutive serials. A chunk of cards shares a transaction and one
// look-up of the town's highest serial, so opening a village's cards costs a few commits, not
// one scan of the town's cards per card.
func (s *Service) IssueCards(ctx context.Context, a *auth.Actor, residentIDs []int64) ([]CardResult, error) {
	out := make([]CardResult, len(residentIDs))
	var townCode string
	var ok []int // indexes admitted, by town
	holders := make([]holderOf, len(residentIDs))
	for i, id := range residentIDs {
		out[i].ResidentID = id
		h, err := s.holder(ctx, id)
		if err == nil {
			if err = auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: h.townID, VillageID: h.villageID}); err != nil {
				err = auth.Hide(err)
			} else if h.status != people.Active {
				err = &errs.Error{Code: errs.Invalid, Key: "people.not_active", Fields: []errs.FieldError{{Field: "resident_id", Key: "people.not_active"}}}
			} else if townCode != "" && h.townCode != townCode {
				err = errs.New(errs.NotFound, "error.not_found") // one town per batch
			}
		}
		if err != nil {
			out[i].Err = err
			continue
		}
		townCode, holders[i] = h.townCode, h
		ok = append(ok, i)
	}
	for len(ok) > 0 {
		part := ok[:min(cardChunk, len(ok))]
		ok = ok[len(part):]
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			// Serials are per town: the highest in use plus one, taken one issuer at a time per
			// town (on PostgreSQL; SQLite has one writer).
			if err := s.DB.Serialize(ctx, tx, "bank.card.serial:"+townCode); err != nil {
				return fmt.Errorf("bank: issue card: %w", err)
			}
			top, err := topCardSerial(ctx, tx, townCode)
			if err != nil {
				return fmt.Errorf("bank: issue card: %w", err)
			}
			now := s.Now()
			for _, i := range part {
				if out[i].Card, out[i].Err, err = s.issueOne(ctx, tx, a, holders[i], residentIDs[i], &top, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// issueOne opens one card in IssueCards' transaction with the serial after *top: refused (the
// second result) when the resident has a card; err fails the whole chunk.
func (s *Service) issueOne(ctx context.Context, tx *sql.Tx, a *auth.Actor, h holderOf, residentID int64, top *int64, now time.Time) (Card, error, error) {
	if old, found, err := cardWhere(ctx, tx, "c.resident_id = $1", residentID); err != nil {
		return Card{}, nil, err
	} else if found {
		return Card{}, cardTaken(old.Status), nil
	}
	var id int64
	for attempt := 0; id == 0; attempt++ {
		if attempt == 50 {
			return Card{}, nil, fmt.Errorf("bank: issue card: no free serial in town %s after %d attempts", h.townCode, attempt)
		}
		*top++
		// No conflict aborts the transaction: a number taken meanwhile (by an issuer that did not
		// take the lock) is skipped, and the resident's own card issued meanwhile is refused.
		err := tx.QueryRowContext(ctx, `INSERT INTO bank_cards (resident_id, number, generation, status, issued_at) VALUES ($1, $2, 1, 'active', $3)
			ON CONFLICT DO NOTHING RETURNING id`, residentID, CardNumber(h.townCode, *top), now).Scan(&id)
		switch {
		case db.IsNoRows(err):
			if old, found, err := cardWhere(ctx, tx, "c.resident_id = $1", residentID); err != nil {
				return Card{}, nil, err
			} else if found {
				*top--
				return Card{}, cardTaken(old.Status), nil
			}
			if *top, err = topCardSerial(ctx, tx, h.townCode); err != nil {
				return Card{}, nil, fmt.Errorf("bank: issue card: %w", err)
			}
		case err != nil:
			return Card{}, nil, fmt.Errorf("bank: issue card: %w", err)
		}
	}
	c, _, err := cardWhere(ctx, tx, "c.id = $1", id)
	if err != nil {
		return Card{}, nil, err
	}
	err = auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.card.issue", Entity: "card", EntityID: c.ID, TownID: h.townID, VillageID: h.villageID,
		Summary: auth.Summarize(nil, map[string]any{"resident": residentID, "name": h.name, "number": c.Number, "generation": c.Generation})})
	return c.Card, nil, err
}

// topCardSerial is the highest serial of the town's cards in use or retired: the next card takes
// one more, so that no number is ever given twice. The caller holds the town's serial lock.
func topCardSerial(ctx context.Context, tx *sql.Tx, townCode string) (int64, error) {
	prefix := townCode + "-"
	// The serial is what follows the dash, less the check character of a number that has one.
	serial := `CAST(CASE WHEN LENGTH(number) = $3 THEN SUBSTR(number, $2) ELSE SUBSTR(number, $2, LENGTH(number) - $2) END AS BIGINT)`
	var top int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(serial), 0) FROM (
		SELECT `+serial+` AS serial FROM bank_cards WHERE number LIKE $1 ESCAPE '\'
		UNION ALL SELECT `+serial+` AS serial FROM bank_retired_cards WHERE number LIKE $1 ESCAPE '\') s`,
		db.LikePrefix(prefix), len(prefix)+1, len(prefix)+legacySerialLen).Scan(&top)
	return top, err
}

// cardTaken is the refusal for issuing a card to a resident who has one.
func cardTaken(status string) error {
	if status == CardLost {
		return errs.New(errs.Conflict, "bank.card_lost")
	}
	return errs.New(errs.Conflict, "bank.card_exists")
}

// cardFor loads a card by id for a change: the holder themself (self) or staff of the village may.
func (s *Service) cardFor(ctx context.Context, a *auth.Actor, cardID int64, self bool) (cardRow, error) {
	c, found, err := cardWhere(ctx, s.DB.Read(), "c.id = $1", cardID)
	if err != nil {
		return c, err
	}
	if !found {
		return c, errs.New(errs.NotFound, "error.not_found")
	}
	sc := auth.Scope{TownID: c.townID, VillageID: c.villageID, ResidentID: c.ResidentID}
	if self && auth.Can(a, auth.SelfWrite, sc) == nil {
		return c, nil
	}
	if err := auth.Can(a, auth.ResidentWrite, sc); err != nil {
		return cardRow{}, auth.Hide(err)
	}
	return c, nil
}

// Card is one card, for those who may report it lost: its holder (or staff acting for them), or
// staff of the village. Anyone else is answered as if it did not exist.
func (s *Service) Card(ctx context.Context, a *auth.Actor, cardID int64) (Card, error) {
	c, err := s.cardFor(ctx, a, cardID, true)
	return c.Card, err
}

// ReportLost marks a card lost (挂失): from now on neither its QR code nor its number is accepted
// at the shop. The holder may report it, or staff of the village; the reason is kept in the audit
// log.
func (s *Service) ReportLost(ctx context.Context, a *auth.Actor, cardID int64, reason string) (Card, error) {
	c, err := s.cardFor(ctx, a, cardID, true)
	if err != nil {
		return Card{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.Now()
		res, err := tx.ExecContext(ctx, `UPDATE bank_cards SET status = 'lost', lost_at = $1 WHERE id = $2 AND status = 'active'`, now, cardID)
		if err != nil {
			return fmt.Errorf("bank: report lost: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("bank: report lost: %w", err)
		} else if n == 0 {
			return errs.New(errs.Conflict, "bank.card_lost")
		}
		c.Status = CardLost
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.card.lost", Entity: "card", EntityID: c.ID, TownID: c.townID, VillageID: c.villageID,
			Summary: auth.Summarize(map[string]any{"status": CardActive}, map[string]any{"status": CardLost, "number": c.Number, "generation": c.Generation, "reason": reason})})
	})
	if err != nil {
		return Card{}, err
	}
	return c.Card, nil
}

// Reissue replaces a lost card (补卡): a new number and the next generation. The lost card's
// number is retired, so that neither its QR code nor its printed number is taken again. Staff of
// the village only, for a resident in the register.
func (s *Service) Reissue(ctx context.Context, a *auth.Actor, cardID int64) (Card, error) {
	c, err := s.cardFor(ctx, a, cardID, false)
	if err != nil {
		return Card{}, err
	}
	if c.Status != CardLost {
		return Card{}, errs.New(errs.Conflict, "bank.card_not_lost")
	}
	if c.holder != people.Active {
		return Card{}, errs.New(errs.Conflict, "people.not_active")
	}
	h, err := s.holder(ctx, c.ResidentID)
	if err != nil {
		return Card{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.Now()
		if err := s.DB.Serialize(ctx, tx, "bank.card.serial:"+h.townCode); err != nil {
			return fmt.Errorf("bank: reissue: %w", err)
		}
		top, err := topCardSerial(ctx, tx, h.townCode)
		if err != nil {
			return fmt.Errorf("bank: reissue: %w", err)
		}
		number := CardNumber(h.townCode, top+1)
		res, err := tx.ExecContext(ctx, `UPDATE bank_cards SET number = $1, generation = generation + 1, status = 'active', issued_at = $2, lost_at = NULL
			WHERE id = $3 AND status = 'lost' AND generation = $4 AND number = $5`, number, now, cardID, c.Generation, c.Number)
		if err != nil {
			return fmt.Errorf("bank: reissue: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("bank: reissue: %w", err)
		} else if n == 0 {
			// reissued by someone else meanwhile
			return errs.New(errs.Conflict, "bank.card_not_lost")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bank_retired_cards (number, card_id, retired_at) VALUES ($1, $2, $3)`, c.Number, cardID, now); err != nil {
			return fmt.Errorf("bank: reissue: %w", err)
		}
		old := c.Number
		c.Status, c.Number, c.Generation, c.IssuedAt = CardActive, number, c.Generation+1, now
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.card.reissue", Entity: "card", EntityID: c.ID, TownID: c.townID, VillageID: c.villageID,
			Summary: auth.Summarize(map[string]any{"status": CardLost, "number": old, "generation": c.Generation - 1}, map[string]any{"status": CardActive, "number": c.Number, "generation": c.Generation})})
	})
	if err != nil {
		return Card{}, err
	}
	return c.Card, nil
}

// CardOf returns a resident's card, for the resident themself or staff of the village. A resident
// without a card gets NotFound "bank.card_none".
func (s *Service) CardOf(ctx context.Context, a *auth.Actor, residentID int64) (Card, error) {
	h, err := s.holder(ctx, residentID)
	if err != nil {
		return Card{}, err
	}
	sc := auth.Scope{TownID: h.townID, VillageID: h.villageID, ResidentID: residentID}
	if auth.Can(a, auth.SelfRead, sc) != nil {
		if err := auth.Can(a, auth.ResidentRead, sc); err != nil {
			return Card{}, auth.Hide(err)
		}
	}
	c, found, err := cardWhere(ctx, s.DB.Read(), "c.resident_id = $1", residentID)
	if err != nil {
		return Card{}, err
	}
	if !found {
		return Card{}, errs.New(errs.NotFound, "bank.card_none")
	}
	return c.Card, nil
}

// LookupCard finds the holder of a card at the shop counter from a scanned token or a typed card
// number. The card must be active, by a number it carries now and, for a token, of the current
// generation: a lost card's retired number is refused, by its QR code or typed. A typed number
// whose check character does not match is refused on the field, before any look-up. Anything
// that is not a card the actor may fulfil orders for in their village is "bank.card_unknown", so
// that the answer does not tell other villages' cards from made-up ones.
func (s *Service) LookupCard(ctx context.Context, a *auth.Actor, tokenOrNumber string) (Card, error) {
	unknown := errs.New(errs.NotFound, "bank.card_unknown")
	in := strings.TrimSpace(tokenOrNumber)
	if n := len(in); n > 0 && in[n-1] == 'x' && CardNumberOK(in[:n-1]+"X") {
		in = in[:n-1] + "X" // the check character typed in lower case
	}
	number, gen := in, 0
	if CardNumberOK(in) {
		if !CardCheckOK(in) {
			return Card{}, &errs.Error{Code: errs.Invalid, Key: "bank.card_number_invalid", Fields: []errs.FieldError{{Field: "card", Key: "bank.card_number_invalid"}}}
		}
	} else {
		var err error
		if number, gen, err = ParseCardToken(s.cardKey(), in); err != nil {
			return Card{}, unknown
		}
	}
	c, found, err := cardWhere(ctx, s.DB.Read(), "c.number = $1", number)
	if err != nil {
		return Card{}, err
	}
	retired := false
	if !found {
		// A retired number answers for its card only to who may see it, and only as replaced.
		c, found, err = cardWhere(ctx, s.DB.Read(), "c.id = (SELECT card_id FROM bank_retired_cards WHERE number = $1)", number)
		if err != nil {
			return Card{}, err
		}
		retired = true
	}
	if !found {
		return Card{}, unknown
	}
	if err := auth.Can(a, PermFulfil, auth.Scope{TownID: c.townID, VillageID: c.villageID}); err != nil {
		if errs.Is(err, errs.Forbidden) {
			return Card{}, unknown
		}
		return Card{}, err
	}
	switch {
	case retired:
		return Card{}, errs.New(errs.Conflict, "bank.card_replaced")
	case c.Status == CardLost:
		return Card{}, errs.New(errs.Conflict, "bank.card_lost")
	case gen != 0 && gen != c.Generation:
		return Card{}, errs.New(errs.Conflict, "bank.card_replaced")
	case c.holder != people.Active:
		return Card{}, errs.New(errs.Conflict, "people.not_active")
	}
	return c.Card, nil
}

// ---- figures

// CardFigure is one village's card figures: residents in the register, how many of them have an
// active card, and how many can log in to the app themselves.
type CardFigure struct {
	VillageID   int64  `json:"village_id"`
	VillageName string `json:"village_name"`
	Residents   int    `json:"residents"`
	Cards       int    `json:"cards"`
	Logins      int    `json:"logins"`
}

// CardFigures gives the card figures of each village of a town the actor may read the ledger of:
// every village for town staff, their own for village staff.
func (s *Service) CardFigures(ctx context.Context, a *auth.Actor, townID int64) ([]CardFigure, error) {
	all, ids, err := visible(a, PermLedger, townID)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT v.id, v.name,
		(SELECT COUNT(*) FROM residents r WHERE r.village_id = v.id AND r.status = 'active'),
		(SELECT COUNT(*) FROM bank_cards c JOIN residents r ON r.id = c.resident_id WHERE r.village_id = v.id AND r.status = 'active' AND c.status = 'active'),
		(SELECT COUNT(*) FROM residents r WHERE r.village_id = v.id AND r.status = 'active'
			AND EXISTS (SELECT 1 FROM accounts ac WHERE ac.resident_id = r.id AND NOT ac.disabled))
		FROM villages v WHERE v.town_id = $1 ORDER BY v.code, v.id`, townID)
	if err != nil {
		return nil, fmt.Errorf("bank: card figures: %w", err)
	}
	defer rows.Close()
	out := []CardFigure{}
	for rows.Next() {
		var f CardFigure
		if err := rows.Scan(&f.VillageID, &f.VillageName, &f.Residents, &f.Cards, &f.Logins); err != nil {
			return nil, fmt.Errorf("bank: card figures: %w", err)
		}
		if all || slices.Contains(ids, f.VillageID) {
			out = append(out, f)
		}
	}
	return out, rows.Err()
}
