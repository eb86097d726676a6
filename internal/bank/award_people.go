package bank

// The people an award is for. Staff never type a resident's database id, which no list or export
// shows: the award page finds residents by name, phone or 户号, lists a village's households to
// tick from, and reads uploaded sheets whose rows name people by 身份证号, phone, or 户号 and 姓名.
// Every list and every match holds only residents of the villages where the actor may award; anyone
// else is not found, as if they did not exist.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// Person is a resident as the award page offers them: named and placed, with their phone and
// 身份证号 masked, and the balance of their account.
type Person struct {
	ID              int64
	Name            string
	VillageID       int64
	VillageName     string
	HouseholdNumber string
	Phone           string // masked
	IDMasked        string
	Status          people.Status
	Balance         int64
}

// MaxPeopleFound bounds a search's answer: a search is for finding a few people by name.
const MaxPeopleFound = 50

// personCols and personFrom read a Person of the residents r; match adds what a sheet's rows are
// checked against.
const (
	personCols = `r.id, r.name, r.village_id, v.name, h.number, r.phone, r.id_masked, r.status, COALESCE(ba.balance, 0)`
	personFrom = ` FROM residents r JOIN villages v ON v.id = r.village_id JOIN households h ON h.id = r.household_id
		LEFT JOIN bank_accounts ba ON ba.resident_id = r.id`
)

// awardVillages is where the actor may award in a town: every village of it, or those listed.
type awardVillages struct {
	town int64
	all  bool
	ids  []int64
}

// awardVillages reads where the actor may award in a town; with villageID, that one village,
// which is not found when the actor may not award there.
func (s *Service) awardVillages(ctx context.Context, a *auth.Actor, townID, villageID int64) (awardVillages, error) {
	if villageID != 0 {
		vs, err := s.Villages(ctx, a, townID, PermAward, villageID)
		if err != nil {
			return awardVillages{}, err
		}
		return awardVillages{town: vs[0].TownID, ids: []int64{villageID}}, nil
	}
	all, ids, err := visible(a, PermAward, townID)
	return awardVillages{town: townID, all: all, ids: ids}, err
}

// where is the condition that keeps the residents r of these villages.
func (av awardVillages) where(p *db.Params) []string {
	w := []string{"r.town_id = " + p.Add(av.town)}
	if !av.all {
		w = append(w, "r.village_id IN ("+p.List(av.ids)+")")
	}
	return w
}

// FindPeople finds the residents on the register (在册) of the villages where the actor may award,
// or of one of them when villageID is not 0, by what q is: a name or part of one, the start of a
// phone number, a 户号 (or its end, after the village's prefix), or a whole 身份证号. It answers at
// most MaxPeopleFound of them, by village and household, and more=true when there are others.
func (s *Service) FindPeople(ctx context.Context, a *auth.Actor, townID, villageID int64, q string) (found []Person, more bool, err error) {
	av, err := s.awardVillages(ctx, a, townID, villageID)
	if err != nil {
		return nil, false, err
	}
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, false, nil
	}
	if utf8.RuneCountInString(q) > 40 {
		q = string([]rune(q)[:40])
	}
	p := s.DB.Params()
	where := append(av.where(p), "r.status = 'active'")
	byID := false
	switch {
	case len(q) == 18 && allDigits(q[:17]):
		where = append(where, "r.id_hash = "+p.Add(s.People.Cipher.Hash(strings.ToUpper(q))))
		byID = true
	case allDigits(q) && len(q) <= 11:
		where = append(where, "((r.phone >= "+p.Add(q)+" AND r.phone < "+p.Add(q+"\uffff")+") OR h.number = "+p.Add(q)+
			" OR h.number LIKE "+p.Add("%-"+likeEscape(q))+` ESCAPE '\')`)
	case householdLike(q):
		where = append(where, "(h.number = "+p.Add(q)+" OR h.number LIKE "+p.Add("%-"+likeEscape(q))+` ESCAPE '\')`)
	default:
		where = append(where, "r.name LIKE "+p.Add("%"+likeEscape(q)+"%")+` ESCAPE '\'`)
	}
	found, err = s.people(ctx, `SELECT `+personCols+personFrom+` WHERE `+strings.Join(where, " AND ")+
		` ORDER BY v.code, v.id, h.number, r.id LIMIT `+p.Add(MaxPeopleFound+1), p.Args)
	if err != nil {
		return nil, false, err
	}
	if byID {
		// A number finds its resident only for staff who may see it, as in the register's search.
		found = slices.DeleteFunc(found, func(f Person) bool {
			return auth.Can(a, auth.ResidentViewID, auth.Scope{TownID: townID, VillageID: f.VillageID}) != nil
		})
	}
	if len(found) > MaxPeopleFound {
		return found[:MaxPeopleFound], true, nil
	}
	return found, false, nil
}

// VillagePeople lists the residents on the register of a village where the actor may award, by
// household: the list staff tick people from, and the award sheet they download.
func (s *Service) VillagePeople(ctx context.Context, a *auth.Actor, townID, villageID int64) ([]Person, error) {
	if villageID == 0 {
		return nil, errs.Field("village_id", "field.required")
	}
	av, err := s.awardVillages(ctx, a, townID, villageID)
	if err != nil {
		return nil, err
	}
	p := s.DB.Params()
	where := append(av.where(p), "r.status = 'active'")
	return s.people(ctx, `SELECT `+personCols+personFrom+` WHERE `+strings.Join(where, " AND ")+` ORDER BY h.number, r.id`, p.Args)
}

// PeopleByID returns those of the residents named who live in a village where the actor may award,
// whatever their standing in the register, in the order named; the others are left out.
func (s *Service) PeopleByID(ctx context.Context, a *auth.Actor, townID int64, ids []int64) ([]Person, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	av, err := s.awardVillages(ctx, a, townID, 0)
	if err != nil {
		return nil, err
	}
	byID := map[int64]Person{}
	const chunk = 500
	for lo := 0; lo < len(ids); lo += chunk {
		p := s.DB.Params()
		where := append(av.where(p), "r.id IN ("+p.List(ids[lo:min(lo+chunk, len(ids))])+")")
		ps, err := s.people(ctx, `SELECT `+personCols+personFrom+` WHERE `+strings.Join(where, " AND "), p.Args)
		if err != nil {
			return nil, err
		}
		for _, x := range ps {
			byID[x.ID] = x
		}
	}
	out := make([]Person, 0, len(byID))
	for _, id := range ids {
		if x, ok := byID[id]; ok {
			out = append(out, x)
			delete(byID, id)
		}
	}
	return out, nil
}

// people runs a query of personCols.
func (s *Service) people(ctx context.Context, query string, args []any) ([]Person, error) {
	rows, err := s.DB.Read().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("bank: people: %w", err)
	}
	defer rows.Close()
	var out []Person
	for rows.Next() {
		var x Person
		if err := rows.Scan(&x.ID, &x.Name, &x.VillageID, &x.VillageName, &x.HouseholdNumber, &x.Phone, &x.IDMasked, &x.Status, &x.Balance); err != nil {
			return nil, fmt.Errorf("bank: people: %w", err)
		}
		x.Phone, x.IDMasked = people.MaskPhone(x.Phone), people.MaskID(x.IDMasked)
		out = append(out, x)
	}
	return out, rows.Err()
}

// ---- Award sheets: a village's people, downloaded, cut down to those to be paid, uploaded again

// The columns of an award sheet, as the register's exports head them; 居民编号 is read from older
// sheets.
const (
	colResidentID = "居民编号"
	colIDNumber   = "身份证号"
	colPhone      = "手机号"
	colVillage    = "村"
	colHousehold  = "户号"
	colName       = "姓名"
	colBalance    = "余额"
)

// SheetColumns are the columns an uploaded award sheet is read by; others are ignored.
var SheetColumns = []string{colResidentID, colIDNumber, colPhone, colVillage, colHousehold, colName}

// AwardSheetHeaders are the columns of the award sheet staff download (ExportAwardSheet).
var AwardSheetHeaders = []string{colVillage, colHousehold, colName, colIDNumber, colPhone, colBalance}

// ExportAwardSheet writes the residents on the register of a village where the actor may award as
// an award sheet: 村, 户号, 姓名, the 身份证号 and phone masked, and the balance. Staff delete the rows
// of those not to be paid and upload the rest: 户号 and 姓名 name each row; the masked numbers are
// not read back. The download is in the audit log.
func (s *Service) ExportAwardSheet(ctx context.Context, a *auth.Actor, townID, villageID int64, w io.Writer) error {
	ps, err := s.VillagePeople(ctx, a, townID, villageID)
	if err != nil {
		return err
	}
	av, err := s.awardVillages(ctx, a, townID, villageID)
	if err != nil {
		return err
	}
	rows := make([][]string, len(ps))
	for i, x := range ps {
		rows[i] = []string{x.VillageName, x.HouseholdNumber, x.Name, x.IDMasked, x.Phone, strconv.FormatInt(x.Balance, 10)}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.award_sheet.export", Entity: "village", EntityID: villageID, TownID: av.town, VillageID: villageID,
			Summary: auth.Summarize(nil, map[string]any{"count": len(rows)})})
	})
	if err != nil {
		return fmt.Errorf("bank: award sheet: %w", err)
	}
	return people.WriteResidentsXLSX(w, AwardSheetHeaders, rows)
}

// SheetRow is one row of an uploaded award sheet: its number in the sheet (the header is row 1) and
// what it says of the person, by column (SheetColumns); a column the sheet lacks reads blank.
type SheetRow struct {
	Row   int
	Cells map[string]string
}

// SheetError is a refused row of a sheet: its number, the column at fault, and why.
type SheetError struct {
	Row    int
	Column string
	Key    string
	Args   []any
}

// colIdentity is the column a row that names no one is refused in: what it should have filled.
const colIdentity = "身份证号、手机号或户号+姓名"

// MaxSheetRows bounds the rows of an award sheet, as BulkAward bounds its residents.
const MaxSheetRows = 50_000

// MatchPeople finds the person each row of an award sheet names, among the residents of the
// villages where the actor may award: by 居民编号, else by 身份证号 (for staff who may see the
// numbers), else by phone, else by 户号 and 姓名; a 村 narrows the search, and a 姓名 given beside a
// number must be the name of the person it finds. Masked numbers (with *) are not read. Each row
// must name exactly one person on the register; rows that name no one at all are skipped, and two
// rows naming the same person pay them once. If any row is wrong none is accepted: the error is
// Invalid (bank.sheet_rows_invalid) and the rows are listed, each with its column and reason.
func (s *Service) MatchPeople(ctx context.Context, a *auth.Actor, townID int64, rows []SheetRow) ([]Person, []SheetError, error) {
	av, err := s.awardVillages(ctx, a, townID, 0)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) > MaxSheetRows {
		return nil, nil, errs.Field("file", "bank.bulk_size")
	}
	town, err := s.town(ctx, townID)
	if err != nil {
		return nil, nil, err
	}
	today := town.Clock(s.Now).Today()
	var bad []SheetError
	fail := func(row int, col, key string, args ...any) { bad = append(bad, SheetError{row, col, key, args}) }
	// Each row's identity, checked for form; then the candidates, a query per kind of identity.
	type want struct {
		row                      int
		by, value                string // the column the row is matched by, and its value there
		name, village, household string
	}
	var wants []want
	byKind := map[string][]any{}
	for _, r := range rows {
		cell := func(col string) string {
			v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(r.Cells[col]), "'"))
			if strings.Contains(v, "*") {
				return "" // a masked number, as the award sheet writes it
			}
			return v
		}
		w := want{row: r.Row, name: cell(colName), village: cell(colVillage), household: cell(colHousehold)}
		rid, idn, phone := cell(colResidentID), strings.ToUpper(cell(colIDNumber)), cell(colPhone)
		switch {
		case rid != "":
			if n, err := strconv.ParseInt(rid, 10, 64); err != nil || n <= 0 {
				fail(r.Row, colResidentID, "bank.sheet_bad_number")
				continue
			}
			w.by, w.value = colResidentID, rid
		case idn != "":
			id, key := people.ParseIDNumber(idn, today)
			if key != "" {
				fail(r.Row, colIDNumber, key)
				continue
			}
			w.by, w.value = colIDNumber, s.People.Cipher.Hash(id.Number)
		case phone != "":
			if len(phone) != 11 || !allDigits(phone) {
				fail(r.Row, colPhone, "bank.sheet_bad_phone")
				continue
			}
			w.by, w.value = colPhone, phone
		case w.household != "" && w.name != "":
			w.by, w.value = colHousehold, w.household
		case w.household != "":
			fail(r.Row, colName, "bank.sheet_name_needed")
			continue
		case w.name != "":
			fail(r.Row, colHousehold, "bank.sheet_household_needed")
			continue
		default:
			if w.village != "" {
				fail(r.Row, colIdentity, "field.required")
			}
			continue // a row that names no one: a blank line, a total
		}
		wants = append(wants, w)
		byKind[w.by] = append(byKind[w.by], w.value)
	}
	found := map[string][]match{} // column + "\x00" + value → candidates
	for col, values := range byKind {
		ms, err := s.matches(ctx, av, col, values)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range ms {
			k := col + "\x00" + m.key(col)
			found[k] = append(found[k], m)
		}
	}
	var out []Person
	seen := map[int64]bool{}
	for _, w := range wants {
		cands := found[w.by+"\x00"+w.value]
		if w.by == colHousehold {
			cands = slices.DeleteFunc(slices.Clone(cands), func(m match) bool { return m.Name != w.name })
		}
		if w.village != "" {
			cands = slices.DeleteFunc(slices.Clone(cands), func(m match) bool { return m.VillageName != w.village })
		}
		if w.by == colIDNumber {
			// A number finds its resident only for staff who may see it, as in the register's search.
			cands = slices.DeleteFunc(slices.Clone(cands), func(m match) bool {
				return auth.Can(a, auth.ResidentViewID, auth.Scope{TownID: townID, VillageID: m.VillageID}) != nil
			})
		}
		switch {
		case len(cands) == 0 && w.village != "" && len(found[w.by+"\x00"+w.value]) > 0:
			fail(w.row, colVillage, "bank.sheet_other_village")
		case len(cands) == 0:
			fail(w.row, w.by, "bank.sheet_no_one")
		case len(cands) > 1:
			fail(w.row, w.by, "bank.sheet_many", len(cands))
		case w.by != colHousehold && w.name != "" && cands[0].Name != w.name:
			fail(w.row, colName, "bank.sheet_name_differs", w.by, cands[0].Name)
		case cands[0].Status != people.Active:
			fail(w.row, w.by, "people.not_active")
		default:
			if !seen[cands[0].ID] {
				seen[cands[0].ID] = true
				out = append(out, cands[0].Person)
			}
		}
	}
	if len(bad) > 0 {
		slices.SortStableFunc(bad, func(x, y SheetError) int { return x.Row - y.Row })
		n := 0
		for i, e := range bad {
			if i == 0 || e.Row != bad[i-1].Row {
				n++
			}
		}
		return nil, bad, &errs.Error{Code: errs.Invalid, Key: "bank.sheet_rows_invalid", Args: []any{n},
			Fields: []errs.FieldError{{Field: "file", Key: "bank.sheet_rows_invalid", Args: []any{n}}}}
	}
	return out, nil, nil
}

// match is a candidate for a sheet's row: a Person with what rows are matched by.
type match struct {
	Person
	phone, idHash string
	residentID    string
}

// key is the value of the candidate in a column of the sheet.
func (m match) key(col string) string {
	switch col {
	case colResidentID:
		return m.residentID
	case colIDNumber:
		return m.idHash
	case colPhone:
		return m.phone
	}
	return m.HouseholdNumber
}

// matches reads the residents of the villages whose column (居民编号, 身份证号 as its hash, phone,
// 户号) has one of the values, a chunk of values per query.
func (s *Service) matches(ctx context.Context, av awardVillages, col string, values []any) ([]match, error) {
	expr := map[string]string{colResidentID: "r.id", colIDNumber: "r.id_hash", colPhone: "r.phone", colHousehold: "h.number"}[col]
	var out []match
	const chunk = 500
	for lo := 0; lo < len(values); lo += chunk {
		p := s.DB.Params()
		where := av.where(p)
		var ph []string
		for _, v := range values[lo:min(lo+chunk, len(values))] {
			if col == colResidentID {
				v, _ = strconv.ParseInt(v.(string), 10, 64)
			}
			ph = append(ph, p.Add(v))
		}
		where = append(where, expr+" IN ("+strings.Join(ph, ", ")+")")
		rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+personCols+`, r.phone, r.id_hash`+personFrom+` WHERE `+strings.Join(where, " AND "), p.Args...)
		if err != nil {
			return nil, fmt.Errorf("bank: sheet: %w", err)
		}
		for rows.Next() {
			var m match
			if err := rows.Scan(&m.ID, &m.Name, &m.VillageID, &m.VillageName, &m.HouseholdNumber, &m.Phone, &m.IDMasked, &m.Status, &m.Balance, &m.phone, &m.idHash); err != nil {
				rows.Close()
				return nil, fmt.Errorf("bank: sheet: %w", err)
			}
			m.Phone, m.IDMasked, m.residentID = people.MaskPhone(m.Phone), people.MaskID(m.IDMasked), strconv.FormatInt(m.ID, 10)
			out = append(out, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("bank: sheet: %w", err)
		}
	}
	return out, nil
}

func allDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(c rune) bool { return c < '0' || c > '9' }) < 0
}

// householdLike says whether q reads as a 户号: letters, digits and dashes, with a digit.
func householdLike(q string) bool {
	return len(q) <= 20 && strings.ContainsAny(q, "0123456789") &&
		strings.IndexFunc(q, func(c rune) bool {
			return !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-')
		}) < 0
}

// likeEscape escapes the wildcards of LIKE, for a pattern with ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
