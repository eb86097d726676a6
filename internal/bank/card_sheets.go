package bank

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"fmt"
	"html/template"
	"strconv"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

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
