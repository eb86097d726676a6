// Package volunteer is 微志愿, micro volunteering: the six teams of every village, volunteers and
// their skills, posts with shifts and a waiting list, attendance and hours, service certificates,
// and the needs found by knocking on doors (敲门问需), matched to teams. Completed shifts are paid
// through the bank's one entry point for events, bank.Service.Earn, under the leader's own
// permission PermPay, with the key volunteer:shift:<id>:resident:<id>; this package never
// writes points itself.
package volunteer

import (
	"context"
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
)

// TeamKind is one of the six kinds of village team (志愿队).
type TeamKind string

// The six team kinds the article names, in its order.
const (
	Livelihood  TeamKind = "livelihood"  // 民生帮扶队
	Policy      TeamKind = "policy"      // 政策宣传队
	Patrol      TeamKind = "patrol"      // 治安巡逻队
	Environment TeamKind = "environment" // 环境保护队
	Mediation   TeamKind = "mediation"   // 法治调解队
	Culture     TeamKind = "culture"     // 文化传播队
)

// Kinds lists the six team kinds in display order.
var Kinds = []TeamKind{Livelihood, Policy, Patrol, Environment, Mediation, Culture}

// Valid reports whether k is one of the six kinds.
func (k TeamKind) Valid() bool { return slices.Contains(Kinds, k) }

// Skills are the skills a volunteer may offer and a post or a need may want (理发, 医护, …).
var Skills = []string{"haircut", "medical", "electrician", "legal", "arts", "driving", "repair", "tutoring", "care", "cooking", "computer", "farming"}

// Categories are the kinds of need (群众需求), each with the team kind that usually answers it.
var Categories = map[string]TeamKind{
	"daily_care": Livelihood, "health": Livelihood, "repair": Livelihood, "haircut": Livelihood,
	"policy": Policy, "safety": Patrol, "environment": Environment,
	"dispute": Mediation, "legal": Mediation, "culture": Culture, "education": Culture, "other": Livelihood,
}

// CategoryList is Categories' keys in display order.
var CategoryList = []string{"daily_care", "health", "repair", "haircut", "policy", "safety", "environment", "dispute", "legal", "culture", "education", "other"}

// Urgencies of a need, least urgent first.
var Urgencies = []string{"low", "normal", "high", "urgent"}

// Team is a village's team of one kind, with its leaders and how many members it has.
type Team struct {
	ID          int64    `json:"id"`
	TownID      int64    `json:"town_id"`
	VillageID   int64    `json:"village_id"`
	VillageName string   `json:"village_name"`
	Kind        TeamKind `json:"kind"`
	Leaders     []string `json:"leaders"`
	Members     int      `json:"members"`
}

// Volunteer is a 志愿者: a resident registered with consent, known by a volunteer number (never by
// the ID number).
type Volunteer struct {
	ID               int64     `json:"id"`
	Number           string    `json:"number"`
	ResidentID       int64     `json:"resident_id"`
	Name             string    `json:"name"`
	TownID           int64     `json:"town_id"`
	VillageID        int64     `json:"village_id"`
	Skills           []string  `json:"skills"`
	Availability     string    `json:"availability"`
	GuardianName     string    `json:"guardian_name,omitempty"`
	GuardianRelation string    `json:"guardian_relation,omitempty"`
	Teams            []int64   `json:"teams"`
	RecordedByName   string    `json:"recorded_by_name"`
	CreatedAt        time.Time `json:"created_at"`
}

// RegisterInput registers the acting resident (or, in office mode, the resident acted for) as a
// volunteer. Consent is required; a child under 14 also needs a guardian's name, relation and
// consent.
type RegisterInput struct {
	Skills           []string `json:"skills"`
	Availability     string   `json:"availability"`
	Teams            []int64  `json:"teams"`
	Consent          bool     `json:"consent"`
	GuardianName     string   `json:"guardian_name"`
	GuardianRelation string   `json:"guardian_relation"`
	GuardianConsent  bool     `json:"guardian_consent"`
}

// Service is 微志愿's service: the only place in the pillar that decides.
type Service struct {
	DB     *db.DB
	People *people.Service
	Bank   *bank.Service
	Notify *notify.Service
	Now    func() time.Time
	// group commits sign-ups and cancellations together on SQLite (a savepoint each, one fsync).
	group *db.Group
}

// NewService returns the volunteer service, and gives every village created from now on its six
// teams (the migration gave them to the villages that already existed).
func NewService(d *db.DB, ps *people.Service, bs *bank.Service, ns *notify.Service) *Service {
	s := New(d, ps, bs, ns)
	ps.OnVillageCreated(s.createTeams)
	return s
}

// New returns a volunteer service without registering the village hook: a second service on the
// same registry (the demo's, on its own clock) must not give villages their teams twice.
func New(d *db.DB, ps *people.Service, bs *bank.Service, ns *notify.Service) *Service {
	return &Service{DB: d, People: ps, Bank: bs, Notify: ns, Now: db.Now, group: db.NewGroup(d)}
}

func (s *Service) createTeams(ctx context.Context, tx db.Querier, v people.Village) error {
	for _, k := range Kinds {
		if _, err := tx.ExecContext(ctx, `INSERT INTO volunteer_teams (town_id, village_id, kind, created_at) VALUES ($1, $2, $3, $4)`,
			v.TownID, v.ID, string(k), s.Now()); err != nil {
			return fmt.Errorf("volunteer: teams of village %d: %w", v.ID, err)
		}
	}
	return nil
}

// CancelCutoff is how long before a shift starts a volunteer may still cancel their sign-up.
var CancelCutoff = 2 * time.Hour

// EarlyCheckin is how long before a shift starts a volunteer may be checked in.
var EarlyCheckin = time.Hour

// lead checks that the actor may lead teams in a village (team leaders, village and town staff).
func lead(a *auth.Actor, townID, villageID int64) error {
	return auth.Can(a, PermLead, auth.Scope{TownID: townID, VillageID: villageID})
}

// cleanList trims, drops empties and duplicates, and keeps only values in allowed.
func cleanList(in []string, allowed []string) ([]string, bool) {
	var out []string
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" || slices.Contains(out, v) {
			continue
		}
		if !slices.Contains(allowed, v) {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

var notFound = errs.New(errs.NotFound, "error.not_found")

// Villages decides where staff work in 微志愿: the villages of the town that the actor leads
// teams in, and of those the one asked for (requested), or the first when none is asked for. A
// village asked for that the actor does not lead is not found, as a village that does not exist
// is. Every console page and every staff listing asks it.
func (s *Service) Villages(ctx context.Context, a *auth.Actor, requested int64) ([]people.Village, int64, error) {
	if a == nil {
		return nil, 0, notFound
	}
	townID := a.TownID
	if requested != 0 {
		v, err := s.village(ctx, requested)
		if err != nil {
			return nil, 0, err
		}
		if lead(a, v.TownID, v.ID) != nil {
			return nil, 0, notFound
		}
		townID = v.TownID
	}
	all, err := s.townVillages(ctx, townID)
	if err != nil {
		return nil, 0, err
	}
	var led []people.Village
	for _, v := range all {
		if lead(a, v.TownID, v.ID) == nil {
			led = append(led, v)
		}
	}
	if requested == 0 && len(led) > 0 {
		requested = led[0].ID
	}
	return led, requested, nil
}

// village is a village by id, for the pillar's own look-ups; it checks no permission.
func (s *Service) village(ctx context.Context, id int64) (people.Village, error) {
	var v people.Village
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id, town_id, code, name, active, created_at FROM villages WHERE id = $1`, id).
		Scan(&v.ID, &v.TownID, &v.Code, &v.Name, &v.Active, &v.CreatedAt)
	if db.IsNoRows(err) {
		return v, notFound
	}
	if err != nil {
		return v, fmt.Errorf("volunteer: village %d: %w", id, err)
	}
	return v, nil
}

// townVillages are a town's villages in the registry's order; it checks no permission.
func (s *Service) townVillages(ctx context.Context, townID int64) ([]people.Village, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, town_id, code, name, active, created_at FROM villages WHERE town_id = $1 ORDER BY code, id`, townID)
	if err != nil {
		return nil, fmt.Errorf("volunteer: villages: %w", err)
	}
	defer rows.Close()
	var out []people.Village
	for rows.Next() {
		var v people.Village
		if err := rows.Scan(&v.ID, &v.TownID, &v.Code, &v.Name, &v.Active, &v.CreatedAt); err != nil {
			return nil, fmt.Errorf("volunteer: villages: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// resident is what the pillar needs to know of a resident: where they live, their name, birth
// date and status. It checks no permission; callers decide who may act on the resident.
func (s *Service) resident(ctx context.Context, id int64) (people.Resident, error) {
	var r people.Resident
	var birth string
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id, town_id, village_id, name, birth_date, status FROM residents WHERE id = $1`, id).
		Scan(&r.ID, &r.TownID, &r.VillageID, &r.Name, &birth, &r.Status)
	if db.IsNoRows(err) {
		return r, notFound
	}
	if err != nil {
		return r, fmt.Errorf("volunteer: resident %d: %w", id, err)
	}
	if r.BirthDate, err = time.Parse(clock.DayLayout, birth); err != nil {
		return r, fmt.Errorf("volunteer: resident %d: birth date: %w", id, err)
	}
	return r, nil
}

// selfResident is the resident the actor is, or acts for.
func (s *Service) selfResident(ctx context.Context, a *auth.Actor) (people.Resident, error) {
	if a == nil || a.Self() == 0 {
		return people.Resident{}, notFound
	}
	return s.resident(ctx, a.Self())
}
