// Package honours is the 文明银行's public side: the honour roll (名录墙) filled by residents'
// evaluation (群众评议) with honest voting and its anomalies flagged to the town, the town's
// monthly featured and brand actions (特色行动, 品牌行动), contests judged on site by panels
// (一米微花园, 最美庭院, 门前三包), the monthly 流动红旗 and 文明大户 lists, and the media kit
// (融媒联合报道). Every list it publishes goes first on public notice (公示) with objections,
// like the bank's claims (notices.go); every point it pays goes through bank.Earn.
//
// The service decides scope for every id a request names: a record of another village or town
// answers NotFound, exactly like a missing one. Nobody's evaluation of officials uses these votes.
package honours

import (
	"context"
	"time"

	"siwei/internal/attend"
	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/people"
)

// Service is the public side's service: the only place in the part that decides.
type Service struct {
	DB     *db.DB
	People *people.Service
	// Bank pays the points being chosen, taking part and winning earn (bank.Earn), and takes the
	// deeds reported for an action as claims.
	Bank   *bank.Service
	Notify *notify.Service
	// Attend keeps the actions' rolls and check-ins, the kit's attendance model.
	Attend *attend.Service
	// T writes a message key in the default language, for what the service itself writes down (a
	// category's name in an export, a certificate); nil writes the key.
	T   func(key string, args ...any) string
	Now func() time.Time
	// publishers act on a list on notice when it is published, by kind (notices.go).
	publishers map[string]publisher
}

// NewService returns the public side's service.
func NewService(d *db.DB, ps *people.Service, bs *bank.Service, ns *notify.Service) *Service {
	s := &Service{DB: d, People: ps, Bank: bs, Notify: ns, Now: db.Now}
	s.Attend = attend.New(d, ps.Cipher.Derive("honours attendance tokens"))
	s.Attend.Now = func() time.Time { return s.Now() }
	s.Attend.Zone = ps.Zone
	s.publishers = map[string]publisher{
		NoticeRound:      s.roundPublisher(),
		NoticeContest:    s.contestPublisher(),
		NoticeHouseholds: s.householdsPublisher(),
	}
	return s
}

var notFound = errs.New(errs.NotFound, "error.not_found")

// t writes a message key in the default language.
func (s *Service) t(key string, args ...any) string {
	if s.T == nil {
		return key
	}
	return s.T(key, args...)
}

// ---- who the actor is

// manages reports whether the actor runs the town's public side (the 镇级总行): rounds and their
// anomalies, actions, contests, flags and lists, notices and objections.
func manages(a *auth.Actor, townID int64) bool {
	return townID != 0 && auth.Can(a, PermManage, auth.Scope{TownID: townID}) == nil
}

// servesVillage reports whether the actor takes a village's side: its staff, and the town's.
func servesVillage(a *auth.Actor, townID, villageID int64) bool {
	return townID != 0 && villageID != 0 && auth.Can(a, PermVillage, auth.Scope{TownID: townID, VillageID: villageID}) == nil
}

// villageScope is the villages of a town the actor takes the side of: every one (all), or a list.
func villageScope(a *auth.Actor, townID int64) (all bool, villages []int64) {
	return auth.Visible(a, PermVillage, townID)
}

// me is the actor's resident (people.Service.Me), or ok false for a login without one.
func (s *Service) me(ctx context.Context, q db.Querier, a *auth.Actor) (people.Me, bool, error) {
	return s.People.Me(ctx, q, a)
}

// townOf is the town of the actor's request: the one named, or the actor's own for 0.
func townOf(a *auth.Actor, townID int64) int64 {
	if townID == 0 && a != nil {
		return a.TownID
	}
	return townID
}

// townToday is the town's calendar day now (2006-01-02).
func (s *Service) townToday(ctx context.Context, townID int64) (string, error) {
	town, err := s.People.Town(ctx, townID)
	if err != nil {
		return "", err
	}
	return town.Clock(s.Now).Today().Format(clock.DayLayout), nil
}

// townMonth is the town's calendar month now (2006-01).
func (s *Service) townMonth(ctx context.Context, townID int64) (string, error) {
	d, err := s.townToday(ctx, townID)
	if err != nil {
		return "", err
	}
	return d[:7], nil
}

// Named is a record by id and name, for a picker (people.Named).
type Named = people.Named

// townVillages are a town's active villages, the one list the forms pick a village from
// (people.Service.TownVillages).
func (s *Service) townVillages(ctx context.Context, townID int64) ([]Named, error) {
	return s.People.TownVillages(ctx, townID)
}

// findResidents finds a town's active residents to pick (people.Service.Find): a nominee, a
// contest's entrant, a household's contribution, a village's 村民代表.
func (s *Service) findResidents(ctx context.Context, q db.Querier, townID int64, villageIDs []int64, word string) ([]people.Choice, error) {
	return s.People.Find(ctx, q, townID, villageIDs, word)
}

// maxPicked bounds the records one request may pick at once (villages, nominees, entries,
// residents).
const maxPicked = 500

// tooMany reports, on field, a list of picked ids longer than maxPicked, before any of it is read.
func tooMany(f *errs.Fields, field string, ids []int64) bool {
	if len(ids) > maxPicked {
		f.Add(field, "honours.too_many", maxPicked)
		return true
	}
	return false
}
