package main

import (
	"siwei/internal/consult"

	"context"
	"fmt"
	"time"

	"siwei/internal/school"
)

// pillars loads a year of every pillar's history per town, in proportion to its residents (the
// counts are a town of 10,000's): 微志愿's volunteers, weekly shifts and sign-ups; 微党校's lessons
// and the party members' attendance months; 微协商's meetings, topics and referrals (with their
// flow steps); 微联盟's units and activities; disputes; and the 名录墙.
func (l *districtLoader) pillars(ctx context.Context) error {
	towns := l.o.Towns
	perTown := float64(len(l.residents)) / float64(towns)
	scaled := func(n float64) int { return max(1, int(n*perTown/10_000+0.5)) }
	yearAgo := l.now.AddDate(-1, 0, 0)
	// when is the time of the k-th of n events spread over the last year, at a day's hour.
	when := func(stream, k uint64) time.Time {
		return yearAgo.Add(time.Duration(l.pick(stream, k, 365*24)) * time.Hour).UTC().Truncate(time.Second)
	}

	// 微志愿: 8% of residents volunteer, in their village.
	volunteerOf := map[int32][]int64{}       // village → residents who volunteer
	volID := make([]int64, len(l.residents)) // volunteer id of resident id - 1 (0: none)
	err := l.load(ctx, "volunteers", []string{"id", "town_id", "village_id", "resident_id", "number", "consent_at", "created_at"}, func(yield func([]any) bool) {
		var id int64
		for i, r := range l.residents {
			if l.pick(20, uint64(i), 100) >= 8 {
				continue
			}
			id++
			volID[i] = id
			volunteerOf[r.village] = append(volunteerOf[r.village], int64(i+1))
			at := when(21, uint64(i)).AddDate(-1, 0, 0)
			if !yield([]any{id, int64(r.town), int64(r.village), int64(i + 1), fmt.Sprintf("VOL%08d", id), at, at}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	err = l.load(ctx, "volunteer_teams", []string{"id", "town_id", "village_id", "kind", "created_at"}, func(yield func([]any) bool) {
		for v, t := range l.villages {
			for k, kind := range []string{"livelihood", "policy", "patrol", "environment", "mediation", "culture"} {
				if !yield([]any{int64(v*6 + k + 1), t, int64(v + 1), kind, yearAgo}) {
					return
				}
			}
		}
	})
	if err != nil {
		return err
	}
	posts := scaled(2)
	err = l.load(ctx, "volunteer_posts", []string{"id", "town_id", "village_id", "team_id", "title", "place", "open_to", "rule_code", "created_at"}, func(yield func([]any) bool) {
		for v, t := range l.villages {
			for p := 0; p < posts; p++ {
				if !yield([]any{int64(v*posts + p + 1), t, int64(v + 1), int64(v*6 + p%6 + 1), fmt.Sprintf("岗位%d", p+1), "村委会", "village", "volunteer", yearAgo}) {
					return
				}
			}
		}
	})
	if err != nil {
		return err
	}
	// A shift a week per post for the year, four places, each taken; the sign-ups attended.
	type shift struct {
		id, village int64
		at          time.Time
	}
	var shifts []shift
	err = l.load(ctx, "volunteer_shifts", []string{"id", "post_id", "town_id", "village_id", "day", "starts_at", "ends_at", "capacity", "taken",
		"completed_at", "created_at"}, func(yield func([]any) bool) {
		for v, t := range l.villages {
			for p := 0; p < posts; p++ {
				for w := 0; w < 52; w++ {
					at := yearAgo.AddDate(0, 0, 7*w+p%7).Truncate(24 * time.Hour).Add(time.Duration(1+p%8) * time.Hour).UTC()
					s := shift{int64(len(shifts) + 1), int64(v + 1), at}
					taken := min(4, len(volunteerOf[int32(v+1)]))
					shifts = append(shifts, s)
					var done any
					if at.Before(l.now) {
						done = at.Add(2 * time.Hour)
					}
					if !yield([]any{s.id, int64(v*posts + p + 1), t, s.village, at.In(l.loc).Format(time.DateOnly), at, at.Add(2 * time.Hour), int64(4), int64(taken), done, yearAgo}) {
						return
					}
				}
			}
		}
	})
	if err != nil {
		return err
	}
	err = l.load(ctx, "volunteer_signups", []string{"shift_id", "volunteer_id", "resident_id", "status", "queued_at", "minutes", "created_at", "updated_at"},
		func(yield func([]any) bool) {
			for _, s := range shifts {
				vs := volunteerOf[int32(s.village)]
				seen := map[int64]bool{}
				for k := 0; k < min(4, len(vs)); k++ {
					rid := vs[l.pick(22, uint64(s.id)<<3|uint64(k), len(vs))]
					if seen[rid] {
						continue
					}
					seen[rid] = true
					status, minutes := "confirmed", int64(0)
					if s.at.Before(l.now) {
						status, minutes = "attended", 120
					}
					if !yield([]any{s.id, volID[rid-1], rid, status, s.at.AddDate(0, 0, -3), minutes, s.at.AddDate(0, 0, -3), s.at}) {
						return
					}
				}
			}
		})
	if err != nil {
		return err
	}

	// 微党校: five experts and five courses a town, a lesson a month per village, and the party
	// members' attendance in about half the months.
	var category int64
	if err := l.conn.QueryRow(ctx, `SELECT MIN(id) FROM school_categories`).Scan(&category); err != nil {
		return fmt.Errorf("bench district: school categories: %w", err)
	}
	err = l.load(ctx, "school_experts", []string{"id", "town_id", "name", "affiliation", "created_at", "updated_at"}, func(yield func([]any) bool) {
		for i := 0; i < towns*5; i++ {
			if !yield([]any{int64(i + 1), int64(i/5 + 1), fmt.Sprintf("专家%d", i+1), "区委党校", yearAgo, yearAgo}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	err = l.load(ctx, "school_courses", []string{"id", "town_id", "category_id", "title", "minutes", "format", "status", "created_at", "updated_at"},
		func(yield func([]any) bool) {
			for i := 0; i < towns*5; i++ {
				if !yield([]any{int64(i + 1), int64(i/5 + 1), category, fmt.Sprintf("课程%d", i%5+1), int64(60), "both", "offered", yearAgo, yearAgo}) {
					return
				}
			}
		})
	if err != nil {
		return err
	}
	lessonAt := func(v, m int) time.Time {
		return yearAgo.AddDate(0, m, 3+v%20).Truncate(24 * time.Hour).Add(6 * time.Hour).UTC()
	}
	lessonRow := func(v, m int) (id, town, course, expert int64, at time.Time) {
		town = l.villages[v]
		k := int64(v%districtVillages+m) % 5
		return int64(v*12 + m + 1), town, (town-1)*5 + k + 1, (town-1)*5 + k + 1, lessonAt(v, m)
	}
	err = l.load(ctx, "school_orders", []string{"id", "town_id", "village_id", "course_id", "status", "dates", "mode", "members", "ordered_by", "expert_id",
		"starts_at", "ends_at", "created_at", "updated_at"}, func(yield func([]any) bool) {
		for v := range l.villages {
			for m := 0; m < 12; m++ {
				id, town, course, expert, at := lessonRow(v, m)
				if !yield([]any{id, town, int64(v + 1), course, "rated", at.In(l.loc).Format(time.DateOnly), "offline", int64(20), l.staff[town-1], expert,
					at, at.Add(time.Hour), at.AddDate(0, 0, -14), at}) {
					return
				}
			}
		}
	})
	if err != nil {
		return err
	}
	err = l.load(ctx, "school_lessons", []string{"id", "order_id", "town_id", "village_id", "course_id", "expert_id", "starts_at", "ends_at", "mode",
		"place", "created_at"}, func(yield func([]any) bool) {
		for v := range l.villages {
			for m := 0; m < 12; m++ {
				id, town, course, expert, at := lessonRow(v, m)
				if !yield([]any{id, id, town, int64(v + 1), course, expert, at, at.Add(time.Hour), "offline", "党群服务中心", at.AddDate(0, 0, -7)}) {
					return
				}
			}
		}
	})
	if err != nil {
		return err
	}
	err = l.load(ctx, "attend_months", []string{"kind", "town_id", "month", "party", "village_id", "resident_id", "events"}, func(yield func([]any) bool) {
		for i, r := range l.residents {
			if !r.party {
				continue
			}
			for m := 0; m < 12; m++ {
				at := lessonAt(int(r.village-1), m)
				if at.After(l.now) || l.pick(23, uint64(i)<<4|uint64(m), 2) == 0 {
					continue
				}
				if !yield([]any{school.LessonKind, int64(r.town), at.In(l.loc).Format("2006-01"), true, int64(r.village), int64(i + 1), int64(1)}) {
					return
				}
			}
		}
	})
	if err != nil {
		return err
	}

	// 微协商: a meeting a quarter per village, twenty topics per village, a hundred referrals per
	// town, each referral's steps on the flow kit.
	err = l.load(ctx, "consult_meetings", []string{"id", "town_id", "village_id", "level", "title", "starts_at", "ends_at", "place", "host", "status",
		"attendance", "created_by", "created_at", "updated_at"}, func(yield func([]any) bool) {
		for v, t := range l.villages {
			for q := 0; q < 4; q++ {
				at := yearAgo.AddDate(0, 3*q+1, v%20).Truncate(24 * time.Hour).Add(7 * time.Hour).UTC()
				status := "closed"
				if at.After(l.now) {
					status = "planned"
				}
				if !yield([]any{int64(v*4 + q + 1), t, int64(v + 1), "village", "村级议事会", at, at.Add(2 * time.Hour), "村委会", "村支书", status, int64(30),
					l.staff[t-1], at.AddDate(0, 0, -10), at}) {
					return
				}
			}
		}
	})
	if err != nil {
		return err
	}
	topics := scaled(20)
	err = l.load(ctx, "consult_topics", []string{"id", "town_id", "village_id", "category_id", "title", "description", "status", "source", "created_at",
		"updated_at"}, func(yield func([]any) bool) {
		for v, t := range l.villages {
			for k := 0; k < topics; k++ {
				id := int64(v*topics + k + 1)
				at := when(24, uint64(id))
				if !yield([]any{id, t, int64(v + 1), int64(1 + l.pick(25, uint64(id), 6)), "议题", "村民提出的议题", "open", "resident", at, at}) {
					return
				}
			}
		}
	})
	if err != nil {
		return err
	}
	referrals := scaled(100)
	type referral struct {
		id, town, village int64
		at                time.Time
		steps             int // 1 referred, 2 accepted, 3 done, 4 rated
	}
	var refs []referral
	err = l.load(ctx, "consult_referrals", []string{"id", "town_id", "village_id", "category_id", "title", "description", "urgency", "respond_by",
		"finish_by", "status", "rating", "created_by", "created_at", "updated_at"}, func(yield func([]any) bool) {
		for t := 1; t <= towns; t++ {
			for k := 0; k < referrals; k++ {
				id := int64((t-1)*referrals + k + 1)
				r := referral{id: id, town: int64(t), village: int64((t-1)*districtVillages + k%districtVillages + 1), at: when(26, uint64(id))}
				r.steps = 1 + l.pick(27, uint64(id), 4)
				if r.at.AddDate(0, 0, 10).After(l.now) {
					r.steps = min(r.steps, 2)
				}
				refs = append(refs, r)
				var rating any
				if r.steps == 4 {
					rating = int64(3 + l.pick(28, uint64(id), 3))
				}
				status := []string{"referred", "accepted", "done", "rated"}[r.steps-1]
				if !yield([]any{id, r.town, r.village, int64(1 + l.pick(25, uint64(id), 6)), "转办事项", "协商议定的事项", "normal", r.at.Add(24 * time.Hour),
					r.at.AddDate(0, 0, 15), status, rating, l.staff[t-1], r.at, r.at}) {
					return
				}
			}
		}
	})
	if err != nil {
		return err
	}
	err = l.load(ctx, "flow_steps", []string{"flow", "order_id", "from_state", "to_state", "action", "rating", "at", "due_at", "left_at"}, func(yield func([]any) bool) {
		states := []string{"referred", "accepted", "done", "rated"}
		actions := []string{"open", "accept", "finish", "rate"}
		for _, r := range refs {
			for s := 0; s < r.steps; s++ {
				at := r.at.Add(time.Duration(s) * 20 * time.Hour)
				var left, due, rating any
				if s+1 < r.steps {
					left = r.at.Add(time.Duration(s+1) * 20 * time.Hour)
				}
				if s < 2 {
					due = at.Add([]time.Duration{24 * time.Hour, 15 * 24 * time.Hour}[s])
				}
				from := ""
				if s > 0 {
					from = states[s-1]
				}
				if s == 3 {
					rating = int64(4)
				}
				if !yield([]any{consult.ReferralFlow.Name, r.id, from, states[s], actions[s], rating, at, due, left}) {
					return
				}
			}
		}
	})
	if err != nil {
		return err
	}

	// 微联盟: thirty units and sixty activities per town; disputes; the 名录墙.
	err = l.load(ctx, "alliance_units", []string{"id", "town_id", "name", "kind", "joined_on", "created_at", "updated_at"}, func(yield func([]any) bool) {
		for i := 0; i < towns*30; i++ {
			at := when(30, uint64(i)).AddDate(-1, 0, 0)
			if !yield([]any{int64(i + 1), int64(i/30 + 1), fmt.Sprintf("共建单位%d", i+1), "institution", at.Format(time.DateOnly), at, at}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	acts := scaled(60)
	err = l.load(ctx, "alliance_activities", []string{"id", "town_id", "kind", "title", "place", "starts_at", "ends_at", "served", "status", "created_at",
		"updated_at"}, func(yield func([]any) bool) {
		for i := 0; i < towns*acts; i++ {
			at := when(31, uint64(i))
			if !yield([]any{int64(i + 1), int64(i/acts + 1), "service_day", "联盟服务日", "镇广场", at, at.Add(3 * time.Hour), int64(40), "closed", at, at}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	cases := scaled(80)
	err = l.load(ctx, "dispute_cases", []string{"id", "town_id", "village_id", "title", "kind", "source", "status", "due_at", "created_by", "created_at",
		"updated_at"}, func(yield func([]any) bool) {
		for i := 0; i < towns*cases; i++ {
			t := int64(i/cases + 1)
			at := when(32, uint64(i))
			status := []string{"mediating", "settled", "understood", "filed", "ended"}[l.pick(33, uint64(i), 5)]
			if !yield([]any{int64(i + 1), t, (t-1)*districtVillages + int64(i%districtVillages) + 1, "纠纷", "neighbour", "village", status,
				at.AddDate(0, 0, 30), l.staff[t-1], at, at}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	err = l.load(ctx, "honours_categories", []string{"id", "town_id", "code", "name", "created_at"}, func(yield func([]any) bool) {
		for t := 1; t <= towns; t++ {
			if !yield([]any{int64(t), int64(t), "", "好人好事", yearAgo}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	wall := scaled(20)
	return l.load(ctx, "honours_wall", []string{"id", "town_id", "village_id", "resident_id", "name", "category_id", "year", "created_at"},
		func(yield func([]any) bool) {
			for i := 0; i < towns*wall; i++ {
				t := i/wall + 1
				rid := int64(l.pick(34, uint64(i), len(l.residents)/towns)+(t-1)*(len(l.residents)/towns)) + 1
				r := l.residents[rid-1]
				at := when(35, uint64(i))
				if !yield([]any{int64(i + 1), int64(r.town), int64(r.village), rid, "好人", int64(r.town), int64(at.Year()), at}) {
					return
				}
			}
		})
}
