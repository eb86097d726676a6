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
	"time"

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

// Me is the resident the actor is (or acts for in office mode), as 微联盟 needs them (people.Me).
type Me = people.Me

// me is the actor's resident, or ok false for a login without one.
func (s *Service) me(ctx context.Context, q db.Querier, a *auth.Actor) (Me, bool, error) {
	return s.People.Me(ctx, q, a)
}

// villageIn checks that a village a request names is one of the town's (people.Service.VillageIn).
func (s *Service) villageIn(ctx context.Context, q db.Querier, townID, villageID int64, field string) error {
	return s.People.VillageIn(ctx, q, townID, villageID, field)
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

// ResidentChoice is a resident found by name or phone, for staff to pick (people.Choice).
type ResidentChoice = people.Choice

// findResidents finds a town's active residents to pick (people.Service.Find): the one way
// 微联盟's forms find a person.
func (s *Service) findResidents(ctx context.Context, q db.Querier, townID int64, villageIDs []int64, word string) ([]ResidentChoice, error) {
	return s.People.Find(ctx, q, townID, villageIDs, word)
}

// Named is a record by id and name, for a picker (people.Named).
type Named = people.Named

// townVillages are a town's active villages, the one list the forms pick a village from
// (people.Service.TownVillages).
func (s *Service) townVillages(ctx context.Context, townID int64) ([]Named, error) {
	return s.People.TownVillages(ctx, townID)
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
