// Package consult is 微协商, consultation: topics residents and staff raise and support (议题),
// consultation meetings (协商议事会) with typed participants on the kit's attendance model, their
// opinions ("你说我听 我说你听") and decisions (协商成果), referrals of decisions to departments with
// deadlines on the flow kit (接诉即办), the care team's household visits (贴心服务队, 未诉先办) with a
// schedule for people with care tags, and the Open311 GeoReport v2 API over needs and topics.
//
// The service decides scope for every id a request names: a record of another village or town
// answers NotFound, exactly like a missing one.
package consult

import (
	"context"
	"fmt"
	"time"

	"siwei/internal/attend"
	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/volunteer"
)

// Service is 微协商's service: the only place in the pillar that decides.
type Service struct {
	DB     *db.DB
	People *people.Service
	Notify *notify.Service
	// Volunteer files the needs a care visit finds, and the needs Open311 clients file, in 微志愿's
	// one need flow.
	Volunteer *volunteer.Service
	// Attend keeps the meetings' rolls and check-ins, the kit's attendance model.
	Attend *attend.Service
	Now    func() time.Time
}

// NewService returns the consultation service.
func NewService(d *db.DB, ps *people.Service, bs *bank.Service, ns *notify.Service, vs *volunteer.Service) *Service {
	s := &Service{DB: d, People: ps, Notify: ns, Volunteer: vs, Now: db.Now}
	s.Attend = attend.New(d, ps.Cipher.Derive("consult attendance tokens"))
	s.Attend.Now = func() time.Time { return s.Now() }
	s.Attend.Zone = ps.Zone
	_ = bs // the bank pays nothing of 微协商 yet; kept in the signature the pillars share
	return s
}

var notFound = errs.New(errs.NotFound, "error.not_found")

// ---- who the actor is

// hosts reports whether the actor hosts a village's topics and meetings (villageID ≠ 0: its
// admins and the town's), or the town's (villageID 0: the town's admins only).
func hosts(a *auth.Actor, townID, villageID int64) bool {
	return townID != 0 && auth.Can(a, PermHost, auth.Scope{TownID: townID, VillageID: villageID}) == nil
}

// manages reports whether the actor manages a town's directory, care team and clients.
func manages(a *auth.Actor, townID int64) bool {
	return townID != 0 && auth.Can(a, PermManage, auth.Scope{TownID: townID}) == nil
}

// hostScope is what the actor hosts in a town: every village and the town itself (all), or a list
// of villages.
func hostScope(a *auth.Actor, townID int64) (all bool, villages []int64) {
	return auth.Visible(a, PermHost, townID)
}

// Me is the resident the actor is (or acts for in office mode), as 微协商 needs them: their
// village, household and whether they still live there.
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
		return m, false, fmt.Errorf("consult: resident: %w", err)
	}
	m.Active = status == string(people.Active)
	return m, true, nil
}

// inScope reports whether a resident lives in a record's scope: its village, or anywhere in its
// town when the record is the whole town's (villageID 0).
func (m Me) inScope(townID, villageID int64) bool {
	return m.Active && m.TownID == townID && (villageID == 0 || m.VillageID == villageID)
}

// ---- satisfaction (满意度)

// Satisfactions are the three words a resident rates a referral or a visit with: 满意, 基本满意,
// 不满意. SatisfactionRatings are the ratings (1–5, as the flow kit keeps them) each is kept as, in
// the same order: 满意率 counts the first two.
var (
	Satisfactions       = []string{"satisfied", "basic", "unsatisfied"}
	SatisfactionRatings = []int{5, 4, 1}
)

// satisfactionRating is a word's rating, ok false for a word that is not one of Satisfactions.
func satisfactionRating(word string) (int, bool) {
	for i, w := range Satisfactions {
		if w == word {
			return SatisfactionRatings[i], true
		}
	}
	return 0, false
}

// ---- shared checks

// villageName is a village's name for a record of it, "" for the town's.
func (s *Service) villageName(ctx context.Context, q db.Querier, villageID int64) (string, error) {
	if villageID == 0 {
		return "", nil
	}
	var n string
	err := q.QueryRowContext(ctx, `SELECT name FROM villages WHERE id = $1`, villageID).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("consult: village %d: %w", villageID, err)
	}
	return n, nil
}

// placeIn checks that a village named by a request is one of the town's, and returns its town: a
// village of another town answers NotFound, like a missing one. villageID 0 is the actor's town.
func (s *Service) placeIn(ctx context.Context, q db.Querier, a *auth.Actor, townID, villageID int64) (int64, error) {
	if villageID == 0 {
		if townID == 0 && a != nil {
			townID = a.TownID
		}
		return townID, nil
	}
	var t int64
	err := q.QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, villageID).Scan(&t)
	if db.IsNoRows(err) || (err == nil && townID != 0 && t != townID) {
		return 0, &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "village_id", Key: "error.not_found"}}}
	}
	if err != nil {
		return 0, fmt.Errorf("consult: village %d: %w", villageID, err)
	}
	return t, nil
}
