package honours

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/web"
)

// The statuses of a nomination.
const (
	NominationOpen      = "open"       // waiting for consent, then for staff to admit it
	NominationAdmitted  = "admitted"   // admitted by staff: a round may take it
	NominationDeclined  = "declined"   // declined by staff, with a reason
	NominationChosen    = "chosen"     // chosen by its round and published on the wall
	NominationNotChosen = "not_chosen" // its round was published without it
	NominationWithdrawn = "withdrawn"  // the nominee (or a minor's guardian) did not consent
)

// Nomination is a nomination (推荐) of a resident for the honour roll: whom, in which category,
// the story and photos, who nominated, the consent of the nominee (or of a minor's guardian), and
// where staff have taken it. It is seen by the village's staff, the nominator, the nominee and a
// minor's guardians only; the wall shows what is chosen.
type Nomination struct {
	ID          int64     `json:"id"`
	TownID      int64     `json:"town_id"`
	VillageID   int64     `json:"village_id"`
	Village     string    `json:"village"`
	ResidentID  int64     `json:"resident_id"`
	Name        string    `json:"name"`
	Minor       bool      `json:"minor"`
	CategoryID  int64     `json:"category_id"`
	Category    string    `json:"category"`
	Story       string    `json:"story"`
	ByName      string    `json:"by_name"`
	ByStaff     bool      `json:"by_staff"`
	Consent     string    `json:"consent"`
	ConsentBy   string    `json:"consent_by,omitempty"`
	ConsentName string    `json:"consent_name,omitempty"`
	ConsentAt   time.Time `json:"consent_at,omitzero"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	Photos      []int64   `json:"photos"`
	// MayConsent: the reader is the nominee (or a minor's guardian) and may still answer.
	MayConsent bool `json:"may_consent"`
	// MayDecide: the reader is the village's staff and may admit or decline it.
	MayDecide             bool `json:"may_decide"`
	byResident, byAccount int64
}

// NominationInput is a nomination: the resident nominated (a neighbour of the town, the nominator
// themself, or for staff a resident of their village), the category, the story and up to
// bank.MaxPhotos photos (JPEG or PNG; base64 in JSON).
type NominationInput struct {
	ResidentID int64    `json:"resident_id"`
	CategoryID int64    `json:"category_id"`
	Story      string   `json:"story"`
	Photos     [][]byte `json:"photos"`
}

// maxStory bounds a nomination's and a wall name's story.
const maxStory = 1000

// nominee is a resident as a nomination needs them.
type nominee struct {
	ID, TownID, VillageID, HouseholdID int64
	Name, Relation, Birth              string
	Active                             bool
}

// minor reports whether the resident is under 18 on the day.
func (n nominee) minor(today time.Time) bool {
	b, err := time.Parse(clock.DayLayout, n.Birth)
	return err == nil && (people.Resident{BirthDate: b}).Age(today) < 18
}

func (s *Service) nomineeOf(ctx context.Context, q db.Querier, id int64) (nominee, error) {
	var n nominee
	var status string
	err := q.QueryRowContext(ctx, `SELECT id, town_id, village_id, household_id, name, relation, birth_date, status FROM residents WHERE id = $1`, id).
		Scan(&n.ID, &n.TownID, &n.VillageID, &n.HouseholdID, &n.Name, &n.Relation, &n.Birth, &status)
	if db.IsNoRows(err) {
		return n, notFound
	}
	if err != nil {
		return n, fmt.Errorf("honours: resident %d: %w", id, err)
	}
	n.Active = status == string(people.Active)
	return n, nil
}

// parentRelations are, by a child's 与户主关系, the relations of the household's members a
// generation or two above them: their parents and grandparents, who consent for a minor.
var parentRelations = map[string][]string{
	"子": {"户主", "配偶"}, "女": {"户主", "配偶"}, "儿子": {"户主", "配偶"}, "女儿": {"户主", "配偶"},
	"孙子": {"户主", "配偶", "子", "女", "儿子", "女儿", "儿媳", "女婿"}, "孙女": {"户主", "配偶", "子", "女", "儿子", "女儿", "儿媳", "女婿"},
	"外孙子": {"户主", "配偶", "子", "女", "儿子", "女儿", "儿媳", "女婿"}, "外孙女": {"户主", "配偶", "子", "女", "儿子", "女儿", "儿媳", "女婿"},
}

// guardians are the residents who consent for a minor (监护人): the active adults of the minor's
// household whose 与户主关系 makes them a parent or grandparent of the minor, or, when the
// minor's relation does not tell (户主, 其他, none), every active adult of the household.
func (s *Service) guardians(ctx context.Context, q db.Querier, n nominee, today time.Time) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, relation, birth_date FROM residents WHERE household_id = $1 AND id <> $2 AND status = 'active' ORDER BY id`, n.HouseholdID, n.ID)
	if err != nil {
		return nil, fmt.Errorf("honours: guardians: %w", err)
	}
	defer rows.Close()
	parents, known := parentRelations[n.Relation]
	var out []int64
	for rows.Next() {
		var g nominee
		if err := rows.Scan(&g.ID, &g.Relation, &g.Birth); err != nil {
			return nil, err
		}
		if g.minor(today) || (known && !slices.Contains(parents, g.Relation)) {
			continue
		}
		out = append(out, g.ID)
	}
	return out, rows.Err()
}

// wards are the minors of the resident's household they consent for.
func (s *Service) wards(ctx context.Context, q db.Querier, m people.Me, today time.Time) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, town_id, village_id, household_id, name, relation, birth_date FROM residents WHERE household_id = $1 AND id <> $2 AND status = 'active'`, m.HouseholdID, m.ID)
	if err != nil {
		return nil, fmt.Errorf("honours: wards: %w", err)
	}
	var minors []nominee
	for rows.Next() {
		var n nominee
		if err := rows.Scan(&n.ID, &n.TownID, &n.VillageID, &n.HouseholdID, &n.Name, &n.Relation, &n.Birth); err != nil {
			rows.Close()
			return nil, err
		}
		if n.minor(today) {
			minors = append(minors, n)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []int64
	for _, n := range minors {
		gs, err := s.guardians(ctx, q, n, today)
		if err != nil {
			return nil, err
		}
		if slices.Contains(gs, m.ID) {
			out = append(out, n.ID)
		}
	}
	return out, nil
}

// today is the town's calendar day now, as a date.
func (s *Service) today(ctx context.Context, townID int64) (time.Time, error) {
	d, err := s.townToday(ctx, townID)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(clock.DayLayout, d)
}

// actsAsStaff reports whether the actor acts for a village as its staff: not in office mode,
// where staff act for a resident.
func actsAsStaff(a *auth.Actor, townID, villageID int64) bool {
	return a != nil && a.ActingFor == nil && servesVillage(a, townID, villageID)
}

// mayJoin reports whether the actor takes part as a resident: a resident's login, or staff
// acting for a resident at the office.
func mayJoin(a *auth.Actor) bool {
	return a != nil && (a.ActingFor != nil || auth.MayAnywhere(a, PermJoin) == nil)
}

// Nominate records a nomination. A resident nominates a neighbour of their town or themself; a
// village's staff nominate a resident of their village. A resident nominating themself, or a
// guardian nominating their minor, consents by nominating; anyone else nominated is asked
// (notify), a minor through their guardians. A minor without a guardian in the registry cannot
// be nominated. One live nomination per resident and category.
func (s *Service) Nominate(ctx context.Context, a *auth.Actor, in NominationInput) (Nomination, error) {
	if a == nil || a.AccountID == 0 {
		return Nomination{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	var f errs.Fields
	in.Story = strings.TrimSpace(in.Story)
	f.Text("story", in.Story, maxStory, true)
	if in.ResidentID <= 0 {
		f.Add("resident_id", "honours.nomination.resident_required")
	}
	if in.CategoryID <= 0 {
		f.Add("category_id", "field.required")
	}
	if len(in.Photos) > bank.MaxPhotos {
		f.Add("photos", "field.photos_too_many", bank.MaxPhotos)
	}
	if err := f.Err(); err != nil {
		return Nomination{}, err
	}
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		n, err := s.nomineeOf(ctx, tx, in.ResidentID)
		residentGone := &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "resident_id", Key: "error.not_found"}}}
		if err == notFound {
			return residentGone
		}
		if err != nil {
			return err
		}
		staff := actsAsStaff(a, n.TownID, n.VillageID)
		var me people.Me
		if !staff {
			var ok bool
			me, ok, err = s.me(ctx, tx, a)
			if err != nil {
				return err
			}
			if !ok || !me.Active || !mayJoin(a) {
				if all, vs := villageScope(a, 0); all || len(vs) > 0 {
					return residentGone // staff of another village: the resident is not theirs
				}
				return auth.Refuse(a, PermJoin)
			}
			if me.TownID != n.TownID {
				return residentGone
			}
		}
		if !n.Active {
			return residentGone
		}
		c, err := s.category(ctx, tx, n.TownID, in.CategoryID, "category_id")
		if err != nil {
			return err
		}
		today, err := s.today(ctx, n.TownID)
		if err != nil {
			return err
		}
		minor := n.minor(today)
		consent, by, byName := "asked", "", ""
		var guardians []int64
		if minor {
			if guardians, err = s.guardians(ctx, tx, n, today); err != nil {
				return err
			}
			if len(guardians) == 0 {
				return errs.Field("resident_id", "honours.nomination.no_guardian")
			}
			if !staff && slices.Contains(guardians, me.ID) {
				consent, by, byName = "given", "guardian", me.Name
			}
		} else if !staff && me.ID == n.ID {
			consent, by, byName = "given", "self", me.Name
		}
		var live int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_nominations WHERE resident_id = $1 AND category_id = $2 AND status IN ('open', 'admitted')`,
			n.ID, c.ID).Scan(&live); err != nil {
			return fmt.Errorf("honours: nominate: %w", err)
		}
		if live > 0 {
			return &errs.Error{Code: errs.Conflict, Key: "error.invalid", Fields: []errs.FieldError{{Field: "resident_id", Key: "honours.nomination.duplicate"}}}
		}
		now := s.Now()
		nominator, byResident := a.Name, db.NullID(0)
		if !staff {
			nominator, byResident = me.Name, db.NullID(me.ID)
		}
		var consentAt any
		if consent == "given" {
			consentAt = now
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO honours_nominations (town_id, village_id, resident_id, category_id, story, by_resident, by_account, by_name,
			consent, consent_by, consent_name, consent_at, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $13) RETURNING id`,
			n.TownID, n.VillageID, n.ID, c.ID, in.Story, byResident, a.AccountID, nominator, consent, by, byName, consentAt, now).Scan(&id); err != nil {
			if db.IsUnique(err) {
				return &errs.Error{Code: errs.Conflict, Key: "error.invalid", Fields: []errs.FieldError{{Field: "resident_id", Key: "honours.nomination.duplicate"}}}
			}
			return fmt.Errorf("honours: nominate: %w", err)
		}
		if err := s.savePhotos(ctx, tx, "nomination", id, in.Photos); err != nil {
			return err
		}
		if consent == "asked" {
			ask := notify.Outcome{Title: "honours.outcome.consent_title", Body: "honours.outcome.consent", Args: []any{nominator, n.Name, c.Name}, Link: fmt.Sprintf("/honours/nominations/%d", id)}
			if !minor {
				guardians = []int64{n.ID}
			}
			for _, g := range guardians {
				if err := s.Notify.Tell(ctx, tx, g, ask); err != nil {
					return err
				}
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.nomination.create", Entity: "honours_nomination", EntityID: id, TownID: n.TownID, VillageID: n.VillageID, Summary: auth.Summarize(nil, map[string]any{"resident": n.Name, "category": c.Name, "consent": consent})})
	})
	if err != nil {
		return Nomination{}, err
	}
	return s.NominationByID(ctx, a, id)
}

const nominationCols = `n.id, n.town_id, n.village_id, v.name, n.resident_id, r.name, r.birth_date, n.category_id, c.code, c.name, n.story, COALESCE(n.by_resident, 0), n.by_account,
	n.by_name, n.consent, n.consent_by, n.consent_name, n.consent_at, n.status, n.reason, n.created_at`

const nominationFrom = ` FROM honours_nominations n JOIN villages v ON v.id = n.village_id JOIN residents r ON r.id = n.resident_id
	JOIN honours_categories c ON c.id = n.category_id`

func (s *Service) scanNomination(sc interface{ Scan(...any) error }, today time.Time) (Nomination, error) {
	var x Nomination
	var birth, code string
	var at sql.NullTime
	err := sc.Scan(&x.ID, &x.TownID, &x.VillageID, &x.Village, &x.ResidentID, &x.Name, &birth, &x.CategoryID, &code, &x.Category, &x.Story, &x.byResident, &x.byAccount,
		&x.ByName, &x.Consent, &x.ConsentBy, &x.ConsentName, &at, &x.Status, &x.Reason, &x.CreatedAt)
	if code != "" {
		x.Category = s.t("honours.category." + code)
	}
	x.ConsentAt, x.ByStaff = at.Time, x.byResident == 0
	x.Minor = nominee{Birth: birth}.minor(today)
	return x, err
}

// viewer is who reads a nomination: staff of villages, and the resident they are with the minors
// they consent for.
type viewer struct {
	all      bool
	villages []int64
	me       people.Me
	resident bool
	wards    []int64
}

func (s *Service) viewerOf(ctx context.Context, q db.Querier, a *auth.Actor, townID int64, today time.Time) (viewer, error) {
	var v viewer
	if a.ActingFor == nil {
		v.all, v.villages = villageScope(a, townID)
	}
	m, ok, err := s.me(ctx, q, a)
	if err != nil {
		return v, err
	}
	if ok && m.Active && m.TownID == townID && mayJoin(a) {
		v.me, v.resident = m, true
		if v.wards, err = s.wards(ctx, q, m, today); err != nil {
			return v, err
		}
	}
	return v, nil
}

// staffOf reports whether the viewer serves the village as staff.
func (v viewer) staffOf(villageID int64) bool { return v.all || slices.Contains(v.villages, villageID) }

// answers reports whether the viewer answers the consent of the nomination: the adult nominee,
// or a guardian of the minor nominee.
func (v viewer) answers(x Nomination) bool {
	if !v.resident {
		return false
	}
	if x.Minor {
		return slices.Contains(v.wards, x.ResidentID)
	}
	return x.ResidentID == v.me.ID
}

// sees reports whether the viewer may read the nomination.
func (v viewer) sees(a *auth.Actor, x Nomination) bool {
	return v.staffOf(x.VillageID) || (a.ActingFor == nil && x.byAccount == a.AccountID) ||
		(v.resident && (x.byResident == v.me.ID || x.ResidentID == v.me.ID || slices.Contains(v.wards, x.ResidentID)))
}

// dress sets what the viewer may do with the nomination.
func (v viewer) dress(x *Nomination) {
	x.MayConsent = v.answers(*x) && x.Status == NominationOpen && x.Consent != "refused"
	x.MayDecide = v.staffOf(x.VillageID) && (x.Status == NominationOpen || x.Status == NominationAdmitted)
}

// nomination reads a nomination the actor may see, with the viewer; anything else is NotFound.
func (s *Service) nomination(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Nomination, viewer, error) {
	if a == nil || a.AccountID == 0 {
		return Nomination{}, viewer{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	var townID int64
	err := q.QueryRowContext(ctx, `SELECT town_id FROM honours_nominations WHERE id = $1`, id).Scan(&townID)
	if db.IsNoRows(err) {
		return Nomination{}, viewer{}, notFound
	}
	if err != nil {
		return Nomination{}, viewer{}, fmt.Errorf("honours: nomination %d: %w", id, err)
	}
	today, err := s.today(ctx, townID)
	if err != nil {
		return Nomination{}, viewer{}, err
	}
	x, err := s.scanNomination(q.QueryRowContext(ctx, `SELECT `+nominationCols+nominationFrom+` WHERE n.id = $1`, id), today)
	if err != nil {
		return x, viewer{}, fmt.Errorf("honours: nomination %d: %w", id, err)
	}
	v, err := s.viewerOf(ctx, q, a, townID, today)
	if err != nil {
		return x, v, err
	}
	if !v.sees(a, x) {
		return Nomination{}, v, notFound
	}
	v.dress(&x)
	return x, v, nil
}

// NominationByID is a nomination with its photos as the actor may see it.
func (s *Service) NominationByID(ctx context.Context, a *auth.Actor, id int64) (Nomination, error) {
	q := s.DB.Read()
	x, _, err := s.nomination(ctx, q, a, id)
	if err != nil {
		return x, err
	}
	if x.Photos, err = s.photoIDs(ctx, q, "nomination", x.ID); err != nil {
		return x, err
	}
	if x.Photos == nil {
		x.Photos = []int64{}
	}
	return x, nil
}

// NominationFilter narrows the nominations staff list: a village of their scope, a status.
type NominationFilter struct {
	TownID    int64
	VillageID int64
	Status    string
}

// maxNominations bounds a list of nominations.
const maxNominations = 500

// Nominations are the nominations the actor may see, newest first: a village's staff those of
// their villages (the town's all), a resident their own, those naming them and those naming the
// minors they consent for.
func (s *Service) Nominations(ctx context.Context, a *auth.Actor, f NominationFilter) ([]Nomination, error) {
	if a == nil || a.AccountID == 0 {
		return nil, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	townID := townOf(a, f.TownID)
	q := s.DB.Read()
	today, err := s.today(ctx, townID)
	if err != nil {
		if e, ok := errs.As(err); ok && e.Code == errs.NotFound {
			return nil, notFound
		}
		return nil, err
	}
	v, err := s.viewerOf(ctx, q, a, townID, today)
	if err != nil {
		return nil, err
	}
	if f.Status != "" && !slices.Contains([]string{NominationOpen, NominationAdmitted, NominationDeclined, NominationChosen, NominationNotChosen, NominationWithdrawn}, f.Status) {
		return nil, errs.Field("status", "honours.nomination.status_invalid")
	}
	where, args := []string{"n.town_id = $1"}, []any{townID}
	switch {
	case v.all || len(v.villages) > 0:
		if f.VillageID != 0 {
			if !v.staffOf(f.VillageID) {
				return nil, notFound
			}
			where = append(where, fmt.Sprintf("n.village_id = %d", f.VillageID))
		} else if !v.all {
			where = append(where, "n.village_id IN ("+db.IDList(v.villages)+")")
		}
	case v.resident:
		mine := append([]int64{v.me.ID}, v.wards...)
		where = append(where, fmt.Sprintf("(n.by_resident = %d OR n.resident_id IN (%s))", v.me.ID, db.IDList(mine)))
	default:
		if err := auth.MayAnywhere(a, PermJoin); err != nil {
			return nil, err
		}
		return []Nomination{}, nil
	}
	if f.Status != "" {
		args = append(args, f.Status)
		where = append(where, fmt.Sprintf("n.status = $%d", len(args)))
	}
	rows, err := q.QueryContext(ctx, `SELECT `+nominationCols+nominationFrom+` WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY n.id DESC LIMIT %d`, maxNominations), args...)
	if err != nil {
		return nil, fmt.Errorf("honours: nominations: %w", err)
	}
	defer rows.Close()
	out := []Nomination{}
	for rows.Next() {
		x, err := s.scanNomination(rows, today)
		if err != nil {
			return nil, err
		}
		if !v.sees(a, x) {
			continue
		}
		v.dress(&x)
		x.Photos = []int64{}
		out = append(out, x)
	}
	return out, rows.Err()
}

// Consent records the nominee's answer, or a guardian's for a minor: given, the nomination waits
// for staff; refused, it is withdrawn and the nominator told. Only the nominee (their guardians
// for a minor) answer, while the nomination is open; consent given may still be refused then.
func (s *Service) Consent(ctx context.Context, a *auth.Actor, id int64, give bool) (Nomination, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		x, v, err := s.nomination(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !v.answers(x) {
			return errs.New(errs.Forbidden, "honours.nomination.not_yours")
		}
		if x.Status != NominationOpen || (give && x.Consent == "given") {
			return errs.New(errs.Conflict, "honours.nomination.answered")
		}
		by := "self"
		if x.Minor {
			by = "guardian"
		}
		now := s.Now()
		consent, status := "given", NominationOpen
		if !give {
			consent, status = "refused", NominationWithdrawn
		}
		res, err := tx.ExecContext(ctx, `UPDATE honours_nominations SET consent = $1, consent_by = $2, consent_name = $3, consent_at = $4, status = $5, updated_at = $4
			WHERE id = $6 AND status = 'open'`, consent, by, v.me.Name, now, status, id)
		if err != nil {
			return fmt.Errorf("honours: consent: %w", err)
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			if err != nil {
				return err
			}
			return errs.New(errs.Conflict, "honours.nomination.answered")
		}
		if !give && x.byResident != v.me.ID {
			if err := s.Notify.Tell(ctx, tx, x.byResident, notify.Outcome{Title: "honours.outcome.refused_title", Body: "honours.outcome.refused", Args: []any{x.Name, x.Category},
				Link: fmt.Sprintf("/honours/nominations/%d", id)}); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.nomination.consent", Entity: "honours_nomination", EntityID: id, TownID: x.TownID, VillageID: x.VillageID, Summary: auth.Summarize(map[string]any{"consent": x.Consent}, map[string]any{"consent": consent, "by": by})})
	})
	if err != nil {
		return Nomination{}, err
	}
	return s.NominationByID(ctx, a, id)
}

// Admit admits a nomination the nominee consented to, for a round to take; Decline declines it
// with a reason. Both are the village's staff's (the town's for all), and the nominator and
// nominee are told. A nomination a round has taken is no longer declined.
func (s *Service) Admit(ctx context.Context, a *auth.Actor, id int64) (Nomination, error) {
	return s.decide(ctx, a, id, true, "")
}

// Decline declines a nomination with the staff's reason (see Admit).
func (s *Service) Decline(ctx context.Context, a *auth.Actor, id int64, reason string) (Nomination, error) {
	return s.decide(ctx, a, id, false, reason)
}

func (s *Service) decide(ctx context.Context, a *auth.Actor, id int64, admit bool, reason string) (Nomination, error) {
	reason = strings.TrimSpace(reason)
	if !admit {
		var f errs.Fields
		f.Text("reason", reason, maxReason, true)
		if err := f.Err(); err != nil {
			return Nomination{}, err
		}
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		x, v, err := s.nomination(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !v.staffOf(x.VillageID) {
			return errs.New(errs.Forbidden, "error.forbidden")
		}
		status, title, body, from := NominationAdmitted, "honours.outcome.admitted_title", "honours.outcome.admitted", "'open'"
		if !admit {
			status, title, body, from = NominationDeclined, "honours.outcome.declined_title", "honours.outcome.declined", "'open', 'admitted'"
		}
		switch {
		case admit && x.Status == NominationOpen && x.Consent != "given":
			return errs.New(errs.Conflict, "honours.nomination.no_consent")
		case !strings.Contains(from, "'"+x.Status+"'"):
			return errs.New(errs.Conflict, "honours.nomination.decided")
		}
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_round_nominees WHERE nomination_id = $1`, id).Scan(&taken); err != nil {
			return fmt.Errorf("honours: nomination rounds: %w", err)
		}
		if taken > 0 {
			return errs.New(errs.Conflict, "honours.nomination.in_round")
		}
		res, err := tx.ExecContext(ctx, `UPDATE honours_nominations SET status = $1, reason = $2, updated_at = $3 WHERE id = $4 AND status IN (`+from+`)`, status, reason, s.Now(), id)
		if err != nil {
			return fmt.Errorf("honours: decide nomination: %w", err)
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			if err != nil {
				return err
			}
			return errs.New(errs.Conflict, "honours.nomination.decided")
		}
		args := []any{x.Name, x.Category}
		if !admit {
			args = append(args, reason)
		}
		o := notify.Outcome{Title: title, Body: body, Args: args, Link: fmt.Sprintf("/honours/nominations/%d", id)}
		if err := s.Notify.TellEach(ctx, tx, `SELECT resident_id FROM honours_nominations WHERE id = $1 UNION SELECT by_resident FROM honours_nominations WHERE id = $1 AND by_resident IS NOT NULL`,
			[]any{id}, o); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.nomination.decide", Entity: "honours_nomination", EntityID: id, TownID: x.TownID, VillageID: x.VillageID, Summary: auth.Summarize(map[string]any{"status": x.Status}, map[string]any{"status": status, "reason": reason})})
	})
	if err != nil {
		return Nomination{}, err
	}
	return s.NominationByID(ctx, a, id)
}

// NomineeChoices finds residents the actor may nominate by name or phone: a resident's neighbours
// of the town, a village's staff the residents of their villages.
func (s *Service) NomineeChoices(ctx context.Context, a *auth.Actor, word string) ([]people.Choice, error) {
	if a == nil || a.AccountID == 0 {
		return nil, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	q := s.DB.Read()
	if a.ActingFor == nil {
		if all, vs := villageScope(a, a.TownID); all || len(vs) > 0 {
			if all {
				vs = nil
			}
			return s.findResidents(ctx, q, a.TownID, vs, word)
		}
	}
	m, ok, err := s.me(ctx, q, a)
	if err != nil {
		return nil, err
	}
	if !ok || !m.Active || !mayJoin(a) {
		return nil, auth.Refuse(a, PermJoin)
	}
	return s.findResidents(ctx, q, m.TownID, nil, word)
}

// nominationTodos are the consents waiting for a resident (as nominee or guardian), and the
// nominations with consent given waiting for the village's staff to admit.
func (s *Service) nominationTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil || a.AccountID == 0 || a.TownID == 0 {
		return nil, nil
	}
	q := s.DB.Read()
	today, err := s.today(ctx, a.TownID)
	if err != nil {
		return nil, err
	}
	v, err := s.viewerOf(ctx, q, a, a.TownID, today)
	if err != nil {
		return nil, err
	}
	var out []web.Todo
	if v.all || len(v.villages) > 0 {
		cond := ""
		if !v.all {
			cond = " AND village_id IN (" + db.IDList(v.villages) + ")"
		}
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_nominations WHERE town_id = $1 AND status = 'open' AND consent = 'given'`+cond, a.TownID).Scan(&n); err != nil {
			return nil, fmt.Errorf("honours: nominations todo: %w", err)
		}
		if n > 0 {
			out = append(out, web.Todo{Key: "honours.todo.admit", Count: n, Path: "/admin/honours/nominations"})
		}
	}
	if v.resident {
		mine := append([]int64{v.me.ID}, v.wards...)
		rows, err := q.QueryContext(ctx, `SELECT `+nominationCols+nominationFrom+` WHERE n.resident_id IN (`+db.IDList(mine)+`) AND n.status = 'open' AND n.consent = 'asked'`)
		if err != nil {
			return nil, fmt.Errorf("honours: consents todo: %w", err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			x, err := s.scanNomination(rows, today)
			if err != nil {
				return nil, err
			}
			if v.answers(x) {
				n++
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if n > 0 {
			out = append(out, web.Todo{Key: "honours.todo.consent", Count: n, Path: "/honours/nominations"})
		}
	}
	return out, nil
}
