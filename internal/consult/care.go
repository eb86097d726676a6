package consult

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
	"siwei/internal/notify"
	"siwei/internal/people"
)

// DefaultIntervals are how often, in days, people with each care tag are visited when the town has
// not set its own (consult_care_intervals): every two weeks for those who live alone or have no
// family (so 高龄独居 too, the shortest of a person's tags counting), monthly for the others.
var DefaultIntervals = map[people.CareTag]int{
	people.Elderly:    30,
	people.LivesAlone: 14,
	people.Childless:  14,
	people.Disabled:   30,
	people.LowIncome:  30,
	people.LeftBehind: 30,
}

// Bounds of a member's card.
const (
	maxCareTitle = 40
	maxCarePhone = 20
)

// Member is a member of the care team (贴心服务队队员): a town cadre with a login, the villages and
// households (联系户) assigned to them, and the card residents see.
type Member struct {
	ID          int64           `json:"id"`
	TownID      int64           `json:"town_id"`
	AccountID   int64           `json:"-"`
	Name        string          `json:"name"`
	Phone       string          `json:"phone"`
	Title       string          `json:"title"`
	Active      bool            `json:"active"`
	Villages    []CareVillage   `json:"villages"`
	Households  []CareHousehold `json:"households,omitempty"`
	HouseholdsN int             `json:"household_count"`
	PhotoID     int64           `json:"photo_id,omitzero"`
}

// VillageNames joins the member's villages for a card.
func (m Member) VillageNames() string {
	names := make([]string, len(m.Villages))
	for i, v := range m.Villages {
		names[i] = v.Name
	}
	return strings.Join(names, "、")
}

// HasVillage reports whether the member is assigned the village.
func (m Member) HasVillage(id int64) bool {
	return slices.ContainsFunc(m.Villages, func(v CareVillage) bool { return v.ID == id })
}

// CareVillage is a village as the care pages name it.
type CareVillage struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// CareHousehold is a household as the care pages name it: its number, village and head.
type CareHousehold struct {
	ID          int64  `json:"id"`
	Number      string `json:"number"`
	VillageName string `json:"village_name"`
	Head        string `json:"head"`
}

// MemberInput is a member's card and assignments as the town edits them. AccountID is read only
// when a member is added: a login holding the care_team role in the town.
type MemberInput struct {
	AccountID    int64    `json:"account_id,omitzero"`
	Title        string   `json:"title"`
	Phone        string   `json:"phone"`
	VillageIDs   []int64  `json:"village_ids"`
	HouseholdIDs []int64  `json:"household_ids"`
	Photo        [][]byte `json:"-"`
}

// CareLogin is a login that may be added to the team.
type CareLogin struct {
	AccountID int64
	Name      string
}

// ---- who the actor is on the team

// careMe is the actor's active membership of the team, ok false for anyone else.
func (s *Service) careMe(ctx context.Context, q db.Querier, a *auth.Actor) (Member, bool, error) {
	if a == nil || a.AccountID == 0 || !a.Has(auth.CareTeam) {
		return Member{}, false, nil
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM consult_care_members WHERE account_id = $1 AND active = TRUE`, a.AccountID).Scan(&id)
	if db.IsNoRows(err) {
		return Member{}, false, nil
	}
	if err != nil {
		return Member{}, false, fmt.Errorf("consult: care member: %w", err)
	}
	m, err := s.careMember(ctx, q, id)
	if err != nil {
		return Member{}, false, err
	}
	if auth.Can(a, PermCare, auth.Scope{TownID: m.TownID}) != nil {
		return Member{}, false, nil
	}
	return m, true, nil
}

// careMember reads a member with villages and households, with no check of who asks.
func (s *Service) careMember(ctx context.Context, q db.Querier, id int64) (Member, error) {
	var m Member
	err := q.QueryRowContext(ctx, `SELECT id, town_id, account_id, name, phone, title, active FROM consult_care_members WHERE id = $1`, id).
		Scan(&m.ID, &m.TownID, &m.AccountID, &m.Name, &m.Phone, &m.Title, &m.Active)
	if db.IsNoRows(err) {
		return m, notFound
	}
	if err != nil {
		return m, fmt.Errorf("consult: care member: %w", err)
	}
	if err := s.careDecorate(ctx, q, &m, true); err != nil {
		return m, err
	}
	return m, nil
}

// careDecorate adds a member's villages, photo and households (all of them, or only their count).
func (s *Service) careDecorate(ctx context.Context, q db.Querier, m *Member, households bool) error {
	rows, err := q.QueryContext(ctx, `SELECT v.id, v.name FROM consult_care_villages cv JOIN villages v ON v.id = cv.village_id WHERE cv.member_id = $1 ORDER BY v.id`, m.ID)
	if err != nil {
		return fmt.Errorf("consult: care villages: %w", err)
	}
	m.Villages = []CareVillage{}
	for rows.Next() {
		var v CareVillage
		if err := rows.Scan(&v.ID, &v.Name); err != nil {
			rows.Close()
			return err
		}
		m.Villages = append(m.Villages, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	ids, err := s.photoIDs(ctx, q, "member", m.ID)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		m.PhotoID = ids[len(ids)-1]
	}
	if !households {
		return q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_care_households WHERE member_id = $1`, m.ID).Scan(&m.HouseholdsN)
	}
	m.Households, err = s.careHouseholds(ctx, q, `JOIN consult_care_households ch ON ch.household_id = h.id WHERE ch.member_id = $1`, m.ID)
	m.HouseholdsN = len(m.Households)
	return err
}

// careHouseholds lists households by a join and condition on h (households), with their village
// and head.
func (s *Service) careHouseholds(ctx context.Context, q db.Querier, where string, args ...any) ([]CareHousehold, error) {
	rows, err := q.QueryContext(ctx, `SELECT h.id, h.number, v.name, COALESCE(hr.name, '') FROM households h JOIN villages v ON v.id = h.village_id
		LEFT JOIN residents hr ON hr.id = h.head_resident_id `+where+` ORDER BY v.id, h.number LIMIT 200`, args...)
	if err != nil {
		return nil, fmt.Errorf("consult: care households: %w", err)
	}
	defer rows.Close()
	out := []CareHousehold{}
	for rows.Next() {
		var h CareHousehold
		if err := rows.Scan(&h.ID, &h.Number, &h.VillageName, &h.Head); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// managedMember is a member of a town the actor manages; anyone else is refused as refuse says.
func (s *Service) managedMember(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Member, error) {
	m, err := s.careMember(ctx, q, id)
	if err != nil || !manages(a, m.TownID) {
		return Member{}, auth.Refuse(a, PermManage)
	}
	return m, nil
}

// memberVisible is nil when the actor may see a member's card (and its photo): any logged-in
// person of the member's town, and its managers.
func (s *Service) memberVisible(ctx context.Context, q db.Querier, a *auth.Actor, id int64) error {
	var townID int64
	var active bool
	err := q.QueryRowContext(ctx, `SELECT town_id, active FROM consult_care_members WHERE id = $1`, id).Scan(&townID, &active)
	if db.IsNoRows(err) {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("consult: care member: %w", err)
	}
	if manages(a, townID) {
		return nil
	}
	if a == nil || a.AccountID == 0 || !active {
		return notFound
	}
	if m, ok, err := s.me(ctx, q, a); err != nil {
		return err
	} else if ok && m.TownID == townID {
		return nil
	}
	if all, villages := auth.Visible(a, PermCare, townID); all || len(villages) > 0 {
		return nil
	}
	if all, villages := auth.Visible(a, PermHost, townID); all || len(villages) > 0 {
		return nil
	}
	return notFound
}

// careTown is the town a manager means: the one named, or the actor's own.
func careTown(a *auth.Actor, townID int64) int64 {
	if townID == 0 && a != nil {
		return a.TownID
	}
	return townID
}

// ---- the team

// Members lists a town's care team, active members first, with their villages and the number of
// households assigned to each: the town's managers only.
func (s *Service) Members(ctx context.Context, a *auth.Actor, townID int64) ([]Member, error) {
	townID = careTown(a, townID)
	if !manages(a, townID) {
		return nil, auth.Refuse(a, PermManage)
	}
	q := s.DB.Read()
	rows, err := q.QueryContext(ctx, `SELECT id, town_id, account_id, name, phone, title, active FROM consult_care_members WHERE town_id = $1
		ORDER BY CASE WHEN active THEN 0 ELSE 1 END, name, id`, townID)
	if err != nil {
		return nil, fmt.Errorf("consult: care members: %w", err)
	}
	out := []Member{}
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.ID, &m.TownID, &m.AccountID, &m.Name, &m.Phone, &m.Title, &m.Active); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.careDecorate(ctx, q, &out[i], false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CareLogins are the town's logins holding the care_team role that are not on the team yet: the
// picker of a new member. A login is created on the accounts page with the role.
func (s *Service) CareLogins(ctx context.Context, a *auth.Actor, townID int64) ([]CareLogin, error) {
	townID = careTown(a, townID)
	if !manages(a, townID) {
		return nil, auth.Refuse(a, PermManage)
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT DISTINCT ac.id, ac.name FROM accounts ac JOIN account_roles ar ON ar.account_id = ac.id
		WHERE ar.role = $1 AND ar.town_id = $2 AND NOT EXISTS (SELECT 1 FROM consult_care_members m WHERE m.account_id = ac.id) ORDER BY ac.name, ac.id`,
		string(auth.CareTeam), townID)
	if err != nil {
		return nil, fmt.Errorf("consult: care logins: %w", err)
	}
	defer rows.Close()
	out := []CareLogin{}
	for rows.Next() {
		var l CareLogin
		if err := rows.Scan(&l.AccountID, &l.Name); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Member returns a member of a town the actor manages.
func (s *Service) Member(ctx context.Context, a *auth.Actor, id int64) (Member, error) {
	return s.managedMember(ctx, s.DB.Read(), a, id)
}

// AddMember puts a login holding the care_team role of the town on its team, with the phone
// residents call (the login's own when none is given) and a title.
func (s *Service) AddMember(ctx context.Context, a *auth.Actor, townID int64, in MemberInput) (Member, error) {
	townID = careTown(a, townID)
	if !manages(a, townID) {
		return Member{}, auth.Refuse(a, PermManage)
	}
	in.Title, in.Phone = strings.TrimSpace(in.Title), strings.TrimSpace(in.Phone)
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var name, phone string
		var n int
		err := tx.QueryRowContext(ctx, `SELECT ac.name, ac.phone, (SELECT COUNT(*) FROM account_roles ar WHERE ar.account_id = ac.id AND ar.role = $2 AND ar.town_id = $3)
			FROM accounts ac WHERE ac.id = $1`, in.AccountID, string(auth.CareTeam), townID).Scan(&name, &phone, &n)
		if db.IsNoRows(err) || (err == nil && n == 0) {
			return errs.Field("account_id", "consult.care.login_invalid")
		}
		if err != nil {
			return fmt.Errorf("consult: care login: %w", err)
		}
		if in.Phone == "" {
			in.Phone = phone
		}
		if err := careCheckCard(in); err != nil {
			return err
		}
		now := s.Now()
		err = tx.QueryRowContext(ctx, `INSERT INTO consult_care_members (town_id, account_id, name, phone, title, active, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, TRUE, $6, $6) RETURNING id`, townID, in.AccountID, name, in.Phone, in.Title, now).Scan(&id)
		if db.IsUnique(err) {
			return &errs.Error{Code: errs.Conflict, Key: "consult.care.login_taken", Fields: []errs.FieldError{{Field: "account_id", Key: "consult.care.login_taken"}}}
		}
		if err != nil {
			return fmt.Errorf("consult: add care member: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.care.member_add", Entity: "consult_care_member", EntityID: id, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"name": name, "title": in.Title})})
	})
	if err != nil {
		return Member{}, err
	}
	return s.careMember(ctx, s.DB.Read(), id)
}

// careCheckCard checks a member's title and phone, naming the fields.
func careCheckCard(in MemberInput) error {
	var f errs.Fields
	f.Text("title", in.Title, maxCareTitle, false)
	if in.Phone == "" {
		f.Add("phone", "field.required")
	} else if !auth.ValidPhone(in.Phone) && (len(in.Phone) > maxCarePhone || strings.Trim(in.Phone, "0123456789-") != "") {
		f.Add("phone", "consult.care.phone_invalid")
	}
	return f.Err()
}

// UpdateMember changes an active member's card (title, published phone, one photo replacing the
// last) and assignments: the villages of the town, and households (联系户) of those villages. A
// household assigned to another member moves to this one (a household has one contact cadre).
func (s *Service) UpdateMember(ctx context.Context, a *auth.Actor, id int64, in MemberInput) (Member, error) {
	in.Title, in.Phone = strings.TrimSpace(in.Title), strings.TrimSpace(in.Phone)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.managedMember(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !m.Active {
			return errs.New(errs.Conflict, "consult.care.member_inactive")
		}
		if err := careCheckCard(in); err != nil {
			return err
		}
		villages := slices.Compact(slices.Sorted(slices.Values(in.VillageIDs)))
		for _, v := range villages {
			var t int64
			if err := tx.QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, v).Scan(&t); err != nil || t != m.TownID {
				return errs.Field("village_ids", "consult.care.village_invalid")
			}
		}
		households := slices.Compact(slices.Sorted(slices.Values(in.HouseholdIDs)))
		for _, h := range households {
			var v int64
			if err := tx.QueryRowContext(ctx, `SELECT village_id FROM households WHERE id = $1`, h).Scan(&v); err != nil || !slices.Contains(villages, v) {
				return errs.Field("household_ids", "consult.care.household_invalid")
			}
		}
		now := s.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE consult_care_members SET title = $1, phone = $2, updated_at = $3 WHERE id = $4`, in.Title, in.Phone, now, id); err != nil {
			return fmt.Errorf("consult: care member: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM consult_care_villages WHERE member_id = $1`, id); err != nil {
			return err
		}
		for _, v := range villages {
			if _, err := tx.ExecContext(ctx, `INSERT INTO consult_care_villages (member_id, village_id) VALUES ($1, $2)`, id, v); err != nil {
				return fmt.Errorf("consult: care village: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM consult_care_households WHERE member_id = $1`, id); err != nil {
			return err
		}
		for _, h := range households {
			if _, err := tx.ExecContext(ctx, `DELETE FROM consult_care_households WHERE household_id = $1`, h); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO consult_care_households (household_id, member_id, assigned_at) VALUES ($1, $2, $3)`, h, id, now); db.IsUnique(err) {
				// Another member was given the household at the same moment: the town tries again.
				return &errs.Error{Code: errs.Conflict, Key: "consult.care.household_raced", Fields: []errs.FieldError{{Field: "household_ids", Key: "consult.care.household_raced"}}}
			} else if err != nil {
				return fmt.Errorf("consult: care household: %w", err)
			}
		}
		if len(in.Photo) > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM consult_photos WHERE owner = 'member' AND owner_id = $1`, id); err != nil {
				return err
			}
			if err := s.savePhotos(ctx, tx, "member", id, in.Photo[:1]); err != nil {
				return err
			}
		}
		if err := s.careTellMember(ctx, tx, m.AccountID, notify.Outcome{Title: "consult.care.told_assigned_title", Body: "consult.care.told_assigned",
			Args: []any{len(villages), len(households)}, Link: "/admin/consult/care/schedule"}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.care.member_update", Entity: "consult_care_member", EntityID: id, TownID: m.TownID,
			Summary: auth.Summarize(map[string]any{"title": m.Title, "phone": m.Phone, "villages": m.VillageNames(), "households": m.HouseholdsN},
				map[string]any{"title": in.Title, "phone": in.Phone, "villages": len(villages), "households": len(households)})})
	})
	if err != nil {
		return Member{}, err
	}
	return s.careMember(ctx, s.DB.Read(), id)
}

// DeactivateMember takes a member off the team with a reason: their households and villages are
// freed for others, their visits stay in the book.
func (s *Service) DeactivateMember(ctx context.Context, a *auth.Actor, id int64, reason string) (Member, error) {
	reason = strings.TrimSpace(reason)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.managedMember(ctx, tx, a, id)
		if err != nil {
			return err
		}
		var f errs.Fields
		f.Text("reason", reason, 200, true)
		if err := f.Err(); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE consult_care_members SET active = FALSE, updated_at = $1 WHERE id = $2 AND active = TRUE`, s.Now(), id)
		if err != nil {
			return fmt.Errorf("consult: deactivate: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.New(errs.Conflict, "consult.care.member_inactive")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM consult_care_households WHERE member_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM consult_care_villages WHERE member_id = $1`, id); err != nil {
			return err
		}
		if err := s.careTellMember(ctx, tx, m.AccountID, notify.Outcome{Title: "consult.care.told_deactivated_title", Body: "consult.care.told_deactivated",
			Args: []any{reason}, Link: "/admin"}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.care.member_deactivate", Entity: "consult_care_member", EntityID: id, TownID: m.TownID,
			Summary: auth.Summarize(nil, map[string]any{"name": m.Name, "reason": reason})})
	})
	if err != nil {
		return Member{}, err
	}
	return s.careMember(ctx, s.DB.Read(), id)
}

// CareHouseholdSearch finds households of a member's villages by number or the head's name, for
// the picker of 联系户.
func (s *Service) CareHouseholdSearch(ctx context.Context, a *auth.Actor, id int64, query string) ([]CareHousehold, error) {
	q := s.DB.Read()
	m, err := s.managedMember(ctx, q, a, id)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(m.Villages))
	for i, v := range m.Villages {
		ids[i] = v.ID
	}
	query = strings.TrimSpace(query)
	return s.careHouseholds(ctx, q, `WHERE h.village_id IN (`+db.IDList(ids)+`) AND ($1 = '' OR h.number LIKE $2 OR hr.name LIKE $2)`, query, "%"+query+"%")
}

// ---- intervals

// Interval is a care tag's visit frequency in a town.
type Interval struct {
	Tag     people.CareTag `json:"tag"`
	Days    int            `json:"days"`
	Default int            `json:"default"`
}

// careIntervals is the town's interval for each tag: its own, else DefaultIntervals.
func (s *Service) careIntervals(ctx context.Context, q db.Querier, townID int64) (map[people.CareTag]int, error) {
	out := map[people.CareTag]int{}
	for t, d := range DefaultIntervals {
		out[t] = d
	}
	rows, err := q.QueryContext(ctx, `SELECT tag, days FROM consult_care_intervals WHERE town_id = $1`, townID)
	if err != nil {
		return nil, fmt.Errorf("consult: care intervals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var d int
		if err := rows.Scan(&t, &d); err != nil {
			return nil, err
		}
		out[people.CareTag(t)] = d
	}
	return out, rows.Err()
}

// Intervals lists the town's interval for each care tag, in the registry's order: managers only.
func (s *Service) Intervals(ctx context.Context, a *auth.Actor, townID int64) ([]Interval, error) {
	townID = careTown(a, townID)
	if !manages(a, townID) {
		return nil, auth.Refuse(a, PermManage)
	}
	m, err := s.careIntervals(ctx, s.DB.Read(), townID)
	if err != nil {
		return nil, err
	}
	out := make([]Interval, len(people.CareTags))
	for i, t := range people.CareTags {
		out[i] = Interval{Tag: t, Days: m[t], Default: DefaultIntervals[t]}
	}
	return out, nil
}

// SetIntervals changes how often the town visits people with each tag named (1–366 days).
func (s *Service) SetIntervals(ctx context.Context, a *auth.Actor, townID int64, days map[people.CareTag]int) error {
	townID = careTown(a, townID)
	if !manages(a, townID) {
		return auth.Refuse(a, PermManage)
	}
	var f errs.Fields
	for t, d := range days {
		if !slices.Contains(people.CareTags, t) {
			f.Add("tag", "people.care_tag_invalid")
		} else if d < 1 || d > 366 {
			f.Add("days_"+string(t), "consult.care.days_invalid")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := s.careIntervals(ctx, tx, townID)
		if err != nil {
			return err
		}
		before, after := map[string]any{}, map[string]any{}
		for _, t := range people.CareTags {
			d, ok := days[t]
			if !ok || d == old[t] {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM consult_care_intervals WHERE town_id = $1 AND tag = $2`, townID, string(t)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO consult_care_intervals (town_id, tag, days) VALUES ($1, $2, $3)`, townID, string(t), d); err != nil {
				return fmt.Errorf("consult: care interval: %w", err)
			}
			before[string(t)], after[string(t)] = old[t], d
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.care.intervals", Entity: "town", EntityID: townID, TownID: townID,
			Summary: auth.Summarize(before, after)})
	})
}

// careTellMember tells a member an outcome, through the resident record of their login when it has
// one (a login without one has nowhere to be told but its pages).
func (s *Service) careTellMember(ctx context.Context, tx db.Querier, accountID int64, o notify.Outcome) error {
	var resident sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT resident_id FROM accounts WHERE id = $1`, accountID).Scan(&resident); err != nil {
		return fmt.Errorf("consult: member's login: %w", err)
	}
	return s.Notify.Tell(ctx, tx, resident.Int64, o)
}

// careDay parses a day as the care pages write it.
func careDay(s string) (time.Time, bool) {
	t, err := time.Parse("2006-01-02", s)
	return t, err == nil
}
