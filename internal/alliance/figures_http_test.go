package alliance_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"siwei/internal/alliance"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
	"siwei/internal/web"
)

// TestFigures builds a small year of 微联盟 through the API (two units' resources, two needs, a
// project, an activity with check-ins and people served, a donation handed out, consultations at
// the centre) and reads each figure two ways: through the API and the page, and by a separate
// count in SQL. A liaison reads their unit's share; a village's admin, a resident and the
// centre's staff alone are refused; a wrong period is named.
func TestFigures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newListsWorld(t, d)
		ctx := context.Background()
		town := w.env.Info.TownID
		sum := func(q string, args ...any) int { t.Helper(); return count(t, d, q, args...) }

		// The lists: 北投's resource is matched to 前疃村's road; 蒙牛's milk and the second need wait.
		res := w.resource(t, w.liaisonA, map[string]any{"kind": "funds", "description": "道路硬化专项资金", "amount": "20万元", "from": "2026-12-01", "to": "2027-12-31"})
		w.resource(t, w.liaisonB, map[string]any{"kind": "goods", "description": "牛奶200箱", "from": "2026-12-01", "to": "2026-12-31"})
		road := w.need(t, w.village, map[string]any{"village_id": w.villageID, "kind": "funds", "description": "村西道路硬化", "people": 300, "by": "2027-06-30"})
		w.need(t, w.village, map[string]any{"village_id": w.villageID, "kind": "training", "description": "电商培训", "people": 30, "by": "2027-03-31"})
		var p alliance.Project
		if st, body := w.town.JSON("POST", "/api/v1/alliance/projects", map[string]any{"need_id": road.ID, "resource_id": res.ID}, &p); st != 201 {
			t.Fatalf("project: %d %s", st, body)
		}
		if st, body := act(w.liaisonA, p.ID, map[string]any{"action": "unit_agree"}, &p); st != 200 {
			t.Fatalf("unit agrees: %d %s", st, body)
		}

		// An activity of 北投 in 前疃村 tomorrow: two people checked in, five served besides.
		var act1 alliance.ActivityDetail
		if st, body := w.town.JSON("POST", "/api/v1/alliance/activities", map[string]any{"kind": "service_day", "title": "便民服务日", "place": "前疃村党群服务中心",
			"starts_at": "2026-12-03 09:00", "ends_at": "2026-12-03 11:00", "capacity": 20, "unit_ids": []int64{w.unitA}, "village_ids": []int64{w.villageID}}, &act1); st != 201 {
			t.Fatalf("activity: %d %s", st, body)
		}
		var people []int64
		rows, err := d.Read().QueryContext(ctx, `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' ORDER BY id LIMIT 2`, w.villageID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			people = append(people, id)
		}
		rows.Close()
		w.mu.Lock()
		w.now = time.Date(2026, 12, 3, 1, 30, 0, 0, time.UTC) // 09:30 in Beijing
		w.mu.Unlock()
		path := fmt.Sprintf("/api/v1/alliance/activities/%d", act1.ID)
		if st, body := w.town.JSON("POST", path+"/checkins", map[string]any{"resident_ids": people, "method": "roll"}, nil); st != 200 {
			t.Fatalf("check-ins: %d %s", st, body)
		}
		if st, body := w.town.JSON("POST", path+"/close", map[string]any{"served": 5, "served_method": "现场计数"}, nil); st != 200 {
			t.Fatalf("close: %d %s", st, body)
		}

		// A donation of 30 books, 10 of them to 前疃村, 2 handed to a resident.
		var don alliance.DonationDetail
		if st, body := w.town.JSON("POST", "/api/v1/alliance/donations", map[string]any{"donor_name": "爱心人士", "donated_on": "2026-12-01", "money_yuan": 500,
			"items": []map[string]any{{"name": "图书", "measure": "本", "quantity": 30}}}, &don); st != 201 {
			t.Fatalf("donation: %d %s", st, body)
		}
		var al alliance.Allocation
		if st, body := w.town.JSON("POST", fmt.Sprintf("/api/v1/alliance/donations/%d/allocations", don.ID), map[string]any{"item_id": don.Items[0].ID, "village_id": w.villageID, "quantity": 10}, &al); st != 201 {
			t.Fatalf("allocation: %d %s", st, body)
		}
		if st, body := w.village.JSON("POST", fmt.Sprintf("/api/v1/alliance/donations/%d/handovers", don.ID), map[string]any{"allocation_id": al.ID, "resident_id": people[0], "quantity": 2, "confirmed": true}, nil); st != 201 {
			t.Fatalf("handover: %d %s", st, body)
		}

		// Two consultations at the centre.
		staff := disputeLogin(t, w.env, "13900000691", town)
		for _, m := range []string{"宅基地界线", "劳务费"} {
			if st, body := staff.JSON("POST", "/api/v1/disputes/consultations", map[string]any{"name": "来访人", "phone": "13812345678", "matter": m, "advice": "建议调解"}, nil); st != 201 {
				t.Fatalf("consultation: %d %s", st, body)
			}
		}

		// Two cases: one settled three days later, one still mediating.
		var cases [2]alliance.Case
		for i, title := range []string{"宅基地边界纠纷", "相邻通行纠纷"} {
			if st, body := staff.JSON("POST", "/api/v1/disputes/cases", map[string]any{"village_id": w.villageID, "title": title, "kind": "neighbour", "source": "hotline",
				"parties": []map[string]any{{"name": "甲", "role": "applicant"}, {"name": "乙", "role": "respondent"}}}, &cases[i]); st != 201 {
				t.Fatalf("case: %d %s", st, body)
			}
		}
		w.mu.Lock()
		w.now = w.now.Add(72 * time.Hour)
		w.mu.Unlock()
		if st, body := staff.JSON("POST", fmt.Sprintf("/api/v1/disputes/cases/%d/actions", cases[0].ID), map[string]any{"action": "settle", "agreement": "以原有界桩为准", "confirmed": true}, nil); st != 200 {
			t.Fatalf("settle: %d %s", st, body)
		}

		from, to := time.Date(2025, 12, 31, 16, 0, 0, 0, time.UTC), time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC) // 2026 in Beijing
		t.Run("the town's figures, two ways", func(t *testing.T) {
			var f alliance.Figures
			if st, body := w.town.JSON("GET", "/api/v1/alliance/figures?period=2026", nil, &f); st != 200 || f.Units == nil || f.Needs == nil || f.Donations == nil || f.Disputes == nil {
				t.Fatalf("figures: %d %s", st, body)
			}
			if f.Period.From != "2026-01" || f.Period.To != "2026-12" {
				t.Errorf("period: %+v", f.Period)
			}
			want := map[string][2]int{
				"members":           {f.Units.Members, sum(`SELECT COUNT(*) FROM alliance_units WHERE town_id = $1 AND joined_on <= '2026-12-31'`, town)},
				"active":            {f.Units.Active, sum(`SELECT COUNT(*) FROM alliance_units WHERE town_id = $1 AND active`, town)},
				"engaged":           {f.Units.Engaged, sum(`SELECT COUNT(DISTINCT unit_id) FROM (SELECT unit_id FROM alliance_projects WHERE town_id = $1 AND status <> 'declined' UNION SELECT au.unit_id FROM alliance_activity_units au JOIN alliance_activities a ON a.id = au.activity_id WHERE a.town_id = $1) x`, town)},
				"resources":         {f.Resources.Listed, sum(`SELECT COUNT(*) FROM alliance_resources WHERE town_id = $1`, town)},
				"resources matched": {f.Resources.Matched, sum(`SELECT COUNT(DISTINCT resource_id) FROM alliance_projects WHERE town_id = $1 AND status <> 'declined'`, town)},
				"needs":             {f.Needs.Listed, sum(`SELECT COUNT(*) FROM alliance_needs WHERE town_id = $1`, town)},
				"needs matched":     {f.Needs.Matched, sum(`SELECT COUNT(DISTINCT need_id) FROM alliance_projects WHERE town_id = $1 AND status <> 'declined'`, town)},
				"projects":          {f.Projects.Opened, sum(`SELECT COUNT(*) FROM alliance_projects WHERE town_id = $1`, town)},
				"unit_agreed":       {f.Projects.ByState[alliance.ProjectUnitAgreed], sum(`SELECT COUNT(*) FROM alliance_projects WHERE town_id = $1 AND status = 'unit_agreed'`, town)},
				"activities":        {f.Activities.Activities, sum(`SELECT COUNT(*) FROM alliance_activities WHERE town_id = $1 AND status <> 'cancelled'`, town)},
				"checked in":        {f.Activities.CheckedIn, sum(`SELECT COUNT(*) FROM attend_entries e JOIN attend_events v ON v.id = e.event_id WHERE v.kind = 'alliance.activity' AND e.checked_in_at IS NOT NULL`)},
				"served":            {f.Activities.Served, sum(`SELECT COALESCE(SUM(served), 0) FROM alliance_activities WHERE town_id = $1`, town)},
				"donations":         {f.Donations.Donations, sum(`SELECT COUNT(*) FROM alliance_donations WHERE town_id = $1`, town)},
				"money":             {int(f.Donations.MoneyYuan), sum(`SELECT COALESCE(SUM(money_yuan), 0) FROM alliance_donations WHERE town_id = $1`, town)},
				"received":          {f.Donations.Received, sum(`SELECT COALESCE(SUM(quantity), 0) FROM alliance_donation_items`)},
				"allocated":         {f.Donations.Allocated, sum(`SELECT COALESCE(SUM(quantity), 0) FROM alliance_donation_allocations`)},
				"handed":            {f.Donations.Handed, sum(`SELECT COALESCE(SUM(quantity), 0) FROM alliance_donation_handovers`)},
				"consultations":     {f.Disputes.Consultations, sum(`SELECT COUNT(*) FROM dispute_consultations WHERE town_id = $1`, town)},
				"cases":             {f.Disputes.Cases, sum(`SELECT COUNT(*) FROM dispute_cases WHERE town_id = $1 AND created_at >= $2 AND created_at < $3`, town, from, to)},
				"settled":           {f.Disputes.ByOutcome[alliance.CaseSettled], sum(`SELECT COUNT(*) FROM dispute_cases WHERE town_id = $1 AND status = 'settled'`, town)},
				"cases closed":      {f.Disputes.Closed, sum(`SELECT COUNT(*) FROM dispute_cases WHERE town_id = $1 AND closed_at >= $2 AND closed_at < $3`, town, from, to)},
			}
			for name, v := range want {
				if v[0] != v[1] {
					t.Errorf("%s: the API says %d, SQL %d", name, v[0], v[1])
				}
			}
			// The world is what the test built, so the counts are also known.
			if f.Resources.Listed != 2 || f.Resources.Matched != 1 || f.Needs.Listed != 2 || f.Needs.Matched != 1 || f.Activities.Total != 7 ||
				f.Donations.Handed != 2 || f.Disputes.Consultations != 2 || f.Units.Engaged != 1 ||
				f.Disputes.Cases != 2 || f.Disputes.ByOutcome[alliance.CaseSettled] != 1 || f.Disputes.ByOutcome[alliance.CaseMediating] != 1 || f.Disputes.Closed != 1 || f.Disputes.MedianDays != 3 {
				t.Errorf("figures: %+v", f)
			}
			if f.Activities.Total != f.Activities.CheckedIn+f.Activities.Served {
				t.Errorf("person-times %d ≠ %d + %d", f.Activities.Total, f.Activities.CheckedIn, f.Activities.Served)
			}
			// The quarter holds all of it; last year none.
			var q alliance.Figures
			if st, _ := w.town.JSON("GET", "/api/v1/alliance/figures?period=2026-Q4", nil, &q); st != 200 || q.Resources.Listed != 2 || q.Period.From != "2026-10" {
				t.Errorf("the quarter: %d %+v", st, q)
			}
			if st, _ := w.town.JSON("GET", "/api/v1/alliance/figures?period=2025", nil, &q); st != 200 || q.Resources.Listed != 0 || q.Projects.Opened != 0 || q.Activities.Total != 0 || q.Donations.Handed != 0 || q.Disputes.Consultations != 0 {
				t.Errorf("last year: %d %+v", st, q)
			}
			if st, _ := w.town.JSON("GET", "/api/v1/alliance/figures?from=2026-11&to=2026-11", nil, &q); st != 200 || q.Resources.Listed != 0 {
				t.Errorf("November: %d %+v", st, q)
			}
		})

		t.Run("the page", func(t *testing.T) {
			st, page := w.env.Browser(demo.PhoneTownAdmin).Get("/admin/alliance/figures?period=2026")
			if st != 200 || !strings.Contains(page, "微联盟数据统计") || !strings.Contains(page, "服务人次合计") || !strings.Contains(page, `href="/admin/alliance/projects?status=unit_agreed">1</a>`) ||
				!strings.Contains(page, `<td>7</td>`) || !strings.Contains(page, "2026年1月 至 2026年12月") {
				t.Errorf("the page: %d", st)
			}
			// The town's admin is not the centre's staff: its counts, not links into its lists.
			if strings.Contains(page, "/admin/disputes/") || !strings.Contains(page, "接待咨询") {
				t.Errorf("the centre's numbers on the town admin's page")
			}
			if st, page := w.env.Browser(demo.PhoneTownAdmin).Get("/admin/alliance/figures?period=2026-13"); st != 422 || !strings.Contains(page, "时间段应写作") {
				t.Errorf("a wrong period on the page: %d", st)
			}
		})

		t.Run("wrong periods", func(t *testing.T) {
			for _, q := range []string{"period=2026-13", "period=上半年", "period=2026-Q5", "from=2026-13"} {
				st, body := w.town.JSON("GET", "/api/v1/alliance/figures?"+q, nil, nil)
				field := `"period"`
				if strings.HasPrefix(q, "from") {
					field = `"from"`
				}
				if st != 422 || !strings.Contains(body, field) {
					t.Errorf("%s: %d %s", q, st, body)
				}
			}
		})

		t.Run("a liaison reads their unit's share", func(t *testing.T) {
			var f alliance.Figures
			if st, body := w.liaisonA.JSON("GET", "/api/v1/alliance/figures?period=2026", nil, &f); st != 200 || f.Unit != "北京北投集团" || f.Units != nil || f.Needs != nil || f.Donations != nil || f.Disputes != nil {
				t.Fatalf("北投's liaison: %d %s", st, body)
			}
			if f.Resources.Listed != sum(`SELECT COUNT(*) FROM alliance_resources WHERE unit_id = $1`, w.unitA) || f.Projects.Opened != sum(`SELECT COUNT(*) FROM alliance_projects WHERE unit_id = $1`, w.unitA) || f.Activities.Total != 7 {
				t.Errorf("北投's share: %+v", f)
			}
			if st, body := w.liaisonB.JSON("GET", "/api/v1/alliance/figures?period=2026", nil, &f); st != 200 || f.Resources.Listed != 1 || f.Resources.Matched != 0 || f.Projects.Opened != 0 || f.Activities.Total != 0 {
				t.Errorf("蒙牛's share: %d %s", st, body)
			}
			if st, page := w.env.Browser(liaisonPhoneB).Get("/admin/alliance/figures"); st != 200 || !strings.Contains(page, "蒙牛乳业") || strings.Contains(page, "接待咨询") {
				t.Errorf("蒙牛's page: %d", st)
			}
		})

		t.Run("refused", func(t *testing.T) {
			for name, c := range map[string]*servertest.Client{"前疃村's admin": w.village, "a resident": w.resident, "the centre's staff": staff} {
				if st, _ := c.JSON("GET", "/api/v1/alliance/figures?period=2026-13", nil, nil); st != 403 {
					t.Errorf("%s reads the figures: %d", name, st)
				}
			}
			if st, _ := w.env.Browser(demo.PhoneVillageAdmin).Get("/admin/alliance/figures"); st != 403 {
				t.Errorf("a village's admin opens the page: %d", st)
			}
			if st, _ := w.town.JSON("GET", "/api/v1/alliance/figures?town_id=999999", nil, nil); st != 404 {
				t.Errorf("another town: %d", st)
			}
		})

		t.Run("the overview", func(t *testing.T) {
			figs, err := w.env.Sys.Alliance.OverviewFigures(ctx, actor(t, w, w.town), town)
			byKey := map[string]web.Figure{}
			for _, f := range figs {
				byKey[f.Key] = f
			}
			if err != nil || byKey["alliance.figure.active_units"].Value != 2 || byKey["alliance.figure.person_times"].Value != 7 || byKey["alliance.figure.donations_handed"].Value != 2 ||
				byKey["alliance.figure.projects_done"].Path != "/admin/alliance/projects" || len(figs) != 4 {
				t.Errorf("the town admin's overview: %+v %v", figs, err)
			}
			figs, err = w.env.Sys.Alliance.OverviewFigures(ctx, actor(t, w, staff), town)
			if err != nil || len(figs) != 3 || figs[0].Key != "alliance.dispute.fig.consultations" || figs[0].Value != 2 {
				t.Errorf("the centre's overview: %+v %v", figs, err)
			}
			if figs, err := w.env.Sys.Alliance.OverviewFigures(ctx, actor(t, w, w.village), town); err != nil || len(figs) != 0 {
				t.Errorf("a village admin's overview: %+v %v", figs, err)
			}
		})
	})
}
