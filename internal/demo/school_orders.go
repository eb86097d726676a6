package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/school"
)

// schoolOrders gives the demo town a few months of lesson orders at every status, made through the
// school's service as the people concerned would, each logged in (前疃村's and 东堡村's admins
// order, the town's party-building office assigns, 李文博 answers), with the service's clock set to
// the days they happened, as the bank's demo step does: two lessons taught or to come, an
// assignment waiting for the expert and one he let pass its deadline, an order the town let pass
// its deadline and a fresh one, one declined and then cancelled by the branch, one cancelled by the
// town.
func schoolOrders(ctx context.Context, d *db.DB, s *school.Service, info Info) error {
	var sessions []*demoSession
	defer func() {
		for _, sess := range sessions {
			sess.Close(ctx) // the demo's sessions end with it; a session left over harms nobody
		}
	}()
	login := func(phone string) (*auth.Actor, error) {
		sess, err := demoLogin(ctx, d, phone)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		sessions = append(sessions, sess)
		return sess.Actor, nil
	}
	var qt, dp, office, expert *auth.Actor
	var err error
	for _, p := range []struct {
		a     **auth.Actor
		phone string
	}{{&qt, PhoneVillageAdmin}, {&dp, PhoneVillageAdmin2}, {&office, PhoneSchoolAdmin}, {&expert, PhoneExpert}} {
		if *p.a, err = login(p.phone); err != nil {
			return err
		}
	}
	courses, err := s.Courses(ctx, office, school.CourseFilter{TownID: info.TownID, Status: string(school.Offered)})
	if err != nil {
		return err
	}
	byTitle := map[string]school.Course{}
	for _, c := range courses {
		byTitle[c.Title] = c
	}
	loc, err := s.People.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var now time.Time
	saved := s.Now
	defer func() { s.Now = saved }()
	s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now.UTC().Truncate(time.Microsecond) }
	today := clock.In(loc, saved).Today()
	// at is 10:00 in the town, days after today (before it when negative).
	at := func(days int) time.Time {
		t := time.Date(today.Year(), today.Month(), today.Day()+days, 10, 0, 0, 0, loc)
		mu.Lock()
		now = t
		mu.Unlock()
		return t
	}
	// next is the first such weekday after t's day: 李文博 teaches on Thursdays.
	next := func(t time.Time, wd time.Weekday) string {
		for t = t.AddDate(0, 0, 1); t.Weekday() != wd; t = t.AddDate(0, 0, 1) {
		}
		return clock.Day(t)
	}
	type step struct {
		days   int // when, after today
		by     *auth.Actor
		action school.OrderAction
	}
	plan := []struct {
		days   int
		branch *auth.Actor
		course string
		mode   string
		steps  []step
	}{
		// Taught three months ago, and one to come.
		{-92, qt, "乡村振兴政策解读", "offline", []step{{-91, office, school.OrderAction{Action: "assign", Start: "09:00"}}, {-90, expert, school.OrderAction{Action: "accept"}}}},
		{-5, qt, "村规民约的修订与执行", "offline", []step{{-4, office, school.OrderAction{Action: "assign", Start: "14:00"}}, {-3, expert, school.OrderAction{Action: "accept"}}}},
		// Waiting for 李文博's answer: one in time, one past its two working days.
		{-1, dp, "村民议事会的组织与主持", "offline", []step{{0, office, school.OrderAction{Action: "assign", Start: "09:00"}}}},
		{-12, dp, "基层减负与议事协调机制", "online", []step{{-11, office, school.OrderAction{Action: "assign", Start: "09:30"}}}},
		// Waiting for the town: one past its three working days, one fresh.
		{-9, dp, "从接诉即办到未诉先办", "offline", nil},
		{0, qt, "学习党的二十大精神", "offline", nil},
		// Declined by 李文博, then cancelled by the branch; cancelled by the town.
		{-30, qt, "乡村振兴政策解读", "offline", []step{{-29, office, school.OrderAction{Action: "assign", Start: "09:00"}},
			{-28, expert, school.OrderAction{Action: "decline", Reason: "那天要去区里开会，实在抽不开身"}},
			{-27, qt, school.OrderAction{Action: "cancel", Reason: "支部书记结合村里情况自己先讲一次"}}}},
		{-45, dp, "垃圾分类积分激励实务", "offline", []step{{-44, office, school.OrderAction{Action: "cancel", Reason: "专家临时出差，请支部改期另约"}}}},
	}
	for _, p := range plan {
		c, ok := byTitle[p.course]
		if !ok {
			return fmt.Errorf("demo: no offered course %s", p.course)
		}
		day := at(p.days)
		place := ""
		if p.mode == "offline" {
			place = "村委会二楼会议室"
		}
		first := next(day, time.Thursday)
		second := next(day.AddDate(0, 0, 7), time.Thursday) // assigned: still to come on the day after the order
		o, err := s.PlaceOrder(ctx, p.branch, school.OrderInput{CourseID: c.ID, Dates: []string{first, second}, Mode: p.mode, Place: place, Others: 6,
			Note: "请结合村里的实际多讲案例"})
		if err != nil {
			return fmt.Errorf("demo: order %s: %w", p.course, err)
		}
		for _, st := range p.steps {
			at(st.days)
			in := st.action
			if in.Action == "assign" {
				in.ExpertID, in.Date = teacher(c), second
			}
			if in.Action == "accept" && p.mode == "online" {
				in.Link = "https://meeting.example.cn/j/lucheng"
			}
			if _, err := s.Act(ctx, st.by, o.ID, in); err != nil {
				return fmt.Errorf("demo: %s %s: %w", in.Action, p.course, err)
			}
		}
	}
	return nil
}

// teacher is the expert the demo assigns a course to: 李文博 when he teaches it, else its first.
func teacher(c school.Course) int64 {
	for _, t := range c.Experts {
		if t.Name == ExpertName {
			return t.ID
		}
	}
	return c.Experts[0].ID
}
