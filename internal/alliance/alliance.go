// Package alliance is 微联盟, the town's alliance of member units (党建协调委员会): the units and
// their logins, the three lists (三单对接: what units can give, what villages need, and the projects
// that match them, on the flow kit), alliance activities on the kit's attendance model with their
// person-times (人次), donations traced from the donor through villages to the households that
// received them, and the one-stop dispute centre (一站式多元解纷中心) with its consultations and
// cases, which only the centre's staff see.
//
// The service decides scope for every id a request names: a record of another village, town or
// unit answers NotFound, exactly like a missing one.
package alliance

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/attend"
	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/volunteer"
)

// Service is 微联盟's service: the only place in the pillar that decides.
type Service struct {
	DB     *db.DB
	People *people.Service
	// Bank pays activity points (bank.Earn) and takes donated goods into the shop's stock.
	Bank   *bank.Service
	Notify *notify.Service
	// Volunteer is 微志愿, whose needs a village may post to the alliance's needs list.
	Volunteer *volunteer.Service
	// Attend keeps the activities' rolls and check-ins, the kit's attendance model.
	Attend *attend.Service
	Now    func() time.Time
}

// NewService returns the alliance service.
func NewService(d *db.DB, ps *people.Service, bs *bank.Service, ns *notify.Service, vs *volunteer.Service) *Service {
	s := &Service{DB: d, People: ps, Bank: bs, Notify: ns, Volunteer: vs, Now: db.Now}
	s.Attend = attend.New(d, ps.Cipher.Derive("alliance attendance tokens"))
	s.Attend.Now = func() time.Time { return s.Now() }
	s.Attend.Zone = ps.Zone
	return s
}

var notFound = errs.New(errs.NotFound, "error.not_found")

// ---- who the actor is

// manages reports whether the actor manages a town's alliance: its units, lists, activities and
// donations.
func manages(a *auth.Actor, townID int64) bool {
	return townID != 0 && auth.Can(a, PermManage, auth.Scope{TownID: townID}) == nil
}

// servesVillage reports whether the actor takes a village's side in the alliance: its admins, and
// the town's alliance staff.
func servesVillage(a *auth.Actor, townID, villageID int64) bool {
	return townID != 0 && villageID != 0 && auth.Can(a, PermVillage, auth.Scope{TownID: townID, VillageID: villageID}) == nil
}

// villageScope is the villages of a town the actor takes the side of: every one (all), or a list.
func villageScope(a *auth.Actor, townID int64) (all bool, villages []int64) {
	return auth.Visible(a, PermVillage, townID)
}

// refuse is the refusal of a write the actor may not make on a record they may not see: Forbidden
// to someone who may take the action nowhere (a resident, a liaison asking for staff's work),
// NotFound to staff elsewhere, who learn nothing of this one.
func refuse(a *auth.Actor, act auth.Action) error {
	if err := mayAnywhere(a, act); err != nil {
		return err
	}
	return notFound
}

// mayAnywhere refuses, before any record is read, an actor who may take the action nowhere (a
// liaison asked for staff's work, a resident): Forbidden whatever id they name, so that a missing
// record and someone else's answer alike.
func mayAnywhere(a *auth.Actor, act auth.Action) error {
	if a == nil || a.AccountID == 0 {
		return errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if all, villages := auth.Visible(a, act, 0); !all && len(villages) == 0 {
		return errs.New(errs.Forbidden, "error.forbidden")
	}
	return nil
}

// myUnit is the member unit the actor's login is a liaison of (PermUnit), 0 for none.
func (s *Service) myUnit(ctx context.Context, q db.Querier, a *auth.Actor) (int64, error) {
	if a == nil || a.AccountID <= 0 || !a.Has(auth.UnitLiaison) {
		return 0, nil
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT ua.unit_id FROM alliance_unit_accounts ua JOIN alliance_units u ON u.id = ua.unit_id
		WHERE ua.account_id = $1 AND u.town_id = $2`, a.AccountID, a.TownID).Scan(&id)
	if db.IsNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("alliance: my unit: %w", err)
	}
	if auth.Can(a, PermUnit, auth.Scope{TownID: a.TownID}) != nil {
		return 0, nil
	}
	return id, nil
}

// Me is the resident the actor is (or acts for in office mode), as 微联盟 needs them.
type Me struct {
	ID          int64
	TownID      int64
	VillageID   int64
	HouseholdID int64
	Name        string
	Active      bool
}

// me is the actor's resident, or ok false for a login without one.
func (s *Service) me(ctx context.Context, q db.Querier, a *auth.Actor) (Me, bool, error) {
	var m Me
	if a == nil || a.Self() == 0 {
		return m, false, nil
	}
	var status string
	err := q.QueryRowContext(ctx, `SELECT id, town_id, village_id, household_id, name, status FROM residents WHERE id = $1`, a.Self()).
		Scan(&m.ID, &m.TownID, &m.VillageID, &m.HouseholdID, &m.Name, &status)
	if db.IsNoRows(err) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("alliance: resident: %w", err)
	}
	m.Active = status == string(people.Active)
	return m, true, nil
}

// villageIn checks that a village named by a request is one of the town's: a village of another
// town answers NotFound on the field, like a missing one.
func (s *Service) villageIn(ctx context.Context, q db.Querier, townID, villageID int64, field string) error {
	var t int64
	err := q.QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, villageID).Scan(&t)
	if db.IsNoRows(err) || (err == nil && t != townID) {
		return &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: field, Key: "error.not_found"}}}
	}
	if err != nil {
		return fmt.Errorf("alliance: village %d: %w", villageID, err)
	}
	return nil
}

// townToday is the town's calendar day now (2006-01-02), the one way 微联盟 reads it.
func (s *Service) townToday(ctx context.Context, townID int64) (string, error) {
	town, err := s.People.Town(ctx, townID)
	if err != nil {
		return "", err
	}
	return town.Clock(s.Now).Today().Format(clock.DayLayout), nil
}

// townOf is the town of the actor's request: the one named, or the actor's own for 0.
func townOf(a *auth.Actor, townID int64) int64 {
	if townID == 0 && a != nil {
		return a.TownID
	}
	return townID
}

// ResidentChoice is a resident found by name or phone, for staff to pick (to check in, to hand
// something to, to name as a party): the name, village, household's address and masked phone,
// never a number on screen.
type ResidentChoice struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Village string `json:"village"`
	Address string `json:"address"`
	Phone   string `json:"phone"`
}

// maxResidentMatches bounds a search for residents.
const maxResidentMatches = 20

// findResidents finds a town's active residents (of the villages named, or of all its villages for
// none) whose name holds the word staff typed, or whose phone starts with it when it is digits: the
// one way 微联盟's forms find a person. A blank word finds no one; a long one is cut to 20
// characters.
func (s *Service) findResidents(ctx context.Context, q db.Querier, townID int64, villageIDs []int64, word string) ([]ResidentChoice, error) {
	word = strings.TrimSpace(word)
	out := []ResidentChoice{}
	if word == "" || townID == 0 {
		return out, nil
	}
	if utf8.RuneCountInString(word) > 20 {
		word = string([]rune(word)[:20])
	}
	cond, arg := `r.name LIKE $2 ESCAPE '\'`, "%"+db.LikePrefix(word)
	if strings.Trim(word, "0123456789") == "" {
		cond, arg = `r.phone LIKE $2 ESCAPE '\'`, db.LikePrefix(word)
	}
	if villageIDs != nil {
		cond += ` AND r.village_id IN (` + db.IDList(villageIDs) + `)`
	}
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.name, v.name, COALESCE(h.address, ''), r.phone FROM residents r JOIN villages v ON v.id = r.village_id
		LEFT JOIN households h ON h.id = r.household_id
		WHERE r.status = 'active' AND r.town_id = $1 AND `+cond+` ORDER BY r.name, r.id LIMIT $3`, townID, arg, maxResidentMatches)
	if err != nil {
		return nil, fmt.Errorf("alliance: find residents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c ResidentChoice
		if err := rows.Scan(&c.ID, &c.Name, &c.Village, &c.Address, &c.Phone); err != nil {
			return nil, err
		}
		c.Phone = people.MaskPhone(c.Phone)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Named is a record by id and name, for a picker: names on screen, never ids.
type Named struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// townVillages are a town's active villages in code order, the one list 微联盟's forms pick a
// village from (the service still checks each village a request names).
func (s *Service) townVillages(ctx context.Context, townID int64) ([]Named, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, name FROM villages WHERE town_id = $1 AND active ORDER BY code, id`, townID)
	if err != nil {
		return nil, fmt.Errorf("alliance: villages: %w", err)
	}
	defer rows.Close()
	out := []Named{}
	for rows.Next() {
		var v Named
		if err := rows.Scan(&v.ID, &v.Name); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// maxPicked bounds the records one request may pick at once (villages, units, residents): a town
// has a few dozen villages, and a roll call is typed in batches.
const maxPicked = 500

// tooMany reports, on field, a list of picked ids longer than maxPicked, before any of it is read.
func tooMany(f *errs.Fields, field string, ids []int64) bool {
	if len(ids) > maxPicked {
		f.Add(field, "alliance.too_many", maxPicked)
		return true
	}
	return false
}
