package volunteer_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/server"
	"siwei/internal/volunteer"
)

// env is the demo town with a volunteering rule in every class's rule set, the demo accounts
// logged in, and one clock for the pillar and the bank that tests move forward.
type env struct {
	ctx       context.Context
	t         *testing.T
	sys       *server.System
	vs        *volunteer.Service
	clock     *atomic.Int64
	town      people.Town
	qt, dp    people.Village
	resident  *auth.Actor // 13900000011, 前疃村
	townAdmin *auth.Actor
	qtAdmin   *auth.Actor
	dpAdmin   *auth.Actor
	qtTeams   []volunteer.Team
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	ctx := context.Background()
	sys, err := server.New(d, bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, demo.Options{Residents: 160})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: ctx, t: t, sys: sys, vs: sys.Volunteer, clock: &atomic.Int64{}}
	e.clock.Store(db.Now().UnixMicro())
	now := func() time.Time { return time.UnixMicro(e.clock.Load()).UTC() }
	sys.Volunteer.Now, sys.Bank.Now, sys.Notify.Now = now, now, now
	e.town, _ = sys.People.Town(ctx, info.TownID)
	e.qt, _ = sys.People.VillageByName(ctx, info.TownID, "前疃村")
	e.dp, _ = sys.People.VillageByName(ctx, info.TownID, "东堡村")
	adoptRules(t, sys, e.town)
	e.resident, e.townAdmin = e.login(demo.PhoneResident), e.login(demo.PhoneTownAdmin)
	e.qtAdmin, e.dpAdmin = e.login(demo.PhoneVillageAdmin), e.login(demo.PhoneVillageAdmin2)
	if e.qtTeams, err = e.vs.Teams(ctx, e.qtAdmin, e.qt.ID); err != nil {
		t.Fatal(err)
	}
	return e
}

// adoptRules gives every class of the town a rule paid at once and one put on public notice.
func adoptRules(t testing.TB, sys *server.System, town people.Town) {
	t.Helper()
	ctx := context.Background()
	since := town.Today(time.Now()).AddDate(0, -1, 0).Format("2006-01-02")
	err := sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, class := range []people.MemberClass{people.Villager, people.PartyMember, people.Minor} {
			if _, err := sys.Bank.InsertVersion(ctx, tx, bank.VersionInput{TownID: town.ID, Class: class, AdoptedBy: "村民代表大会", AdoptedOn: since,
				Resolution: "潞决〔2026〕9号", EffectiveFrom: since, Rules: []bank.RuleInput{
					{Code: "serve", Name: "志愿服务（每次）", Points: 3},
					{Code: "serve_notice", Name: "志愿服务（公示）", Points: 5, NoticeRequired: true},
				}}, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) login(phone string) *auth.Actor {
	e.t.Helper()
	s, err := e.sys.Auth.Login(e.ctx, phone, demo.DemoPassword, "127.0.0.1", "web")
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := e.sys.Auth.Authenticate(e.ctx, s.Token)
	if err != nil || a == nil {
		e.t.Fatalf("authenticate %s: %v", phone, err)
	}
	return a
}

func (e *env) later(d time.Duration) { e.clock.Add(d.Microseconds()) }

func (e *env) now() time.Time { return time.UnixMicro(e.clock.Load()).UTC() }

// tomorrow is the town's date a day ahead of the clock.
func (e *env) tomorrow() string { return e.town.Today(e.now()).AddDate(0, 0, 1).Format("2006-01-02") }

// residents lists active adults of a village, oldest record first.
func (e *env) residents(v people.Village, n int) []int64 {
	e.t.Helper()
	rows, err := e.sys.DB.Read().QueryContext(e.ctx, `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' AND birth_date < $2 ORDER BY id`,
		v.ID, e.town.Today(e.now()).AddDate(-18, 0, 0).Format("2006-01-02"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() && len(ids) < n {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	if len(ids) < n {
		e.t.Fatalf("only %d adults in %s", len(ids), v.Name)
	}
	return ids
}

// office is the village admin acting for a resident, as at the village office.
func (e *env) office(staff *auth.Actor, residentID int64) *auth.Actor {
	a := *staff
	a.ActingFor = &auth.Person{ID: residentID, Name: fmt.Sprint("resident ", residentID)}
	return &a
}

// volunteerFor registers a resident as a volunteer of the livelihood team, at the office.
func (e *env) volunteerFor(residentID int64) *auth.Actor {
	e.t.Helper()
	a := e.office(e.qtAdmin, residentID)
	if _, err := e.vs.Register(e.ctx, a, volunteer.RegisterInput{Consent: true, Skills: []string{"haircut"}, Teams: []int64{e.qtTeams[0].ID}}); err != nil {
		e.t.Fatalf("register %d: %v", residentID, err)
	}
	return a
}

// post publishes a post of 前疃村's livelihood team with one shift tomorrow 09:00–11:00.
func (e *env) post(rule string, capacity int) (volunteer.Post, volunteer.Shift) {
	e.t.Helper()
	p, err := e.vs.CreatePost(e.ctx, e.qtAdmin, volunteer.PostInput{TeamID: e.qtTeams[0].ID, Title: "为老人理发", Place: "前疃村党群服务站", Skills: []string{"haircut"},
		RuleCode: rule, Shifts: []volunteer.ShiftInput{{Date: e.tomorrow(), Start: "09:00", End: "11:00", Capacity: capacity}}})
	if err != nil {
		e.t.Fatal(err)
	}
	_, shifts, err := e.vs.Roster(e.ctx, e.qtAdmin, p.ID)
	if err != nil || len(shifts) != 1 {
		e.t.Fatalf("roster: %v %d", err, len(shifts))
	}
	return p, shifts[0]
}

func keyOf(err error) string {
	if e, ok := errs.As(err); ok {
		if len(e.Fields) > 0 {
			return e.Fields[0].Field + ":" + e.Fields[0].Key
		}
		return e.Key
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestEveryVillageHasSixTeams(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		if len(e.qtTeams) != 6 {
			t.Fatalf("前疃村 has %d teams, want 6", len(e.qtTeams))
		}
		for i, k := range volunteer.Kinds {
			if e.qtTeams[i].Kind != k {
				t.Errorf("team %d is %s, want %s", i, e.qtTeams[i].Kind, k)
			}
		}
		v, err := e.sys.People.CreateVillage(e.ctx, e.townAdmin, e.town.ID, people.VillageInput{Name: "新建村"})
		if err != nil {
			t.Fatal(err)
		}
		teams, err := e.vs.Teams(e.ctx, e.townAdmin, v.ID)
		if err != nil || len(teams) != 6 {
			t.Fatalf("a new village has %d teams (%v), want 6", len(teams), err)
		}
		if _, err := e.vs.Teams(e.ctx, e.dpAdmin, e.qt.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("another village's admin reads 前疃村's teams: %v", err)
		}
	})
}

func TestRegistration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		if _, err := e.vs.Register(e.ctx, e.resident, volunteer.RegisterInput{Skills: []string{"haircut"}}); keyOf(err) != "consent:volunteer.consent_required" {
			t.Errorf("no consent: %v", keyOf(err))
		}
		if _, err := e.vs.Register(e.ctx, e.resident, volunteer.RegisterInput{Consent: true, Skills: []string{"juggling"}}); keyOf(err) != "skills:volunteer.skill_unknown" {
			t.Errorf("unknown skill: %v", keyOf(err))
		}
		if _, err := e.vs.Register(e.ctx, e.resident, volunteer.RegisterInput{Consent: true, Teams: []int64{e.qtTeams[0].ID + 1000}}); keyOf(err) != "teams:volunteer.team_unknown" {
			t.Errorf("another village's team: %v", keyOf(err))
		}
		v, err := e.vs.Register(e.ctx, e.resident, volunteer.RegisterInput{Consent: true, Skills: []string{"haircut", "haircut", "driving"}, Availability: "周二上午", Teams: []int64{e.qtTeams[0].ID}})
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%sV%06d", e.town.Code, v.ID); v.Number != want || len(v.Skills) != 2 || len(v.Teams) != 1 {
			t.Errorf("volunteer %+v, want number %s, 2 skills, 1 team", v, want)
		}
		// A child under 14 needs a guardian's consent.
		birth := e.town.Today(e.now()).AddDate(-10, 0, 0)
		first := demo.AreaCode + birth.Format("20060102") + "051"
		child, err := e.sys.People.CreateResident(e.ctx, e.townAdmin, people.ResidentInput{VillageID: e.qt.ID, HouseholdNumber: "001-0901", Name: "贾小勇",
			Gender: people.Male, BirthDate: birth.Format("2006-01-02"), IDNumber: first + string(people.IDCheckChar(first)), Relation: "子"})
		if err != nil {
			t.Fatal(err)
		}
		a := e.office(e.qtAdmin, child.ID)
		if _, err := e.vs.Register(e.ctx, a, volunteer.RegisterInput{Consent: true}); keyOf(err) != "guardian_name:volunteer.guardian_required" {
			t.Errorf("child without guardian: %v", keyOf(err))
		}
		cv, err := e.vs.Register(e.ctx, a, volunteer.RegisterInput{Consent: true, GuardianName: "贾大勇", GuardianRelation: "父亲", GuardianConsent: true})
		if err != nil || cv.GuardianName != "贾大勇" || cv.RecordedByName != e.qtAdmin.Name {
			t.Errorf("child with guardian: %+v %v", cv, err)
		}
	})
}

func TestTenSignupsRaceForTheLastPlace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		_, sh := e.post("serve", 3)
		ids := e.residents(e.qt, 12)
		actors := make([]*auth.Actor, len(ids))
		for i, id := range ids {
			actors[i] = e.volunteerFor(id)
		}
		for _, a := range actors[:2] {
			if su, err := e.vs.SignUp(e.ctx, a, sh.ID); err != nil || su.Status != volunteer.Confirmed {
				t.Fatalf("early sign-up: %+v %v", su, err)
			}
		}
		var wg sync.WaitGroup
		results := make([]volunteer.Signup, 10)
		errors := make([]error, 10)
		start := make(chan struct{})
		for i := range 10 {
			wg.Go(func() {
				<-start
				results[i], errors[i] = e.vs.SignUp(e.ctx, actors[2+i], sh.ID)
			})
		}
		close(start)
		wg.Wait()
		won := -1
		for i, err := range errors {
			if err != nil {
				t.Fatalf("racer %d: %v", i, err)
			}
			if results[i].Status == volunteer.Confirmed {
				if won >= 0 {
					t.Fatalf("racers %d and %d both got the last place", won, i)
				}
				won = i
			} else if results[i].Status != volunteer.Waiting {
				t.Fatalf("racer %d: status %s", i, results[i].Status)
			}
		}
		if won < 0 {
			t.Fatal("nobody got the last place")
		}
		// Each waiting racer was told a different place in line, 1 to 9.
		told := map[int]bool{}
		for i, r := range results {
			if r.Status == volunteer.Waiting {
				if r.Position < 1 || r.Position > 9 || told[r.Position] {
					t.Errorf("racer %d was told place %d", i, r.Position)
				}
				told[r.Position] = true
			}
		}
		got, _, err := e.vs.Shift(e.ctx, e.qtAdmin, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Taken != 3 || got.Waiting != 9 {
			t.Fatalf("taken %d waiting %d, want 3 and 9", got.Taken, got.Waiting)
		}
		var line []int64
		for _, su := range got.Signups {
			if su.Status == volunteer.Waiting {
				if su.Position != len(line)+1 {
					t.Errorf("waiting positions: %d at place %d", su.Position, len(line)+1)
				}
				line = append(line, su.ResidentID)
			}
		}
		// Signing up again returns what is held.
		if su, err := e.vs.SignUp(e.ctx, actors[0], sh.ID); err != nil || !su.Replayed || su.Status != volunteer.Confirmed {
			t.Errorf("second sign-up: %+v %v", su, err)
		}
		// A cancellation promotes the first waiting, who is told.
		if err := e.vs.Cancel(e.ctx, actors[0], sh.ID); err != nil {
			t.Fatal(err)
		}
		got, _, _ = e.vs.Shift(e.ctx, e.qtAdmin, sh.ID)
		if got.Taken != 3 || got.Waiting != 8 {
			t.Fatalf("after a cancellation: taken %d waiting %d, want 3 and 8", got.Taken, got.Waiting)
		}
		for _, su := range got.Signups {
			if su.ResidentID == line[0] && su.Status != volunteer.Confirmed {
				t.Errorf("the first waiting was not promoted: %s", su.Status)
			}
			if su.ResidentID == line[1] && (su.Status != volunteer.Waiting || su.Position != 1) {
				t.Errorf("the second waiting is now %s at %d, want first in line", su.Status, su.Position)
			}
		}
		ms, unread, err := e.sys.Notify.Inbox(e.ctx, e.office(e.qtAdmin, line[0]), 10)
		if err != nil || unread != 1 || len(ms) != 1 {
			t.Errorf("the promoted volunteer has %d messages (%d unread): %v", len(ms), unread, err)
		}
		// Too late to cancel a place within the cut-off (an hour before the start, whatever the
		// time of day the test runs at); the waiting may still leave the line.
		e.later(sh.StartsAt.Sub(e.now()) - time.Hour)
		if err := e.vs.Cancel(e.ctx, actors[1], sh.ID); keyOf(err) != "volunteer.cancel_too_late" {
			t.Errorf("late cancellation: %v", keyOf(err))
		}
	})
}

func TestCompletionPaysOnceAndNobodyConfirmsTheirOwnHours(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p, sh := e.post("serve", 5)
		ids := e.residents(e.qt, 3)
		for _, id := range ids {
			if _, err := e.vs.SignUp(e.ctx, e.volunteerFor(id), sh.ID); err != nil {
				t.Fatal(err)
			}
		}
		// The leader signs up too (they live in the village).
		leaderSelf := e.qtAdmin.ResidentID
		if leaderSelf != 0 {
			if _, err := e.vs.Register(e.ctx, e.qtAdmin, volunteer.RegisterInput{Consent: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.vs.SignUp(e.ctx, e.qtAdmin, sh.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.vs.Complete(e.ctx, e.qtAdmin, sh.ID); keyOf(err) != "volunteer.shift_not_started" {
			t.Errorf("complete before the start: %v", keyOf(err))
		}
		e.later(sh.StartsAt.Sub(e.now()) + 5*time.Minute) // 09:05
		if _, err := e.vs.Checkin(e.ctx, e.qtAdmin, sh.ID, volunteer.CheckinInput{ResidentID: ids[0], Action: "in"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.vs.Checkin(e.ctx, e.qtAdmin, sh.ID, volunteer.CheckinInput{ResidentID: ids[0], Action: "out", At: "09:00"}); keyOf(err) != "at:volunteer.out_before_in" {
			t.Errorf("check-out before check-in: %v", keyOf(err))
		}
		if _, err := e.vs.Checkin(e.ctx, e.qtAdmin, sh.ID, volunteer.CheckinInput{ResidentID: ids[2], Action: "out"}); keyOf(err) != "at:volunteer.not_checked_in" {
			t.Errorf("check-out without check-in: %v", keyOf(err))
		}
		if leaderSelf != 0 {
			if _, err := e.vs.Checkin(e.ctx, e.qtAdmin, sh.ID, volunteer.CheckinInput{ResidentID: leaderSelf, Action: "in"}); keyOf(err) != "volunteer.own_hours" {
				t.Errorf("a leader checks themself in: %v", keyOf(err))
			}
		}
		// The second volunteer scans the site's QR; a forged code is refused; the leader confirms.
		a1 := e.office(e.qtAdmin, ids[1])
		if _, err := e.vs.Checkin(e.ctx, a1, sh.ID, volunteer.CheckinInput{Token: e.vs.ShiftToken(sh.ID) + "x"}); keyOf(err) != "token:volunteer.token_invalid" {
			t.Errorf("forged token: %v", keyOf(err))
		}
		if su, err := e.vs.Checkin(e.ctx, a1, sh.ID, volunteer.CheckinInput{Token: e.vs.ShiftToken(sh.ID)}); err != nil || su.ScannedInAt.IsZero() || !su.CheckedInAt.IsZero() {
			t.Fatalf("scan: %+v %v", su, err)
		}
		if _, err := e.vs.Checkin(e.ctx, e.qtAdmin, sh.ID, volunteer.CheckinInput{ResidentID: ids[1], Action: "confirm"}); err != nil {
			t.Fatal(err)
		}
		e.later(100 * time.Minute) // 10:45
		if su, err := e.vs.Checkin(e.ctx, e.qtAdmin, sh.ID, volunteer.CheckinInput{ResidentID: ids[0], Action: "out"}); err != nil || su.Minutes != 100 {
			t.Fatalf("check-out: %d minutes, %v", su.Minutes, err)
		}
		before, _ := e.sys.Bank.Account(e.ctx, e.townAdmin, ids[0])
		res, err := e.vs.Complete(e.ctx, e.qtAdmin, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		status := map[int64]volunteer.Signup{}
		for _, su := range res.Signups {
			status[su.ResidentID] = su
		}
		if s := status[ids[0]]; s.Status != volunteer.Attended || s.Minutes != 100 || s.TransactionID == 0 {
			t.Errorf("checked in and out: %+v", s)
		}
		if s := status[ids[1]]; s.Status != volunteer.Attended || s.Minutes != 100 || s.TransactionID == 0 || s.CheckedOutBy != e.qtAdmin.Name {
			t.Errorf("scanned in, never out: %+v", s)
		}
		if s := status[ids[2]]; s.Status != volunteer.NoShow || s.TransactionID != 0 {
			t.Errorf("never came: %+v", s)
		}
		if leaderSelf != 0 {
			if s := status[leaderSelf]; s.Status != volunteer.Confirmed || s.TransactionID != 0 {
				t.Errorf("the leader's own sign-up was confirmed by themself: %+v", s)
			}
		}
		// Confirmed twice, and once more by the town admin: paid once.
		for _, a := range []*auth.Actor{e.qtAdmin, e.townAdmin} {
			if _, err := e.vs.Complete(e.ctx, a, sh.ID); err != nil {
				t.Fatal(err)
			}
		}
		after, _ := e.sys.Bank.Account(e.ctx, e.townAdmin, ids[0])
		if after.Balance-before.Balance != 3 {
			t.Errorf("paid %d points, want 3 once", after.Balance-before.Balance)
		}
		var n int
		d.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM bank_transactions WHERE idem_key = $1`, fmt.Sprintf("volunteer:shift:%d:resident:%d", sh.ID, ids[0])).Scan(&n)
		if n != 1 {
			t.Errorf("%d transactions with the shift's key, want 1", n)
		}
		rec, err := e.vs.MyRecord(e.ctx, e.office(e.qtAdmin, ids[0]))
		if err != nil || rec.Minutes != 100 || rec.Shifts != 1 || rec.Served[0].PostTitle != p.Title || rec.Served[0].ConfirmedBy != e.qtAdmin.Name {
			t.Errorf("record: %+v %v", rec, err)
		}
		c, err := e.vs.IssueCertificate(e.ctx, e.office(e.qtAdmin, ids[0]))
		if err != nil || c.Minutes != 100 || c.Number == "" {
			t.Errorf("certificate: %+v %v", c, err)
		}
		if _, err := e.vs.IssueCertificate(e.ctx, e.office(e.qtAdmin, ids[2])); keyOf(err) != "volunteer.nothing_served" {
			t.Errorf("certificate with nothing served: %v", keyOf(err))
		}
		figs, err := e.vs.Figures(e.ctx, e.townAdmin, e.town.ID)
		if err != nil {
			t.Fatal(err)
		}
		total := figs[len(figs)-1]
		if total.Minutes != 200 || total.Shifts != 2 {
			t.Errorf("town figures: %+v", total)
		}
		if rep, err := e.sys.Bank.Verify(e.ctx); err != nil || !rep.OK() {
			t.Errorf("verify: %+v %v", rep.Problems, err)
		}
	})
}

func TestAnotherVillagesLeaderCannotTouchTheShift(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p, sh := e.post("serve", 2)
		id := e.residents(e.qt, 1)[0]
		if _, err := e.vs.SignUp(e.ctx, e.volunteerFor(id), sh.ID); err != nil {
			t.Fatal(err)
		}
		e.later(sh.StartsAt.Sub(e.now()) + time.Minute)
		a := e.dpAdmin
		checks := map[string]error{}
		_, checks["roster"] = func() (volunteer.Post, error) { p, _, err := e.vs.Roster(e.ctx, a, p.ID); return p, err }()
		_, checks["checkin"] = e.vs.Checkin(e.ctx, a, sh.ID, volunteer.CheckinInput{ResidentID: id, Action: "in"})
		_, checks["complete"] = e.vs.Complete(e.ctx, a, sh.ID)
		_, checks["message"] = e.vs.Message(e.ctx, a, sh.ID, "通知", "")
		_, checks["close"] = e.vs.ClosePost(e.ctx, a, p.ID, "")
		_, checks["shifts"] = e.vs.AddShifts(e.ctx, a, p.ID, []volunteer.ShiftInput{{Date: e.tomorrow(), Start: "14:00", End: "15:00", Capacity: 1}}, nil)
		_, checks["post"] = e.vs.CreatePost(e.ctx, a, volunteer.PostInput{TeamID: e.qtTeams[0].ID, Title: "x", Place: "y", RuleCode: "serve",
			Shifts: []volunteer.ShiftInput{{Date: e.tomorrow(), Start: "14:00", End: "15:00", Capacity: 1}}})
		for what, err := range checks {
			if !errs.Is(err, errs.NotFound) {
				t.Errorf("东堡村's admin, %s on 前疃村's shift: %v, want not found", what, err)
			}
		}
		got, _, _ := e.vs.Shift(e.ctx, e.qtAdmin, sh.ID)
		if !got.CompletedAt.IsZero() || !got.Signups[0].CheckedInAt.IsZero() {
			t.Errorf("a refused request changed the shift: %+v", got)
		}
	})
}

func TestBadPostsAndShifts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		yesterday := e.town.Today(e.now()).AddDate(0, 0, -1).Format("2006-01-02")
		base := func(sh ...volunteer.ShiftInput) volunteer.PostInput {
			return volunteer.PostInput{TeamID: e.qtTeams[2].ID, Title: "夜间巡逻", Place: "村口", RuleCode: "serve", Shifts: sh}
		}
		cases := []struct {
			name string
			in   volunteer.PostInput
			want string
		}{
			{"EndBeforeStart", base(volunteer.ShiftInput{Date: e.tomorrow(), Start: "20:00", End: "19:00", Capacity: 3}), "shifts[0].end:volunteer.end_before_start"},
			{"InThePast", base(volunteer.ShiftInput{Date: yesterday, Start: "20:00", End: "22:00", Capacity: 3}), "shifts[0].date:volunteer.shift_in_past"},
			{"CapacityZero", base(volunteer.ShiftInput{Date: e.tomorrow(), Start: "20:00", End: "22:00", Capacity: 0}), "shifts[0].capacity:volunteer.capacity_invalid"},
			{"CapacityNegative", base(volunteer.ShiftInput{Date: e.tomorrow(), Start: "20:00", End: "22:00", Capacity: -2}), "shifts[0].capacity:volunteer.capacity_invalid"},
			{"BadTime", base(volunteer.ShiftInput{Date: e.tomorrow(), Start: "25:00", End: "22:00", Capacity: 1}), "shifts[0].start:volunteer.time_invalid"},
			{"BadDate", base(volunteer.ShiftInput{Date: "2026-02-30", Start: "20:00", End: "22:00", Capacity: 1}), "shifts[0].date:volunteer.date_invalid"},
			{"NoShifts", base(), "shifts:volunteer.shifts_required"},
			{"UnknownRule", volunteer.PostInput{TeamID: e.qtTeams[2].ID, Title: "x", Place: "y", RuleCode: "nope", Shifts: []volunteer.ShiftInput{{Date: e.tomorrow(), Start: "20:00", End: "22:00", Capacity: 1}}}, "rule_code:bank.rule_unknown"},
			{"NoTitle", volunteer.PostInput{TeamID: e.qtTeams[2].ID, Place: "y", RuleCode: "serve", Shifts: []volunteer.ShiftInput{{Date: e.tomorrow(), Start: "20:00", End: "22:00", Capacity: 1}}}, "title:field.required"},
			{"RepeatBadWeekday", volunteer.PostInput{TeamID: e.qtTeams[2].ID, Title: "x", Place: "y", RuleCode: "serve", Repeat: &volunteer.Repeat{Weekdays: []int{8}, Start: "09:00", End: "10:00", From: e.tomorrow(), Until: e.tomorrow(), Capacity: 1}}, "repeat.weekdays:volunteer.weekdays_invalid"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if _, err := e.vs.CreatePost(e.ctx, e.qtAdmin, c.in); keyOf(err) != c.want {
					t.Errorf("got %q, want %q", keyOf(err), c.want)
				}
			})
		}
		var n int
		d.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM volunteer_posts`).Scan(&n)
		if n != 0 {
			t.Errorf("%d posts stored by refused requests", n)
		}
		// A weekly post generates its shifts: every Tuesday and Thursday for four weeks.
		from := e.town.Today(e.now()).AddDate(0, 0, 1)
		p, err := e.vs.CreatePost(e.ctx, e.qtAdmin, volunteer.PostInput{TeamID: e.qtTeams[0].ID, Title: "每周理发", Place: "村委会", RuleCode: "serve",
			Repeat: &volunteer.Repeat{Weekdays: []int{2, 4}, Start: "09:00", End: "11:00", From: from.Format("2006-01-02"), Until: from.AddDate(0, 0, 27).Format("2006-01-02"), Capacity: 4}})
		if err != nil {
			t.Fatal(err)
		}
		_, shifts, _ := e.vs.Roster(e.ctx, e.qtAdmin, p.ID)
		if len(shifts) != 8 || p.Recurrence != "weekly:2,4 09:00-11:00" {
			t.Errorf("weekly post: %d shifts, recurrence %q", len(shifts), p.Recurrence)
		}
		for _, sh := range shifts {
			if wd := sh.StartsAt.In(e.town.Location()).Weekday(); wd != time.Tuesday && wd != time.Thursday {
				t.Errorf("shift on %s", wd)
			}
		}
		if _, err := e.vs.ClosePost(e.ctx, e.qtAdmin, p.ID, ""); err != nil {
			t.Fatal(err)
		}
		id := e.residents(e.qt, 1)[0]
		if _, err := e.vs.SignUp(e.ctx, e.volunteerFor(id), shifts[0].ID); keyOf(err) != "volunteer.post_closed" {
			t.Errorf("sign-up on a closed post: %v", keyOf(err))
		}
		if _, err := e.vs.SignUp(e.ctx, e.office(e.dpAdmin, e.residents(e.dp, 1)[0]), shifts[0].ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("another village's resident signs up for a village post: %v", err)
		}
	})
}

func TestNeedsFromTheDoorToTheRating(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ids := e.residents(e.qt, 2)
		served, vol := ids[0], ids[1]
		volA := e.volunteerFor(vol)
		if _, err := e.vs.CreateNeed(e.ctx, e.qtAdmin, volunteer.NeedInput{VillageID: e.qt.ID, Category: "haircut", Description: "", ForResidentID: served}); keyOf(err) != "description:field.required" {
			t.Errorf("no description: %v", keyOf(err))
		}
		if _, err := e.vs.CreateNeed(e.ctx, e.dpAdmin, volunteer.NeedInput{VillageID: e.qt.ID, Category: "haircut", Description: "理发"}); !errs.Is(err, errs.NotFound) {
			t.Errorf("another village's admin records a need here: %v", err)
		}
		n, err := e.vs.CreateNeed(e.ctx, e.qtAdmin, volunteer.NeedInput{VillageID: e.qt.ID, Category: "haircut", Description: "腿脚不便，需上门理发", ForResidentID: served, Urgency: "high"})
		if err != nil || n.Status != volunteer.NeedOpen || n.Source != "visit" {
			t.Fatalf("need: %+v %v", n, err)
		}
		sg, err := e.vs.Suggest(e.ctx, e.qtAdmin, n.ID)
		if err != nil || sg[0].Team.Kind != volunteer.Livelihood || !sg[0].KindFit || sg[0].Skilled != 1 {
			t.Fatalf("suggestions: %+v %v", sg, err)
		}
		step := func(a *auth.Actor, in volunteer.NeedAction, want string) volunteer.Need {
			t.Helper()
			got, err := e.vs.Act(e.ctx, a, n.ID, in)
			if keyOf(err) != want {
				t.Fatalf("%s: got %q, want %q", in.Action, keyOf(err), want)
			}
			return got
		}
		step(e.dpAdmin, volunteer.NeedAction{Action: "assign", TeamID: e.qtTeams[0].ID}, "error.not_found")
		step(e.qtAdmin, volunteer.NeedAction{Action: "assign", TeamID: e.qtTeams[0].ID}, "")
		step(volA, volunteer.NeedAction{Action: "take"}, "")
		step(volA, volunteer.NeedAction{Action: "send_back"}, "reason:volunteer.reason_required")
		step(volA, volunteer.NeedAction{Action: "send_back", Reason: "这周不在村里"}, "")
		step(volA, volunteer.NeedAction{Action: "take"}, "")
		step(e.office(e.qtAdmin, served), volunteer.NeedAction{Action: "rate", Rating: 5}, "volunteer.need_wrong_state")
		step(volA, volunteer.NeedAction{Action: "done"}, "")
		step(volA, volunteer.NeedAction{Action: "rate", Rating: 5}, "volunteer.own_hours")
		step(e.office(e.qtAdmin, served), volunteer.NeedAction{Action: "rate", Rating: 6}, "rating:volunteer.rating_invalid")
		step(e.office(e.qtAdmin, served), volunteer.NeedAction{Action: "rate", Rating: 0}, "rating:volunteer.rating_invalid")
		got := step(e.office(e.qtAdmin, served), volunteer.NeedAction{Action: "rate", Rating: 5, Comment: "理得很好"}, "")
		if got.Status != volunteer.NeedRated || got.Rating != 5 || len(got.Events) != 7 {
			t.Errorf("rated need: %+v", got)
		}
		// Refusing needs a reason; a refused need is closed.
		n2, _ := e.vs.CreateNeed(e.ctx, e.office(e.qtAdmin, served), volunteer.NeedInput{Category: "other", Description: "想要一台电视"})
		if n2.Source != "visit" || n2.ForResidentID != served {
			t.Errorf("need filed at the office: %+v", n2)
		}
		if _, err := e.vs.Act(e.ctx, e.qtAdmin, n2.ID, volunteer.NeedAction{Action: "refuse"}); keyOf(err) != "reason:volunteer.reason_required" {
			t.Errorf("refuse without reason: %v", keyOf(err))
		}
		if r, err := e.vs.Act(e.ctx, e.qtAdmin, n2.ID, volunteer.NeedAction{Action: "refuse", Reason: "不属于志愿服务范围"}); err != nil || r.Status != volunteer.NeedRefused {
			t.Errorf("refuse: %+v %v", r, err)
		}
		figs, _ := e.vs.Figures(e.ctx, e.townAdmin, e.town.ID)
		if total := figs[len(figs)-1]; total.NeedsOpened != 2 || total.NeedsClosed != 1 || total.MedianDaysToClose < 0 {
			t.Errorf("figures: %+v", total)
		}
	})
}
