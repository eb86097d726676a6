package bank

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// Card is a resident's bank card (开卡): a number (town code + serial + check character) printed on
// it and a QR code carrying a signed token of the number and generation. Reissuing a lost card
// gives it a new number and the next generation; the old number is retired (bank_retired_cards),
// so the lost card is refused by its QR code and by its printed number alike.
type Card struct {
	ID           int64     `json:"id"`
	ResidentID   int64     `json:"resident_id"`
	ResidentName string    `json:"resident_name"`
	VillageName  string    `json:"village_name"`
	Number       string    `json:"number"`
	Generation   int       `json:"generation"`
	Status       string    `json:"status"`
	IssuedAt     time.Time `json:"issued_at"`
}

// The card statuses.
const (
	CardActive = "active"
	CardLost   = "lost"
)

// The purposes of the keys derived from the master secret.
const (
	cardKeyPurpose      = "siwei card token"
	householdKeyPurpose = "siwei household code"
)

// cardMACSize is the length of the truncated HMAC in a token: 128 bits keep forgery out of reach
// and keep the token (about 50 characters) in a QR code of version 4 at medium recovery.
const cardMACSize = 16

// maxTokenLen bounds what ParseCardToken looks at; real tokens are under 64 characters.
const maxTokenLen = 128

// CardToken is what a card's QR code carries: base64url(number "." generation "." mac) where mac
// is HMAC-SHA256(key, "card|number|generation") cut to 16 bytes. It never carries the ID number.
func CardToken(key []byte, c Card) string {
	gen := strconv.Itoa(c.Generation)
	raw := make([]byte, 0, len(c.Number)+len(gen)+2+cardMACSize)
	raw = append(raw, c.Number...)
	raw = append(raw, '.')
	raw = append(raw, gen...)
	raw = append(raw, '.')
	raw = append(raw, cardMAC(key, c.Number, gen)...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func cardMAC(key []byte, number, gen string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("card|" + number + "|" + gen))
	return m.Sum(nil)[:cardMACSize]
}

// ParseCardToken checks a token made by CardToken and returns the card number and generation.
// It accepts only the exact text CardToken produces (no padding, line breaks or other spellings of
// the same bytes) and compares the MAC in constant time.
func ParseCardToken(key []byte, tok string) (number string, generation int, err error) {
	bad := errs.New(errs.NotFound, "bank.card_unknown")
	if tok == "" || len(tok) > maxTokenLen {
		return "", 0, bad
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	// The decoder skips line breaks; only the canonical spelling is a token.
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != tok || len(raw) < cardMACSize+4 {
		return "", 0, bad
	}
	mac, body := raw[len(raw)-cardMACSize:], raw[:len(raw)-cardMACSize]
	if body[len(body)-1] != '.' {
		return "", 0, bad
	}
	body = body[:len(body)-1]
	dot := strings.LastIndexByte(string(body), '.')
	if dot < 0 {
		return "", 0, bad
	}
	number, gen := string(body[:dot]), string(body[dot+1:])
	generation, err = strconv.Atoi(gen)
	if err != nil || generation < 1 || strconv.Itoa(generation) != gen || !CardNumberOK(number) {
		return "", 0, bad
	}
	if !hmac.Equal(mac, cardMAC(key, number, gen)) {
		return "", 0, bad
	}
	return number, generation, nil
}

// CardNumberOK reports whether s has the shape of a card number: a town code of 6–12 digits, a
// dash, and either six digits (a number printed before check characters, see CardNumber) or at
// least six digits and a check character (0–9 or X). It does not check the check character:
// CardCheckOK does.
func CardNumberOK(s string) bool {
	town, serial, ok := strings.Cut(s, "-")
	if !ok || len(s) > 32 || !cardDigits(town) || len(town) < 6 || len(town) > 12 || len(serial) < 6 {
		return false
	}
	if len(serial) == legacySerialLen {
		return cardDigits(serial)
	}
	last := serial[len(serial)-1]
	return cardDigits(serial[:len(serial)-1]) && (last == 'X' || (last >= '0' && last <= '9'))
}

// legacySerialLen is the length of the serial of the numbers printed before they had a check
// character: exactly six digits (%06d), since no town had reached a millionth card. A number
// issued since always has at least seven characters after the dash (six digits or more, then the
// check character), so the length alone tells the two apart, and old cards keep working.
const legacySerialLen = 6

// CardNumber is the number of a town's serial-th card: the town code, a dash, the serial in six
// digits or more, and the ISO 7064 MOD 11-2 check character (as in the ID number) of all the
// digits, town code included, so that one mistyped digit or two swapped are caught at the
// counter before any look-up.
func CardNumber(townCode string, serial int64) string {
	body := fmt.Sprintf("%s-%06d", townCode, serial)
	return body + string(mod112(body))
}

// CardCheckOK reports whether a number of CardNumberOK's shape is one that could have been issued:
// a number from before check characters has none to check; a newer one's must match.
func CardCheckOK(s string) bool {
	_, serial, _ := strings.Cut(s, "-")
	if len(serial) == legacySerialLen {
		return true
	}
	return mod112(s[:len(s)-1]) == s[len(s)-1]
}

// mod112 is the ISO 7064 MOD 11-2 check character of the digits of s (other characters are
// skipped): 0–9 or X.
func mod112(s string) byte {
	p := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			p = (p + int(c-'0')) * 2 % 11
		}
	}
	return "0123456789X"[(12-p)%11]
}

func cardDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// cardKey is the key that signs card tokens.
func (s *Service) cardKey() []byte { return s.People.Cipher.Derive(cardKeyPurpose) }

// TokenOf is the token for a card's QR code.
func (s *Service) TokenOf(c Card) string { return CardToken(s.cardKey(), c) }

// CardQR is the card's QR code as a 256-pixel PNG.
func (s *Service) CardQR(c Card) ([]byte, error) { return qrPNG(s.TokenOf(c)) }

func qrPNG(content string) ([]byte, error) {
	png, err := qrcode.Encode(content, qrcode.Medium, 256)
	if err != nil {
		return nil, fmt.Errorf("bank: qr code: %w", err)
	}
	return png, nil
}

// qrDataURL is a QR code as a data: URL for an <img> on a print sheet.
func qrDataURL(content string) (template.URL, error) {
	png, err := qrPNG(content)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

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
	h, err := s.holder(ctx, residentID)
	if err != nil {
		return Card{}, err
	}
	if err := auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: h.townID, VillageID: h.villageID}); err != nil {
		return Card{}, auth.Hide(err)
	}
	if h.status != people.Active {
		return Card{}, &errs.Error{Code: errs.Invalid, Key: "people.not_active", Fields: []errs.FieldError{{Field: "resident_id", Key: "people.not_active"}}}
	}
	var c cardRow
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if old, found, err := cardWhere(ctx, tx, "c.resident_id = $1", residentID); err != nil {
			return err
		} else if found {
			return cardTaken(old.Status)
		}
		now := s.Now()
		// Serials are per town: the highest in use plus one, taken one issuer at a time per town
		// (on PostgreSQL; SQLite has one writer). Should a number still be taken, ON CONFLICT waits
		// for its issuer to commit, then we read the highest again and take the next.
		if err := s.DB.Serialize(ctx, tx, "bank.card.serial:"+h.townCode); err != nil {
			return fmt.Errorf("bank: issue card: %w", err)
		}
		var id int64
		for attempt := 0; id == 0; attempt++ {
			if attempt == 50 {
				return fmt.Errorf("bank: issue card: no free serial in town %s after %d attempts", h.townCode, attempt)
			}
			number, err := nextCardNumber(ctx, tx, h.townCode)
			if err != nil {
				return fmt.Errorf("bank: issue card: %w", err)
			}
			err = tx.QueryRowContext(ctx, `INSERT INTO bank_cards (resident_id, number, generation, status, issued_at) VALUES ($1, $2, 1, 'active', $3)
				ON CONFLICT (number) DO NOTHING RETURNING id`, residentID, number, now).Scan(&id)
			switch {
			case db.IsNoRows(err):
				// the number was taken: read the highest again
			case db.IsUnique(err):
				// numbers are arbitrated above, so this is the resident's own card issued meanwhile
				return errs.New(errs.Conflict, "bank.card_exists")
			case err != nil:
				return fmt.Errorf("bank: issue card: %w", err)
			}
		}
		var err error
		if c, _, err = cardWhere(ctx, tx, "c.id = $1", id); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.card.issue", Entity: "card", EntityID: c.ID, TownID: h.townID, VillageID: h.villageID,
			Summary: auth.Summarize(nil, map[string]any{"resident": residentID, "name": h.name, "number": c.Number, "generation": c.Generation})})
	})
	if err != nil {
		return Card{}, err
	}
	return c.Card, nil
}

// nextCardNumber is the number of the town's next card: one past the highest serial in use or
// retired, so that no number is ever given twice. The caller holds the town's serial lock.
func nextCardNumber(ctx context.Context, tx *sql.Tx, townCode string) (string, error) {
	prefix := townCode + "-"
	// The serial is what follows the dash, less the check character of a number that has one.
	serial := `CAST(CASE WHEN LENGTH(number) = $3 THEN SUBSTR(number, $2) ELSE SUBSTR(number, $2, LENGTH(number) - $2) END AS BIGINT)`
	var top int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(serial), 0) FROM (
		SELECT `+serial+` AS serial FROM bank_cards WHERE number LIKE $1 ESCAPE '\'
		UNION ALL SELECT `+serial+` AS serial FROM bank_retired_cards WHERE number LIKE $1 ESCAPE '\') s`,
		db.LikePrefix(prefix), len(prefix)+1, len(prefix)+legacySerialLen).Scan(&top)
	return CardNumber(townCode, top+1), err
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

// ReportLost marks a card lost (挂失): from now on neither its QR code nor its number is accepted
// at the shop. The holder may report it, or staff of the village.
func (s *Service) ReportLost(ctx context.Context, a *auth.Actor, cardID int64) (Card, error) {
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
			Summary: auth.Summarize(map[string]any{"status": CardActive}, map[string]any{"status": CardLost, "number": c.Number, "generation": c.Generation})})
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
		number, err := nextCardNumber(ctx, tx, h.townCode)
		if err != nil {
			return fmt.Errorf("bank: reissue: %w", err)
		}
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

// ---- 一户一码: household codes for door plaques

// householdCode derives a household's code: town code, "-H", the household id and six characters
// of an HMAC, so that codes cannot be guessed from the id. All characters are in the QR code's
// alphanumeric set.
func householdCode(key []byte, townCode string, householdID int64) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("household|" + strconv.FormatInt(householdID, 10)))
	return fmt.Sprintf("%s-H%d-%s", townCode, householdID, base32.StdEncoding.EncodeToString(m.Sum(nil))[:6])
}

// HouseholdCode returns the household's code (一户一码), made on first use and stored, so it stays
// the same however often it is asked for. Staff of the village only.
func (s *Service) HouseholdCode(ctx context.Context, a *auth.Actor, householdID int64) (string, error) {
	var townID, villageID int64
	var townCode string
	var code sql.NullString
	err := s.DB.Read().QueryRowContext(ctx, `SELECT v.town_id, h.village_id, t.code, hc.code FROM households h JOIN villages v ON v.id = h.village_id
		JOIN towns t ON t.id = v.town_id LEFT JOIN bank_household_codes hc ON hc.household_id = h.id WHERE h.id = $1`, householdID).
		Scan(&townID, &villageID, &townCode, &code)
	if db.IsNoRows(err) {
		return "", errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return "", fmt.Errorf("bank: household code: %w", err)
	}
	if err := auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: townID, VillageID: villageID}); err != nil {
		return "", auth.Hide(err)
	}
	if code.Valid {
		return code.String, nil
	}
	codes, err := s.storeCodes(ctx, townCode, []int64{householdID})
	if err != nil {
		return "", err
	}
	return codes[householdID], nil
}

// storeCodes makes the missing codes of households of one town and returns the stored codes.
func (s *Service) storeCodes(ctx context.Context, townCode string, ids []int64) (map[int64]string, error) {
	key := s.People.Cipher.Derive(householdKeyPurpose)
	out := make(map[int64]string, len(ids))
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.Now()
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO bank_household_codes (household_id, code, created_at) VALUES ($1, $2, $3)
				ON CONFLICT (household_id) DO NOTHING`, id, householdCode(key, townCode, id), now); err != nil {
				return fmt.Errorf("bank: household code: %w", err)
			}
			var c string
			if err := tx.QueryRowContext(ctx, `SELECT code FROM bank_household_codes WHERE household_id = $1`, id).Scan(&c); err != nil {
				return fmt.Errorf("bank: household code: %w", err)
			}
			out[id] = c
		}
		return nil
	})
	return out, err
}

// ---- print sheets for residents without phones

// PrintCard is one card on a print sheet. The sheet is the village office's own printout, so it
// carries the full name.
type PrintCard struct {
	CardID          int64
	Name            string
	Number          string
	Village         string
	HouseholdNumber string
	QR              template.URL // data:image/png;base64,…
}

// PrintPlaque is one household's door plaque (一户一码) on a print sheet.
type PrintPlaque struct {
	HouseholdID     int64
	HeadName        string
	HouseholdNumber string
	Address         string
	Village         string
	Code            string
	QR              template.URL
}

// PrintSheet is the data of templates/cards_print.html: Kind "cards" (2 × 5 to an A4 page) or
// "plaques" (2 × 3 to a page), already cut into pages.
type PrintSheet struct {
	Kind    string
	Village string
	Count   int
	Cards   [][]PrintCard
	Plaques [][]PrintPlaque
}

// Per A4 page.
const (
	CardsPerPage   = 10
	PlaquesPerPage = 6
)

// NewCardSheet lays out cards for the print template.
func NewCardSheet(village string, cards []PrintCard) PrintSheet {
	return PrintSheet{Kind: "cards", Village: village, Count: len(cards), Cards: cutPages(cards, CardsPerPage)}
}

// NewPlaqueSheet lays out household plaques for the print template.
func NewPlaqueSheet(village string, plaques []PrintPlaque) PrintSheet {
	return PrintSheet{Kind: "plaques", Village: village, Count: len(plaques), Plaques: cutPages(plaques, PlaquesPerPage)}
}

func cutPages[T any](items []T, n int) [][]T {
	var out [][]T
	for len(items) > n {
		out = append(out, items[:n:n])
		items = items[n:]
	}
	if len(items) > 0 {
		out = append(out, items)
	}
	return out
}

// sheetVillage checks that the actor is staff of the village who may print its sheets.
func (s *Service) sheetVillage(ctx context.Context, a *auth.Actor, villageID int64) (townCode string, err error) {
	var townID int64
	err = s.DB.Read().QueryRowContext(ctx, `SELECT v.town_id, t.code FROM villages v JOIN towns t ON t.id = v.town_id WHERE v.id = $1`, villageID).Scan(&townID, &townCode)
	if db.IsNoRows(err) {
		return "", errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return "", fmt.Errorf("bank: print sheet: %w", err)
	}
	if err := auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: townID, VillageID: villageID}); err != nil {
		return "", auth.Hide(err)
	}
	return townCode, nil
}

// CardSheet lists every active card of the village's residents in the register, by household,
// with their QR codes, for printing. Staff of the village only.
func (s *Service) CardSheet(ctx context.Context, a *auth.Actor, villageID int64) ([]PrintCard, error) {
	if _, err := s.sheetVillage(ctx, a, villageID); err != nil {
		return nil, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT c.id, c.number, c.generation, r.name, v.name, h.number
		FROM bank_cards c JOIN residents r ON r.id = c.resident_id JOIN villages v ON v.id = r.village_id JOIN households h ON h.id = r.household_id
		WHERE r.village_id = $1 AND r.status = 'active' AND c.status = 'active' ORDER BY h.number, r.id`, villageID)
	if err != nil {
		return nil, fmt.Errorf("bank: card sheet: %w", err)
	}
	var out []PrintCard
	var gens []int
	for rows.Next() {
		var p PrintCard
		var gen int
		if err := rows.Scan(&p.CardID, &p.Number, &gen, &p.Name, &p.Village, &p.HouseholdNumber); err != nil {
			rows.Close()
			return nil, fmt.Errorf("bank: card sheet: %w", err)
		}
		out = append(out, p)
		gens = append(gens, gen)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bank: card sheet: %w", err)
	}
	key := s.cardKey()
	for i := range out {
		if out[i].QR, err = qrDataURL(CardToken(key, Card{Number: out[i].Number, Generation: gens[i]})); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PlaqueSheet lists every household of the village with someone in the register: its head, 户号,
// address and code with its QR code, making the codes missing. Staff of the village only.
func (s *Service) PlaqueSheet(ctx context.Context, a *auth.Actor, villageID int64) ([]PrintPlaque, error) {
	townCode, err := s.sheetVillage(ctx, a, villageID)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT h.id, h.number, h.address, v.name, COALESCE(hr.name, ''), COALESCE(hc.code, '')
		FROM households h JOIN villages v ON v.id = h.village_id
		LEFT JOIN residents hr ON hr.id = h.head_resident_id AND hr.status = 'active'
		LEFT JOIN bank_household_codes hc ON hc.household_id = h.id
		WHERE h.village_id = $1 AND EXISTS (SELECT 1 FROM residents m WHERE m.household_id = h.id AND m.status = 'active')
		ORDER BY h.number, h.id`, villageID)
	if err != nil {
		return nil, fmt.Errorf("bank: plaque sheet: %w", err)
	}
	var out []PrintPlaque
	var missing []int64
	for rows.Next() {
		var p PrintPlaque
		if err := rows.Scan(&p.HouseholdID, &p.HouseholdNumber, &p.Address, &p.Village, &p.HeadName, &p.Code); err != nil {
			rows.Close()
			return nil, fmt.Errorf("bank: plaque sheet: %w", err)
		}
		if p.Code == "" {
			missing = append(missing, p.HouseholdID)
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bank: plaque sheet: %w", err)
	}
	if len(missing) > 0 {
		codes, err := s.storeCodes(ctx, townCode, missing)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if out[i].Code == "" {
				out[i].Code = codes[out[i].HouseholdID]
			}
		}
	}
	for i := range out {
		if out[i].QR, err = qrDataURL(out[i].Code); err != nil {
			return nil, err
		}
	}
	return out, nil
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
