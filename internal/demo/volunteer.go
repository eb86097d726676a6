package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// demoNeeds are needs found at the door in the demo villages, each left at a different step.
var demoNeeds = []struct {
	category, description, urgency, upTo string
}{
	{"haircut", "老人腿脚不便，想请人上门理发", "normal", volunteer.NeedRated},
	{"repair", "院里电灯不亮，需要电工看看", "high", volunteer.NeedDone},
	{"daily_care", "独居老人想每周有人来陪着说说话", "normal", volunteer.NeedTaken},
	{"policy", "想了解新农合报销怎么办", "low", volunteer.NeedAssigned},
	{"dispute", "与邻居因宅基地边界有争执", "high", volunteer.NeedOpen},
	{"other", "希望村里给家门口修条路", "low", volunteer.NeedRefused},
}

// Volunteer gives the demo town's villages volunteers, team leaders, weekly posts with six weeks
// of served shifts in the seven villages the article names (paid through the bank), shifts to come with sign-ups, and needs at every step.
// It runs after Bank, whose rule sets have the "volunteer" rule, and does nothing when the town
// already has volunteers.
func Volunteer(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM volunteers WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
		return err
	}
	now := time.Now().UTC()
	var demoNow struct {
		sync.Mutex
		t time.Time
	}
	at := func() time.Time { demoNow.Lock(); defer demoNow.Unlock(); return demoNow.t.Truncate(time.Microsecond) }
	set := func(t time.Time) { demoNow.Lock(); demoNow.t = t.UTC(); demoNow.Unlock() }
	bs := bank.NewService(d, ps)
	bs.Now = at
	// A service of its own on the demo's clock; the server's registers the village hook.
	// The residents' inboxes get 微志愿's outcomes in its own words, as the server writes them.
	cat, err := web.LoadCatalog(volunteer.Messages)
	if err != nil {
		return err
	}
	vs := volunteer.New(d, ps, bs, &notify.Service{DB: d, Now: at, T: func(key string, args ...any) string { return cat.T(web.DefaultLang, key, args...) }})
	vs.Now = at
	town, err := ps.Town(ctx, info.TownID)
	if err != nil {
		return err
	}
	loc := town.Location()
	today := clock.In(loc, func() time.Time { return now }).Today()
	start := today.AddDate(0, 0, -42)
	set(start.Add(8 * time.Hour))
	rng := rand.New(rand.NewPCG(uint64(seed), 0x766f6c))
	staff := auth.System("村志愿服务队长")
	office := func(id int64) *auth.Actor {
		a := *staff
		a.ActingFor = &auth.Person{ID: id}
		return &a
	}

	type village struct {
		id    int64
		name  string
		teams []volunteer.Team
		vols  []int64 // resident ids
	}
	var villages []*village
	rows, err := d.Read().QueryContext(ctx, `SELECT id, name FROM villages WHERE town_id = $1 ORDER BY id`, info.TownID)
	if err := scanAll(rows, err, func() error {
		v := &village{}
		villages = append(villages, v)
		return rows.Scan(&v.id, &v.name)
	}); err != nil {
		return err
	}
	var demoResident int64
	if err := d.Read().QueryRowContext(ctx, `SELECT resident_id FROM accounts WHERE phone = $1`, PhoneResident).Scan(&demoResident); err != nil && !db.IsNoRows(err) {
		return err
	}

	// Volunteers: about one adult in eight, and the demo resident; skills and one or two teams each.
	adult := clock.Day(today.AddDate(-18, 0, 0))
	for _, v := range villages {
		if v.teams, err = vs.Teams(ctx, staff, v.id); err != nil {
			return err
		}
		rs, err := d.Read().QueryContext(ctx, `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' AND birth_date < $2 ORDER BY id`, v.id, adult)
		var ids []int64
		if err := scanAll(rs, err, func() error {
			var id int64
			if err := rs.Scan(&id); err != nil {
				return err
			}
			if id == demoResident || rng.IntN(8) == 0 {
				ids = append(ids, id)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, id := range ids {
			skills := []string{volunteer.Skills[rng.IntN(len(volunteer.Skills))]}
			teams := []int64{v.teams[0].ID, v.teams[rng.IntN(len(v.teams))].ID}
			if id == demoResident {
				skills = []string{"haircut", "care"}
			}
			if _, err := vs.Register(ctx, office(id), volunteer.RegisterInput{Consent: true, Skills: skills, Teams: slices.Compact(teams), Availability: "周二上午、周末"}); err != nil {
				return fmt.Errorf("demo: volunteer %d: %w", id, err)
			}
			v.vols = append(v.vols, id)
		}
	}
	// Village admins lead their village's six teams.
	type lead struct{ account, village int64 }
	var leads []lead
	lr, err := d.Read().QueryContext(ctx, `SELECT account_id, village_id FROM account_roles WHERE role = 'village_admin' AND town_id = $1`, info.TownID)
	if err := scanAll(lr, err, func() error {
		leads = append(leads, lead{})
		return lr.Scan(&leads[len(leads)-1].account, &leads[len(leads)-1].village)
	}); err != nil {
		return err
	}
	for _, l := range leads {
		for _, v := range villages {
			if v.id != l.village {
				continue
			}
			for _, t := range v.teams {
				if err := vs.SetLeader(ctx, staff, t.ID, l.account, true); err != nil {
					return fmt.Errorf("demo: leader: %w", err)
				}
			}
		}
	}

	// Posts: in the seven villages the article names, a weekly haircut for the elderly and a night
	// patrol; in every village a clean-up every other Saturday, the first open to the whole town.
	from, until := clock.Day(start.AddDate(0, 0, 1)), clock.Day(today.AddDate(0, 0, 28))
	for i, v := range villages {
		var posts []volunteer.PostInput
		if i < 7 {
			posts = append(posts,
				volunteer.PostInput{TeamID: v.teams[0].ID, Title: "为高龄老人义务理发", Place: v.name + "党群服务站", Skills: []string{"haircut"}, RuleCode: "volunteer",
					Description: "每周二上午为村里八十岁以上老人理发，行动不便的上门服务。", Repeat: &volunteer.Repeat{Weekdays: []int{2}, Start: "09:00", End: "11:00", From: from, Until: until, Capacity: 3}},
				volunteer.PostInput{TeamID: v.teams[2].ID, Title: "夜间治安巡逻", Place: v.name + "村委会门口集合", RuleCode: "volunteer",
					Description: "两人一组，沿村内主要道路巡逻，留意独居老人家中灯火。", Repeat: &volunteer.Repeat{Weekdays: []int{5}, Start: "19:00", End: "21:00", From: from, Until: until, Capacity: 4}})
		}
		openTo := "village"
		if i == 0 {
			openTo = "town"
		}
		posts = append(posts, volunteer.PostInput{TeamID: v.teams[3].ID, Title: "人居环境整治", Place: v.name + "主街", RuleCode: "volunteer", OpenTo: openTo,
			Description: "清理街巷垃圾、整理柴草堆，门前三包。", Repeat: &volunteer.Repeat{Weekdays: []int{6}, Start: "08:00", End: "10:00", From: from, Until: until, Capacity: 8}})
		for _, in := range posts {
			if _, err := vs.CreatePost(ctx, staff, in); err != nil {
				return fmt.Errorf("demo: post %s: %w", in.Title, err)
			}
		}
	}
	byVillage := map[int64]*village{}
	for _, v := range villages {
		byVillage[v.id] = v
	}
	type shift struct {
		id, village int64
		start, end  time.Time
		capacity    int
	}
	var shifts []shift
	sr, err := d.Read().QueryContext(ctx, `SELECT id, village_id, starts_at, ends_at, capacity FROM volunteer_shifts WHERE town_id = $1 ORDER BY starts_at, id`, info.TownID)
	if err := scanAll(sr, err, func() error {
		shifts = append(shifts, shift{})
		s := &shifts[len(shifts)-1]
		return sr.Scan(&s.id, &s.village, &s.start, &s.end, &s.capacity)
	}); err != nil {
		return err
	}
	// Every other Saturday's clean-up is dropped, so not every village is out every week.
	named := map[int64]bool{}
	for _, v := range villages[:min(7, len(villages))] {
		named[v.id] = true
	}
	for _, s := range shifts {
		v := byVillage[s.village]
		if len(v.vols) == 0 || (s.start.In(loc).Weekday() == time.Saturday && s.start.YearDay()%14 < 7) {
			continue
		}
		past := s.end.Before(now.Add(-time.Hour))
		if past && !named[s.village] {
			continue
		}
		if !past && s.start.After(now.AddDate(0, 0, 14)) {
			continue
		}
		set(s.start.AddDate(0, 0, -2))
		if !past {
			set(now)
		}
		want := 1 + rng.IntN(s.capacity+1)
		var signed []int64
		for _, k := range rng.Perm(len(v.vols))[:min(want, len(v.vols))] {
			id := v.vols[k]
			if _, err := vs.SignUp(ctx, office(id), s.id); err == nil {
				signed = append(signed, id)
			}
		}
		if !past {
			continue
		}
		set(s.start.Add(time.Duration(rng.IntN(10)) * time.Minute))
		var in []int64
		for _, id := range signed {
			if rng.IntN(10) < 9 {
				if _, err := vs.Checkin(ctx, staff, s.id, volunteer.CheckinInput{ResidentID: id, Action: "in"}); err == nil {
					in = append(in, id)
				}
			}
		}
		set(s.end.Add(-time.Duration(rng.IntN(15)) * time.Minute))
		for _, id := range in {
			vs.Checkin(ctx, staff, s.id, volunteer.CheckinInput{ResidentID: id, Action: "out"})
		}
		set(s.end.Add(30 * time.Minute))
		if _, err := vs.Complete(ctx, staff, s.id); err != nil {
			return fmt.Errorf("demo: complete shift %d: %w", s.id, err)
		}
	}

	// Needs at every step, recorded on visits over the last weeks.
	for i, v := range villages {
		if i >= 7 || len(v.vols) == 0 {
			break
		}
		for j, nd := range demoNeeds {
			set(now.Add(-time.Duration(5+j*3+i) * 24 * time.Hour))
			forID := v.vols[(j+1)%len(v.vols)]
			need, err := vs.CreateNeed(ctx, staff, volunteer.NeedInput{VillageID: v.id, Category: nd.category, Description: nd.description, ForResidentID: forID, Urgency: nd.urgency})
			if err != nil {
				return fmt.Errorf("demo: need: %w", err)
			}
			if nd.upTo == volunteer.NeedOpen {
				continue
			}
			steps := []volunteer.NeedAction{{Action: "assign", TeamID: suggestTeam(ctx, vs, staff, need.ID)}}
			if nd.upTo == volunteer.NeedRefused {
				steps = []volunteer.NeedAction{{Action: "refuse", Reason: "不属于志愿服务范围，已转村委会研究"}}
			}
			doer, err := memberOf(ctx, d, steps[0].TeamID, forID)
			if err != nil {
				return err
			}
			if doer != 0 {
				steps = append(steps, volunteer.NeedAction{Action: "take", VolunteerID: doer}, volunteer.NeedAction{Action: "done"}, volunteer.NeedAction{Action: "rate", Rating: 4 + rng.IntN(2), Comment: "服务周到"})
			}
			for _, st := range steps {
				if volunteer.NeedStatusAfter(st.Action) == "" {
					continue
				}
				demoNow.Lock()
				demoNow.t = demoNow.t.Add(time.Duration(3+rng.IntN(10)) * time.Hour)
				demoNow.Unlock()
				if _, err := vs.Act(ctx, staff, need.ID, st); err != nil {
					return fmt.Errorf("demo: need %s: %w", st.Action, err)
				}
				if volunteer.NeedStatusAfter(st.Action) == nd.upTo {
					break
				}
			}
		}
	}
	return nil
}

// suggestTeam is the team the pillar suggests first for a need.
func suggestTeam(ctx context.Context, vs *volunteer.Service, a *auth.Actor, needID int64) int64 {
	sg, err := vs.Suggest(ctx, a, needID)
	if err != nil || len(sg) == 0 {
		return 0
	}
	return sg[0].Team.ID
}

// memberOf is a volunteer of a team other than the person served, 0 when there is none.
func memberOf(ctx context.Context, d *db.DB, teamID, notResident int64) (int64, error) {
	var id int64
	err := d.Read().QueryRowContext(ctx, `SELECT v.id FROM volunteer_members m JOIN volunteers v ON v.id = m.volunteer_id WHERE m.team_id = $1 AND v.resident_id <> $2 ORDER BY v.id LIMIT 1`,
		teamID, notResident).Scan(&id)
	if db.IsNoRows(err) {
		return 0, nil
	}
	return id, err
}

// scanAll reads every row of a query's answer with scan, which scans rows' current row, and
// closes them; the query's own error comes first.
func scanAll(rows *sql.Rows, err error, scan func() error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(); err != nil {
			return err
		}
	}
	return rows.Err()
}
