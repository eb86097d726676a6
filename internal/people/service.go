package people

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// Service is the registry's one place that decides: it validates, checks permissions, writes with
// an audit row in the same transaction, and reads.
type Service struct {
	DB     *db.DB
	Cipher *Cipher
	Now    func() time.Time
	// villageHooks run inside the transaction that creates a village, for pillars that give every
	// village something of its own (微志愿's six teams).
	villageHooks []func(ctx context.Context, tx db.Querier, v Village) error
	// imports holds a token for each import in flight; see BeginImport.
	importsOnce sync.Once
	imports     chan struct{}
	// zones caches each town's time zone by town id; see Zone.
	zones sync.Map
}

// OnVillageCreated registers fn to run inside the transaction of every village created from now
// on; an error from fn refuses the village. Register before serving.
func (s *Service) OnVillageCreated(fn func(ctx context.Context, tx db.Querier, v Village) error) {
	s.villageHooks = append(s.villageHooks, fn)
}

// NewService returns a registry service.
func NewService(d *db.DB, c *Cipher) *Service {
	return &Service{DB: d, Cipher: c, Now: db.Now}
}

// notFound is the error for a record that does not exist or that the actor may not know exists.
var notFound = errs.New(errs.NotFound, "error.not_found")

// ---- towns and villages

// TownInput creates a town.
type TownInput struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	TimeZone string `json:"timezone"`
}

// CreateTown adds a town; district admins only.
func (s *Service) CreateTown(ctx context.Context, a *auth.Actor, in TownInput) (Town, error) {
	if err := auth.Can(a, auth.TownCreate, auth.Scope{}); err != nil {
		return Town{}, err
	}
	var t Town
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = s.InsertTown(ctx, tx, in); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "town.create", Entity: "town", EntityID: t.ID, TownID: t.ID, Summary: auth.Summarize(nil, in)})
	})
	return t, err
}

// InsertTown validates and writes a town inside tx, without a permission check: for the demo and
// for `serve --init-admin`, which create the first town before anyone can log in.
func (s *Service) InsertTown(ctx context.Context, tx db.Querier, in TownInput) (Town, error) {
	in.Name, in.Code = strings.TrimSpace(in.Name), strings.TrimSpace(in.Code)
	if in.TimeZone == "" {
		in.TimeZone = clock.DefaultZone
	}
	var f errs.Fields
	validName(&f, "name", in.Name)
	if !digits(in.Code, 6, 12) {
		f.Add("code", "people.town_code_invalid")
	}
	if _, err := time.LoadLocation(in.TimeZone); err != nil {
		f.Add("timezone", "people.timezone_invalid")
	}
	if err := f.Err(); err != nil {
		return Town{}, err
	}
	t := Town{Code: in.Code, Name: in.Name, TimeZone: in.TimeZone, CreatedAt: s.Now()}
	err := tx.QueryRowContext(ctx, `INSERT INTO towns (code, name, timezone, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		t.Code, t.Name, t.TimeZone, t.CreatedAt).Scan(&t.ID)
	if db.IsUnique(err) {
		return Town{}, &errs.Error{Code: errs.Conflict, Key: "people.town_exists", Fields: []errs.FieldError{{Field: "name", Key: "people.town_exists"}}}
	}
	return t, err
}

// Town returns a town by id. Town names are public.
func (s *Service) Town(ctx context.Context, id int64) (Town, error) {
	var t Town
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id, code, name, timezone, created_at FROM towns WHERE id = $1`, id).
		Scan(&t.ID, &t.Code, &t.Name, &t.TimeZone, &t.CreatedAt)
	if db.IsNoRows(err) {
		return t, notFound
	}
	return t, err
}

// Zone is a town's time zone, for pages that show its times. A town keeps the zone it was created
// with, so each is read once; a town that does not exist (0, for district staff) is in
// clock.DefaultZone.
func (s *Service) Zone(ctx context.Context, townID int64) (*time.Location, error) {
	if l, ok := s.zones.Load(townID); ok {
		return l.(*time.Location), nil
	}
	t, err := s.Town(ctx, townID)
	if errs.Is(err, errs.NotFound) {
		return clock.Zone(""), nil
	}
	if err != nil {
		return nil, fmt.Errorf("people: zone: %w", err)
	}
	s.zones.Store(townID, t.Location())
	return t.Location(), nil
}

// TownByName returns a town by name.
func (s *Service) TownByName(ctx context.Context, name string) (Town, error) {
	var id int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id FROM towns WHERE name = $1`, name).Scan(&id)
	if db.IsNoRows(err) {
		return Town{}, notFound
	}
	if err != nil {
		return Town{}, err
	}
	return s.Town(ctx, id)
}

// Towns lists the towns the actor works in (every town for a district admin).
func (s *Service) Towns(ctx context.Context, a *auth.Actor) ([]Town, error) {
	all, ids := auth.Towns(a)
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, code, name, timezone, created_at FROM towns ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("people: towns: %w", err)
	}
	defer rows.Close()
	var out []Town
	for rows.Next() {
		var t Town
		if err := rows.Scan(&t.ID, &t.Code, &t.Name, &t.TimeZone, &t.CreatedAt); err != nil {
			return nil, err
		}
		if all || slices.Contains(ids, t.ID) {
			out = append(out, t)
		}
	}
	return out, rows.Err()
}

// CreateVillage adds a village to a town; town admins only.
func (s *Service) CreateVillage(ctx context.Context, a *auth.Actor, townID int64, in VillageInput) (Village, error) {
	if err := auth.Can(a, auth.TownManage, auth.Scope{TownID: townID}); err != nil {
		return Village{}, err
	}
	var v Village
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if v, err = s.InsertVillage(ctx, tx, townID, in); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "village.create", Entity: "village", EntityID: v.ID, TownID: townID, VillageID: v.ID, Summary: auth.Summarize(nil, in)})
	})
	return v, err
}

// InsertVillage validates and writes a village inside tx without a permission check (demo, import).
func (s *Service) InsertVillage(ctx context.Context, tx db.Querier, townID int64, in VillageInput) (Village, error) {
	in.Name, in.Code = strings.TrimSpace(in.Name), strings.TrimSpace(in.Code)
	var f errs.Fields
	validName(&f, "name", in.Name)
	if in.Code != "" && !digits(in.Code, 1, 12) {
		f.Add("code", "people.village_code_invalid")
	}
	if err := f.Err(); err != nil {
		return Village{}, err
	}
	if in.Code == "" {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM villages WHERE town_id = $1`, townID).Scan(&n); err != nil {
			return Village{}, err
		}
		in.Code = fmt.Sprintf("%03d", n+1)
	}
	v := Village{TownID: townID, Code: in.Code, Name: in.Name, Active: true, CreatedAt: s.Now()}
	err := tx.QueryRowContext(ctx, `INSERT INTO villages (town_id, code, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		townID, v.Code, v.Name, v.CreatedAt).Scan(&v.ID)
	if db.IsUnique(err) {
		return Village{}, &errs.Error{Code: errs.Conflict, Key: "people.village_exists", Fields: []errs.FieldError{{Field: "name", Key: "people.village_exists"}}}
	}
	if err != nil {
		return Village{}, err
	}
	for _, fn := range s.villageHooks {
		if err := fn(ctx, tx, v); err != nil {
			return Village{}, err
		}
	}
	return v, nil
}

// Villages lists the villages of a town the actor may see, with resident counts.
func (s *Service) Villages(ctx context.Context, a *auth.Actor, townID int64) ([]Village, error) {
	all, ids, err := reach(a, auth.VillageRead, townID)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT v.id, v.town_id, v.code, v.name, v.active, v.created_at,
		(SELECT COUNT(*) FROM residents r WHERE r.village_id = v.id AND r.status = 'active')
		FROM villages v WHERE v.town_id = $1 ORDER BY v.code, v.id`, townID)
	if err != nil {
		return nil, fmt.Errorf("people: villages: %w", err)
	}
	defer rows.Close()
	var out []Village
	for rows.Next() {
		var v Village
		if err := rows.Scan(&v.ID, &v.TownID, &v.Code, &v.Name, &v.Active, &v.CreatedAt, &v.Residents); err != nil {
			return nil, err
		}
		if all || slices.Contains(ids, v.ID) {
			out = append(out, v)
		}
	}
	return out, rows.Err()
}

// reach is the registry's one reading of the villages of a town an actor may take act on: every
// one (all), or ids. An actor who may take it on none is refused as Can refuses it, so that no
// caller lists, searches or imports over an empty set of villages.
func reach(a *auth.Actor, act auth.Action, townID int64) (all bool, ids []int64, err error) {
	all, ids = auth.Visible(a, act, townID)
	if all || len(ids) > 0 {
		return all, ids, nil
	}
	if err := auth.Can(a, act, auth.Scope{TownID: townID, VillageID: -1}); err != nil {
		return false, nil, err
	}
	return false, nil, errs.New(errs.Forbidden, "error.forbidden")
}

// VillagesFor is the registry's one decision of which villages a page offers the actor and which
// one the request chose: the villages of the town it may see (none, rather than a refusal, when it
// may see none, so that a form still shows), and the chosen village when villageID is not 0. A
// chosen village the actor may not see is not found, as if it did not exist.
func (s *Service) VillagesFor(ctx context.Context, a *auth.Actor, townID, villageID int64) ([]Village, Village, error) {
	vs, err := s.Villages(ctx, a, townID)
	if err != nil && !errs.Is(err, errs.Forbidden) {
		return nil, Village{}, err
	}
	if villageID == 0 {
		return vs, Village{}, nil
	}
	v, err := s.Village(ctx, a, villageID)
	return vs, v, err
}

// Village returns a village the actor may see.
func (s *Service) Village(ctx context.Context, a *auth.Actor, id int64) (Village, error) {
	v, err := s.village(ctx, s.DB.Read(), id)
	if err != nil {
		return v, err
	}
	if err := auth.Can(a, auth.VillageRead, auth.Scope{TownID: v.TownID, VillageID: v.ID}); err != nil {
		return Village{}, auth.Hide(err)
	}
	return v, nil
}

func (s *Service) village(ctx context.Context, q db.Querier, id int64) (Village, error) {
	var v Village
	err := q.QueryRowContext(ctx, `SELECT id, town_id, code, name, active, created_at FROM villages WHERE id = $1`, id).
		Scan(&v.ID, &v.TownID, &v.Code, &v.Name, &v.Active, &v.CreatedAt)
	if db.IsNoRows(err) {
		return v, notFound
	}
	return v, err
}

// VillageByName finds a village of a town by name.
func (s *Service) VillageByName(ctx context.Context, townID int64, name string) (Village, error) {
	var id int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id FROM villages WHERE town_id = $1 AND name = $2`, townID, strings.TrimSpace(name)).Scan(&id)
	if db.IsNoRows(err) {
		return Village{}, notFound
	}
	if err != nil {
		return Village{}, err
	}
	return s.village(ctx, s.DB.Read(), id)
}

func digits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ResidentPatch changes some fields of a resident; absent fields keep their value.
type ResidentPatch struct {
	Name        *string   `json:"name,omitempty"`
	Gender      *Gender   `json:"gender,omitempty"`
	BirthDate   *string   `json:"birth_date,omitempty"`
	IDNumber    *string   `json:"id_number,omitempty"`
	Phone       *string   `json:"phone,omitempty"`
	Relation    *string   `json:"relation,omitempty"`
	PartyMember *bool     `json:"party_member,omitempty"`
	CareTags    *[]string `json:"care_tags,omitempty"`
}

// PatchResident applies a patch through UpdateResident, so the same checks apply.
func (s *Service) PatchResident(ctx context.Context, a *auth.Actor, id int64, p ResidentPatch) (Resident, error) {
	r, err := s.Resident(ctx, a, id)
	if err != nil {
		return r, err
	}
	if r.IDNumber == "" {
		// Only roles that may see ID numbers may write residents; say so the same way.
		return Resident{}, auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: r.TownID, VillageID: r.VillageID})
	}
	in := InputOf(r)
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&in.Name, p.Name)
	set(&in.BirthDate, p.BirthDate)
	set(&in.IDNumber, p.IDNumber)
	set(&in.Phone, p.Phone)
	set(&in.Relation, p.Relation)
	if p.Gender != nil {
		in.Gender = *p.Gender
	}
	if p.PartyMember != nil {
		in.PartyMember = *p.PartyMember
	}
	if p.CareTags != nil {
		in.CareTags = *p.CareTags
	}
	return s.UpdateResident(ctx, a, id, in)
}

// InputOf is the input that would recreate r as it is (IDNumber only if r carries it).
func InputOf(r Resident) ResidentInput {
	in := ResidentInput{VillageID: r.VillageID, HouseholdNumber: r.HouseholdNumber, Name: r.Name, Gender: r.Gender,
		BirthDate: r.BirthDate.Format(clock.DayLayout), IDNumber: r.IDNumber, Phone: r.Phone, Relation: r.Relation, PartyMember: r.PartyMember}
	for _, t := range r.CareTags {
		in.CareTags = append(in.CareTags, string(t))
	}
	return in
}
