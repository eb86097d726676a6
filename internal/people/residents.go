package people

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// PageSize is the number of residents on a page.
const PageSize = 50

// Filter selects residents. Q matches a name prefix, a phone prefix, a 户号 or a whole ID number.
type Filter struct {
	TownID    int64
	VillageID int64
	Q         string
	Status    Status // empty: 在册 only; "all": every status
	Page      int
}

// ResidentPage is one page of a search.
type ResidentPage struct {
	Items []Resident
	Total int
	Page  int
	Pages int
}

const residentCols = `r.id, r.town_id, r.village_id, v.name, r.household_id, h.number, r.name, r.gender, r.birth_date,
	r.id_masked, r.phone, r.relation, r.party_member, r.care_tags, r.status, r.status_date, r.registered_on, r.created_at, r.updated_at`

const residentFrom = ` FROM residents r JOIN villages v ON v.id = r.village_id JOIN households h ON h.id = r.household_id`

func scanResident(sc interface{ Scan(...any) error }) (Resident, error) {
	var r Resident
	var birth, tags string
	err := sc.Scan(&r.ID, &r.TownID, &r.VillageID, &r.VillageName, &r.HouseholdID, &r.HouseholdNumber, &r.Name, &r.Gender, &birth,
		&r.IDMasked, &r.Phone, &r.Relation, &r.PartyMember, &tags, &r.Status, &r.StatusDate, &r.RegisteredOn, &r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		return r, err
	}
	r.BirthDate, _ = time.Parse(clock.DayLayout, birth)
	r.CareTags = decodeTags(tags)
	// Rows written before migration 0013, or by an older server while it ran, carry the wider mask.
	r.IDMasked = MaskID(r.IDMasked)
	return r, nil
}

// birthShown reports whether a may see r's birth date: see Resident.BirthShown.
func birthShown(a *auth.Actor, r Resident) bool {
	if a != nil && a.ActingFor == nil && a.ResidentID != 0 && a.ResidentID == r.ID {
		return true
	}
	return auth.Can(a, auth.ResidentViewID, auth.Scope{TownID: r.TownID, VillageID: r.VillageID}) == nil
}

// Search lists residents the actor may see, 50 a page.
func (s *Service) Search(ctx context.Context, a *auth.Actor, f Filter) (ResidentPage, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.VillageID != 0 {
		v, err := s.Village(ctx, a, f.VillageID)
		if err != nil {
			return ResidentPage{}, err
		}
		if err := auth.Can(a, auth.ResidentRead, auth.Scope{TownID: v.TownID, VillageID: v.ID}); err != nil {
			return ResidentPage{}, auth.Hide(err)
		}
		where = append(where, "r.village_id = "+arg(v.ID))
	} else {
		all, ids, err := reach(a, auth.ResidentRead, f.TownID)
		switch {
		case err != nil:
			return ResidentPage{}, err
		case all && f.TownID != 0:
			where = append(where, "r.town_id = "+arg(f.TownID))
		case all:
			if err := auth.Can(a, auth.TownCreate, auth.Scope{}); err != nil {
				return ResidentPage{}, err
			}
		default:
			ph := make([]string, len(ids))
			for i, id := range ids {
				ph[i] = arg(id)
			}
			where = append(where, "r.village_id IN ("+strings.Join(ph, ", ")+")")
		}
	}
	switch f.Status {
	case "":
		where = append(where, "r.status = 'active'")
	case "all":
	default:
		if !f.Status.Valid() {
			return ResidentPage{}, errs.Field("status", "people.status_invalid")
		}
		where = append(where, "r.status = "+arg(string(f.Status)))
	}
	byID := false
	if q := strings.TrimSpace(f.Q); q != "" {
		if len(q) > 60 {
			q = q[:60]
		}
		switch {
		case len(q) == 18 && digits(q[:17], 17, 17):
			where = append(where, "r.id_hash = "+arg(s.Cipher.Hash(q)))
			byID = true
		case digits(q, 1, 11):
			p := arg(q)
			cond := "(r.phone >= " + p + " AND r.phone < " + arg(q+"\uffff") + ")"
			if in, err := s.householdsNumbered(ctx, q, arg); err != nil {
				return ResidentPage{}, err
			} else if in != "" {
				cond = "(" + cond + " OR r.household_id IN (" + in + "))"
			}
			where = append(where, cond)
		case validHouseholdNumber(q) && strings.ContainsAny(q, "0123456789"):
			in, err := s.householdsNumbered(ctx, q, arg)
			if err != nil {
				return ResidentPage{}, err
			}
			if in == "" {
				in = "NULL"
			}
			where = append(where, "r.household_id IN ("+in+")")
		default:
			where = append(where, "r.name >= "+arg(q)+" AND r.name < "+arg(q+"\U0010ffff"))
		}
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	page := ResidentPage{Page: max(f.Page, 1)}
	// The count needs no joins: every condition is on the resident's own row, and a resident's
	// village and household always exist.
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM residents r`+cond, args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("people: search: %w", err)
	}
	page.Pages = (page.Total + PageSize - 1) / PageSize
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+residentCols+residentFrom+cond+
		` ORDER BY r.id LIMIT `+arg(PageSize)+` OFFSET `+arg((page.Page-1)*PageSize), args...)
	if err != nil {
		return page, fmt.Errorf("people: search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanResident(rows)
		if err != nil {
			return page, err
		}
		r.BirthShown = birthShown(a, r)
		page.Items = append(page.Items, r)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	// A number finds its resident only for staff who may see it: for anyone else the search
	// would confirm a number guessed from its mask and the age, a few dozen tries each.
	if byID && len(page.Items) == 1 && auth.Can(a, auth.ResidentViewID, auth.Scope{TownID: page.Items[0].TownID, VillageID: page.Items[0].VillageID}) != nil {
		page.Items, page.Total, page.Pages = nil, 0, 0
	}
	return page, nil
}

// householdsNumbered looks up the households with a 户号 first and returns their ids as a list of
// placeholders: a plain IN list lets each engine combine it with the phone index (an IN subquery
// inside an OR makes PostgreSQL scan the table).
func (s *Service) householdsNumbered(ctx context.Context, number string, arg func(any) string) (string, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id FROM households WHERE number = $1 LIMIT 1000`, number)
	if err != nil {
		return "", fmt.Errorf("people: search: %w", err)
	}
	defer rows.Close()
	var ph []string
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		ph = append(ph, arg(id))
	}
	return strings.Join(ph, ", "), rows.Err()
}

// Resident returns one resident the actor may see: staff of the village or town, or the resident
// themself. The full ID number is filled in only for roles that may see it.
func (s *Service) Resident(ctx context.Context, a *auth.Actor, id int64) (Resident, error) {
	r, err := s.resident(ctx, s.DB.Read(), id)
	if err != nil {
		return r, err
	}
	sc := auth.Scope{TownID: r.TownID, VillageID: r.VillageID, ResidentID: r.ID}
	if auth.Can(a, auth.SelfRead, sc) != nil {
		if err := auth.Can(a, auth.ResidentRead, sc); err != nil {
			return Resident{}, auth.Hide(err)
		}
	}
	if auth.Can(a, auth.ResidentViewID, sc) == nil {
		if r.IDNumber, err = s.idNumber(ctx, id); err != nil {
			return Resident{}, err
		}
	}
	r.BirthShown = birthShown(a, r)
	return r, nil
}

func (s *Service) resident(ctx context.Context, q db.Querier, id int64) (Resident, error) {
	r, err := scanResident(q.QueryRowContext(ctx, `SELECT `+residentCols+residentFrom+` WHERE r.id = $1`, id))
	if db.IsNoRows(err) {
		return r, notFound
	}
	return r, err
}

func (s *Service) idNumber(ctx context.Context, id int64) (string, error) {
	var enc []byte
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT id_enc FROM residents WHERE id = $1`, id).Scan(&enc); err != nil {
		return "", err
	}
	return s.Cipher.Decrypt(enc)
}

// CreateResident registers a resident in a village and household (created if new).
func (s *Service) CreateResident(ctx context.Context, a *auth.Actor, in ResidentInput) (Resident, error) {
	v, err := s.village(ctx, s.DB.Read(), in.VillageID)
	switch {
	case err == nil:
		if err := auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: v.TownID, VillageID: v.ID}); err != nil {
			return Resident{}, auth.Hide(err)
		}
	case errs.Is(err, errs.NotFound) && a.IsStaff():
		// reported below as a field error, with the others
	case errs.Is(err, errs.NotFound):
		return Resident{}, auth.Can(a, auth.ResidentWrite, auth.Scope{VillageID: -1})
	default:
		return Resident{}, err
	}
	var town Town
	if v.ID != 0 {
		if town, err = s.Town(ctx, v.TownID); err != nil {
			return Resident{}, err
		}
	}
	id, f := in.Validate(town.Clock(s.Now).Today())
	if v.ID == 0 {
		f.Add("village_id", "people.village_unknown")
	}
	if in.HouseholdNumber == "" {
		f.Add("household_number", "field.required")
	} else if !validHouseholdNumber(in.HouseholdNumber) {
		f.Add("household_number", "people.household_number_invalid")
	}
	if err := f.Err(); err != nil {
		return Resident{}, err
	}
	var r Resident
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if r, err = s.InsertResident(ctx, tx, v, in, id); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "resident.create", Entity: "resident", EntityID: r.ID, TownID: v.TownID, VillageID: v.ID,
			Summary: auth.Summarize(nil, auditView(r))})
	})
	return r, err
}

// InsertResident writes a validated resident inside tx, creating the household if it is new. The
// importer and the demo use it for many rows in one transaction.
func (s *Service) InsertResident(ctx context.Context, tx db.Querier, v Village, in ResidentInput, id IDNumber) (Resident, error) {
	now := s.Now()
	hhID, headID, err := s.ensureHousehold(ctx, tx, v.ID, in.HouseholdNumber, in.HouseholdAddress)
	if err != nil {
		return Resident{}, err
	}
	r := Resident{TownID: v.TownID, VillageID: v.ID, VillageName: v.Name, HouseholdID: hhID, HouseholdNumber: in.HouseholdNumber,
		Name: in.Name, Gender: in.Gender, BirthDate: id.Birth, IDMasked: MaskID(id.Number), Phone: in.Phone, Relation: in.Relation,
		PartyMember: in.PartyMember, Status: Active, RegisteredOn: now.Format(clock.DayLayout), CreatedAt: now, UpdatedAt: now}
	for _, t := range in.CareTags {
		r.CareTags = append(r.CareTags, CareTag(t))
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO residents (town_id, village_id, household_id, name, gender, birth_date, id_enc, id_hash, id_masked,
		phone, relation, party_member, care_tags, status, registered_on, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'active', $14, $15, $15) RETURNING id`,
		r.TownID, r.VillageID, r.HouseholdID, r.Name, string(r.Gender), id.Birth.Format(clock.DayLayout), s.Cipher.Encrypt(id.Number),
		s.Cipher.Hash(id.Number), r.IDMasked, r.Phone, r.Relation, r.PartyMember, encodeTags(in.CareTags), r.RegisteredOn, now).Scan(&r.ID)
	if db.IsUnique(err) {
		return Resident{}, &errs.Error{Code: errs.Conflict, Key: "people.id_duplicate", Fields: []errs.FieldError{{Field: "id_number", Key: "people.id_duplicate"}}}
	}
	if err != nil {
		return Resident{}, fmt.Errorf("people: insert resident: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO residence_history (resident_id, village_id, household_id, from_at, reason) VALUES ($1, $2, $3, $4, $5)`,
		r.ID, r.VillageID, r.HouseholdID, now, "register"); err != nil {
		return Resident{}, err
	}
	if in.Relation == "户主" && headID == 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE households SET head_resident_id = $1 WHERE id = $2`, r.ID, hhID); err != nil {
			return Resident{}, err
		}
	}
	return r, nil
}

// ensureHousehold returns the household with the number in the village, creating it if needed.
func (s *Service) ensureHousehold(ctx context.Context, tx db.Querier, villageID int64, number, address string) (id, head int64, err error) {
	var h sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT id, head_resident_id FROM households WHERE village_id = $1 AND number = $2`, villageID, number).Scan(&id, &h)
	if err == nil {
		return id, h.Int64, nil
	}
	if !db.IsNoRows(err) {
		return 0, 0, err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO households (village_id, number, address, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		villageID, number, address, s.Now()).Scan(&id)
	return id, 0, err
}

// UpdateResident edits a resident's own fields; placement changes go through Move.
func (s *Service) UpdateResident(ctx context.Context, a *auth.Actor, id int64, in ResidentInput) (Resident, error) {
	before, err := s.resident(ctx, s.DB.Read(), id)
	if err != nil {
		return before, err
	}
	if err := auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: before.TownID, VillageID: before.VillageID}); err != nil {
		return Resident{}, auth.Hide(err)
	}
	town, err := s.Town(ctx, before.TownID)
	if err != nil {
		return Resident{}, err
	}
	idn, f := in.Validate(town.Clock(s.Now).Today())
	if err := f.Err(); err != nil {
		return Resident{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE residents SET name = $1, gender = $2, birth_date = $3, id_enc = $4, id_hash = $5, id_masked = $6,
			phone = $7, relation = $8, party_member = $9, care_tags = $10, updated_at = $11 WHERE id = $12`,
			in.Name, string(in.Gender), idn.Birth.Format(clock.DayLayout), s.Cipher.Encrypt(idn.Number), s.Cipher.Hash(idn.Number), MaskID(idn.Number),
			in.Phone, in.Relation, in.PartyMember, encodeTags(in.CareTags), s.Now(), id)
		if db.IsUnique(err) {
			return &errs.Error{Code: errs.Conflict, Key: "people.id_duplicate", Fields: []errs.FieldError{{Field: "id_number", Key: "people.id_duplicate"}}}
		}
		if err != nil {
			return err
		}
		after, err := s.resident(ctx, tx, id)
		if err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "resident.update", Entity: "resident", EntityID: id, TownID: before.TownID,
			VillageID: before.VillageID, Summary: auth.Summarize(auditView(before), auditView(after))})
	})
	if err != nil {
		return Resident{}, err
	}
	return s.Resident(ctx, a, id)
}

// Move places a resident in another household, possibly of another village of the same town; the
// old stay is closed in the history and a new one opened.
func (s *Service) Move(ctx context.Context, a *auth.Actor, id int64, in MoveInput) (Resident, error) {
	r, err := s.resident(ctx, s.DB.Read(), id)
	if err != nil {
		return r, err
	}
	if err := auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: r.TownID, VillageID: r.VillageID}); err != nil {
		return Resident{}, auth.Hide(err)
	}
	in.HouseholdNumber, in.Reason = strings.TrimSpace(in.HouseholdNumber), strings.TrimSpace(in.Reason)
	var f errs.Fields
	to, err := s.village(ctx, s.DB.Read(), in.VillageID)
	if err != nil || to.TownID != r.TownID {
		f.Add("village_id", "people.village_unknown")
	} else if err := auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: to.TownID, VillageID: to.ID}); err != nil {
		f.Add("village_id", "people.village_not_yours")
	}
	if !validHouseholdNumber(in.HouseholdNumber) {
		f.Add("household_number", "people.household_number_invalid")
	}
	if in.Reason == "" {
		f.Add("reason", "field.required")
	}
	if r.Status != Active {
		f.Add("status", "people.not_active")
	}
	if to.ID == r.VillageID && in.HouseholdNumber == r.HouseholdNumber {
		f.Add("household_number", "people.move_same")
	}
	if err := f.Err(); err != nil {
		return Resident{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.Now()
		hh, _, err := s.ensureHousehold(ctx, tx, to.ID, in.HouseholdNumber, "")
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE residence_history SET to_at = $1 WHERE resident_id = $2 AND to_at IS NULL`, now, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO residence_history (resident_id, village_id, household_id, from_at, reason, recorded_by) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, to.ID, hh, now, in.Reason, a.AccountID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE households SET head_resident_id = NULL WHERE id = $1 AND head_resident_id = $2`, r.HouseholdID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE residents SET village_id = $1, household_id = $2, updated_at = $3 WHERE id = $4`, to.ID, hh, now, id); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "resident.move", Entity: "resident", EntityID: id, TownID: r.TownID, VillageID: r.VillageID,
			Summary: auth.Summarize(map[string]any{"village": r.VillageName, "household": r.HouseholdNumber}, map[string]any{"village": to.Name, "household": in.HouseholdNumber, "reason": in.Reason})})
	})
	if err != nil {
		return Resident{}, err
	}
	return s.Resident(ctx, a, id)
}

// SetStatus records that a resident moved out (迁出) or died (死亡) on a date, or is back in the
// register; their history and ledger stay. The reason, when given, is kept in the audit entry.
func (s *Service) SetStatus(ctx context.Context, a *auth.Actor, id int64, st Status, date, reason string) (Resident, error) {
	r, err := s.resident(ctx, s.DB.Read(), id)
	if err != nil {
		return r, err
	}
	if err := auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: r.TownID, VillageID: r.VillageID}); err != nil {
		return Resident{}, auth.Hide(err)
	}
	town, err := s.Town(ctx, r.TownID)
	if err != nil {
		return Resident{}, err
	}
	var f errs.Fields
	if !st.Valid() {
		f.Add("status", "people.status_invalid")
	}
	d, ok := clock.ParseDay(date, time.UTC)
	switch {
	case !ok:
		f.Add("status_date", "people.date_invalid")
	case d.IsZero():
		f.Add("status_date", "field.required")
	case d.After(town.Clock(s.Now).Today()):
		f.Add("status_date", "people.date_future")
	case d.Before(r.BirthDate):
		f.Add("status_date", "people.date_before_birth")
	}
	if st == r.Status {
		f.Add("status", "people.status_same")
	}
	if err := f.Err(); err != nil {
		return Resident{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE residents SET status = $1, status_date = $2, updated_at = $3 WHERE id = $4`, string(st), d.Format(clock.DayLayout), s.Now(), id); err != nil {
			return err
		}
		after := map[string]any{"status": st, "date": d.Format(clock.DayLayout)}
		if reason = strings.TrimSpace(reason); reason != "" {
			after["reason"] = reason
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "resident.status", Entity: "resident", EntityID: id, TownID: r.TownID, VillageID: r.VillageID,
			Summary: auth.Summarize(map[string]any{"status": r.Status}, after)})
	})
	if err != nil {
		return Resident{}, err
	}
	return s.Resident(ctx, a, id)
}

// History lists where a resident has lived, oldest first.
func (s *Service) History(ctx context.Context, a *auth.Actor, id int64) ([]Residence, error) {
	if _, err := s.Resident(ctx, a, id); err != nil {
		return nil, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT v.name, h.number, rh.from_at, rh.to_at, rh.reason FROM residence_history rh
		JOIN villages v ON v.id = rh.village_id JOIN households h ON h.id = rh.household_id WHERE rh.resident_id = $1 ORDER BY rh.from_at, rh.id`, id)
	if err != nil {
		return nil, fmt.Errorf("people: history: %w", err)
	}
	defer rows.Close()
	var out []Residence
	for rows.Next() {
		var x Residence
		var to sql.NullTime
		if err := rows.Scan(&x.VillageName, &x.HouseholdNumber, &x.From, &to, &x.Reason); err != nil {
			return nil, err
		}
		x.To = to.Time
		out = append(out, x)
	}
	return out, rows.Err()
}

// Households lists a village's households with their heads and member counts.
func (s *Service) Households(ctx context.Context, a *auth.Actor, villageID int64, q string, page int) ([]Household, int, error) {
	v, err := s.Village(ctx, a, villageID)
	if err != nil {
		return nil, 0, err
	}
	if err := auth.Can(a, auth.ResidentRead, auth.Scope{TownID: v.TownID, VillageID: v.ID}); err != nil {
		return nil, 0, auth.Hide(err)
	}
	args := []any{v.ID}
	cond := "h.village_id = $1"
	if q = strings.TrimSpace(q); q != "" {
		args = append(args, db.LikePrefix(q))
		cond += ` AND h.number LIKE $2 ESCAPE '\'`
	}
	var total int
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM households h WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	page = max(page, 1)
	args = append(args, PageSize, (page-1)*PageSize)
	rows, err := s.DB.Read().QueryContext(ctx, fmt.Sprintf(`SELECT h.id, h.village_id, h.number, h.address, COALESCE(h.head_resident_id, 0), COALESCE(hr.name, ''), h.created_at,
		(SELECT COUNT(*) FROM residents m WHERE m.household_id = h.id AND m.status = 'active')
		FROM households h LEFT JOIN residents hr ON hr.id = h.head_resident_id WHERE %s ORDER BY h.number LIMIT $%d OFFSET $%d`, cond, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("people: households: %w", err)
	}
	defer rows.Close()
	var out []Household
	for rows.Next() {
		h := Household{VillageName: v.Name}
		if err := rows.Scan(&h.ID, &h.VillageID, &h.Number, &h.Address, &h.HeadResidentID, &h.HeadName, &h.CreatedAt, &h.Members); err != nil {
			return nil, 0, err
		}
		out = append(out, h)
	}
	return out, total, rows.Err()
}

// Household returns a household and its members.
func (s *Service) Household(ctx context.Context, a *auth.Actor, id int64) (Household, []Resident, error) {
	var h Household
	err := s.DB.Read().QueryRowContext(ctx, `SELECT h.id, h.village_id, v.name, h.number, h.address, COALESCE(h.head_resident_id, 0), h.created_at
		FROM households h JOIN villages v ON v.id = h.village_id WHERE h.id = $1`, id).
		Scan(&h.ID, &h.VillageID, &h.VillageName, &h.Number, &h.Address, &h.HeadResidentID, &h.CreatedAt)
	if db.IsNoRows(err) {
		return h, nil, notFound
	}
	if err != nil {
		return h, nil, err
	}
	v, err := s.Village(ctx, a, h.VillageID)
	if err != nil {
		return h, nil, err
	}
	if err := auth.Can(a, auth.ResidentRead, auth.Scope{TownID: v.TownID, VillageID: v.ID}); err != nil {
		return h, nil, auth.Hide(err)
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+residentCols+residentFrom+` WHERE r.household_id = $1 ORDER BY r.id`, id)
	if err != nil {
		return h, nil, fmt.Errorf("people: household: %w", err)
	}
	defer rows.Close()
	var members []Resident
	for rows.Next() {
		r, err := scanResident(rows)
		if err != nil {
			return h, nil, err
		}
		r.BirthShown = birthShown(a, r)
		members = append(members, r)
		if r.ID == h.HeadResidentID {
			h.HeadName = r.Name
		}
	}
	if err := rows.Err(); err != nil {
		return h, nil, err
	}
	h.Members = len(members)
	return h, members, nil
}

// UpdateHousehold edits a household's address and head (who must be a member).
func (s *Service) UpdateHousehold(ctx context.Context, a *auth.Actor, id int64, in HouseholdInput) (Household, error) {
	h, members, err := s.Household(ctx, a, id)
	if err != nil {
		return h, err
	}
	v, err := s.village(ctx, s.DB.Read(), h.VillageID)
	if err != nil {
		return h, err
	}
	if err := auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: v.TownID, VillageID: v.ID}); err != nil {
		return h, auth.Hide(err)
	}
	in.Address = strings.TrimSpace(in.Address)
	var f errs.Fields
	if len([]rune(in.Address)) > 100 {
		f.Add("address", "field.too_long")
	}
	member := in.HeadResidentID == 0
	for _, m := range members {
		member = member || m.ID == in.HeadResidentID
	}
	if !member {
		f.Add("head_resident_id", "people.head_not_member")
	}
	if err := f.Err(); err != nil {
		return h, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var head any
		if in.HeadResidentID != 0 {
			head = in.HeadResidentID
		}
		if _, err := tx.ExecContext(ctx, `UPDATE households SET address = $1, head_resident_id = $2 WHERE id = $3`, in.Address, head, id); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "household.update", Entity: "household", EntityID: id, TownID: v.TownID, VillageID: v.ID,
			Summary: auth.Summarize(map[string]any{"address": h.Address, "head": h.HeadResidentID}, map[string]any{"address": in.Address, "head": in.HeadResidentID})})
	})
	if err != nil {
		return h, err
	}
	h, _, err = s.Household(ctx, a, id)
	return h, err
}

// validHouseholdNumber accepts 1–20 letters, digits and dashes.
func validHouseholdNumber(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

// auditView is what the audit log keeps of a resident: never the full ID number.
func auditView(r Resident) map[string]any {
	return map[string]any{"name": r.Name, "gender": r.Gender, "birth": r.BirthDate.Format(clock.DayLayout), "id": r.IDMasked,
		"phone": MaskPhone(r.Phone), "relation": r.Relation, "party": r.PartyMember, "care": r.CareTags, "village": r.VillageName, "household": r.HouseholdNumber}
}
