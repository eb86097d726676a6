package demo_test

import (
	"bytes"
	"context"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/consult"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server"
)

// TestConsultDemo runs the demo's steps and checks the figures issue 15 names: ten closed meetings
// in the past year, 东堡村's pond meeting with its site visit, participants and the two opinions of
// the article, 东刘庄村's 村规民约, more than 20 referrals in every state (one reopened, some
// escalated), departments at three levels with the demo department login, about fifteen care
// cadres with villages and 联系户, a year of visits, and a tagged resident overdue on the care
// schedule; a second run adds nothing.
func TestConsultDemo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sys, err := server.New(d, bytes.Repeat([]byte{5}, 32))
		if err != nil {
			t.Fatal(err)
		}
		info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, demo.Options{Seed: 3, Residents: 400})
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []demo.Step{demo.Bank, demo.Volunteer, demo.School, demo.Consult} { // the steps up to 微协商, whose year this checks
			if err := step(ctx, d, sys.People, info, 3); err != nil {
				t.Fatal(err)
			}
		}
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := d.Read().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		now := db.Now()
		yearAgo := now.AddDate(-1, 0, 0)
		if n := count(`SELECT COUNT(*) FROM consult_meetings WHERE town_id = $1 AND status = 'closed' AND starts_at > $2 AND starts_at < $3 AND minutes <> ''`,
			info.TownID, yearAgo, now); n < 10 {
			t.Errorf("%d closed meetings in the past year, want 10", n)
		}
		var pond int64
		var site string
		if err := d.Read().QueryRowContext(ctx, `SELECT m.id, m.site_visit FROM consult_meetings m JOIN villages v ON v.id = m.village_id
			WHERE v.name = '东堡村' AND m.title LIKE '%坑塘%' AND m.status = 'closed'`).Scan(&pond, &site); err != nil || site == "" {
			t.Fatalf("no closed pond meeting of 东堡村 with a site visit: %v", err)
		}
		for _, kind := range []string{"cppcc", "party", "department", "secretary", "third_party"} {
			if count(`SELECT COUNT(*) FROM consult_participants WHERE meeting_id = $1 AND kind = $2`, pond, kind) == 0 {
				t.Errorf("the pond meeting has no participant of kind %s", kind)
			}
		}
		for _, said := range []string{"还是要坚持河长制", "抓紧购置污水处理设备是关键"} {
			if count(`SELECT COUNT(*) FROM consult_opinions WHERE meeting_id = $1 AND body LIKE $2 AND speaker <> ''`, pond, "%"+said+"%") != 1 {
				t.Errorf("the pond meeting lacks the opinion %q", said)
			}
		}
		if count(`SELECT COUNT(*) FROM consult_decisions WHERE meeting_id = $1`, pond) == 0 {
			t.Error("the pond meeting decided nothing")
		}
		if count(`SELECT COUNT(*) FROM consult_decisions dc JOIN consult_meetings m ON m.id = dc.meeting_id JOIN villages v ON v.id = m.village_id
			WHERE v.name = '东刘庄村' AND m.status = 'closed' AND dc.body LIKE '%村规民约%'`) == 0 ||
			count(`SELECT COUNT(*) FROM consult_decisions WHERE body LIKE '%庭院环境评比%'`) == 0 {
			t.Error("东刘庄村's meeting did not decide a 村规民约 and a 庭院环境评比 system")
		}
		if n := count(`SELECT COUNT(*) FROM consult_topics WHERE town_id = $1 AND source = 'resident' AND status = 'decided' AND supports >= 2`, info.TownID); n < 20 {
			t.Errorf("%d decided topics residents raised and supported", n)
		}
		if n := count(`SELECT COUNT(*) FROM consult_referrals WHERE town_id = $1`, info.TownID); n <= 20 {
			t.Errorf("%d referrals, want more than 20", n)
		}
		for _, st := range consult.ReferralStatuses {
			if count(`SELECT COUNT(*) FROM consult_referrals WHERE town_id = $1 AND status = $2`, info.TownID, st) == 0 {
				t.Errorf("no referral %s", st)
			}
		}
		if count(`SELECT COUNT(*) FROM consult_referrals WHERE reopened AND status = 'rated'`) == 0 {
			t.Error("no referral reopened and rated again")
		}
		if count(`SELECT COUNT(*) FROM consult_referrals WHERE escalated_at IS NOT NULL AND status IN ('referred', 'accepted')`) == 0 {
			t.Error("no overdue referral escalated")
		}
		if n := count(`SELECT COUNT(*) FROM consult_referrals WHERE status = 'rated' AND rating >= 4`); n < 10 {
			t.Errorf("%d referrals rated 满意 or 基本满意", n)
		}
		if n := count(`SELECT COUNT(DISTINCT level) FROM consult_departments WHERE town_id = $1`, info.TownID); n != 3 {
			t.Errorf("departments at %d levels, want 3", n)
		}
		if count(`SELECT COUNT(*) FROM consult_department_accounts da JOIN accounts a ON a.id = da.account_id JOIN consult_departments d ON d.id = da.department_id
			WHERE a.phone = $1 AND d.name = '通州区水务局' AND da.head`, demo.PhoneDepartment) != 1 {
			t.Error("the demo department login is not 通州区水务局's head")
		}
		members := count(`SELECT COUNT(*) FROM consult_care_members m JOIN account_roles r ON r.account_id = m.account_id AND r.role = $2 AND r.town_id = $1
			WHERE m.town_id = $1 AND m.active`, info.TownID, string(auth.CareTeam))
		if members < 12 || members > 18 {
			t.Errorf("%d care-team members with the care_team role, want about 15", members)
		}
		if n := count(`SELECT COUNT(DISTINCT member_id) FROM consult_care_villages`); n != members {
			t.Errorf("%d of %d members have villages", n, members)
		}
		if count(`SELECT COUNT(*) FROM consult_care_members m JOIN accounts a ON a.id = m.account_id WHERE a.phone = $1`, demo.PhoneCareMember) != 1 {
			t.Error("the demo care-member login is not on the team")
		}
		if n := count(`SELECT COUNT(*) FROM consult_care_households`); n < members {
			t.Errorf("%d 联系户 for %d members", n, members)
		}
		today := now.Format("2006-01-02")
		if n := count(`SELECT COUNT(*) FROM consult_visits WHERE town_id = $1 AND visited_on < $2`, info.TownID, now.AddDate(0, -10, 0).Format("2006-01-02")); n == 0 {
			t.Error("no visits from the start of the year")
		}
		if n := count(`SELECT COUNT(*) FROM consult_visits WHERE town_id = $1 AND visited_on > $2`, info.TownID, today); n != 0 {
			t.Errorf("%d visits after today", n)
		}
		if n := count(`SELECT COUNT(*) FROM consult_visits WHERE created_at > $1`, now) + count(`SELECT COUNT(*) FROM flow_steps WHERE flow = 'consult.referral' AND at > $1`, now) +
			count(`SELECT COUNT(*) FROM consult_meetings WHERE closed_at > $1`, now); n != 0 {
			t.Errorf("%d records dated after now", n)
		}
		if count(`SELECT COUNT(*) FROM consult_visits WHERE needs_found > 0`) == 0 || count(`SELECT COUNT(*) FROM volunteer_needs WHERE source = 'visit'`) == 0 {
			t.Error("no need found at the door filed as a 微志愿 need")
		}
		// The care schedule, as the town's admin sees it: some tagged residents overdue, most not.
		sess, err := sys.Auth.Login(ctx, demo.PhoneTownAdmin, demo.DemoPassword, "127.0.0.1", "api")
		if err != nil {
			t.Fatal(err)
		}
		admin, err := sys.Auth.Authenticate(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := sys.Consult.Schedule(ctx, admin, consult.ScheduleFilter{})
		if err != nil {
			t.Fatal(err)
		}
		status := map[string]int{}
		overdueVisited := 0
		for _, r := range rows {
			status[r.Status]++
			if r.Status == consult.CareOverdue && r.LastVisit != "" {
				overdueVisited++
			}
		}
		if status[consult.CareOverdue] == 0 || overdueVisited == 0 || status[consult.CareOK]+status[consult.CareDue] == 0 {
			t.Errorf("care schedule %v, %d overdue since a visit", status, overdueVisited)
		}
		// Outcomes told along the way read as sentences, not as their message keys.
		if n := count(`SELECT COUNT(*) FROM notifications WHERE title LIKE 'consult.%' OR body LIKE 'consult.%'`); n != 0 {
			t.Errorf("%d demo messages read as their keys", n)
		}
		// Run again: nothing more.
		tables := []string{"consult_departments", "consult_meetings", "consult_topics", "consult_referrals", "consult_care_members", "consult_visits", "accounts"}
		before := map[string]int{}
		for _, tbl := range tables {
			before[tbl] = count(`SELECT COUNT(*) FROM ` + tbl)
		}
		if err := demo.Consult(ctx, d, sys.People, info, 3); err != nil {
			t.Fatal(err)
		}
		for _, tbl := range tables {
			if n := count(`SELECT COUNT(*) FROM ` + tbl); n != before[tbl] {
				t.Errorf("a second run changed %s from %d to %d rows", tbl, before[tbl], n)
			}
		}
	})
}
