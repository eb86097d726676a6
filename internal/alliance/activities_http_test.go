package alliance_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"siwei/internal/alliance"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// activityWorld is the small demo town with its town admin, 前疃村's admin and demo resident,
// 东堡村's admin, two member units and a liaison login of each.
type activityWorld struct {
	env                                 *servertest.Env
	town, admin, other, resident        *servertest.Client
	liaison1, liaison2                  *servertest.Client
	village, otherVillage, unit1, unit2 int64
	residentID                          int64
}

func newActivityWorld(t *testing.T, d *db.DB) *activityWorld {
	t.Helper()
	env := servertest.New(t, d)
	w := &activityWorld{env: env, town: env.API(demo.PhoneTownAdmin), admin: env.API(demo.PhoneVillageAdmin), other: env.API(demo.PhoneVillageAdmin2),
		resident: env.API(demo.PhoneResident)}
	ctx := context.Background()
	q := env.Sys.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT id FROM villages WHERE name = '前疃村'`).Scan(&w.village); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT id FROM villages WHERE name = '东堡村'`).Scan(&w.otherVillage); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT resident_id FROM accounts WHERE phone = $1`, demo.PhoneResident).Scan(&w.residentID); err != nil {
		t.Fatal(err)
	}
	actor, err := env.Sys.Auth.Authenticate(ctx, w.town.Token)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().Add(-24 * time.Hour).Format("2006-01-02")
	// Every class of the town earns 2 points for attending an activity.
	if err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, class := range []people.MemberClass{people.Villager, people.PartyMember, people.Minor} {
			if _, err := env.Sys.Bank.InsertVersion(ctx, tx, bank.VersionInput{TownID: env.Info.TownID, Class: class, AdoptedBy: "村民代表大会", AdoptedOn: "2026-01-01",
				Resolution: "测试", EffectiveFrom: "2026-01-01", Rules: []bank.RuleInput{{Code: "alliance", Name: "参加联盟活动", Points: 2}}}, 0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"北京市通州区卫生健康委员会", "蒙牛乳业（北京）有限责任公司"} {
		u, err := env.Sys.Alliance.SaveUnit(ctx, actor, 0, alliance.UnitInput{Name: name, Kind: "agency", JoinedOn: today})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.Sys.Alliance.AddUnitAccount(ctx, actor, env.Sys.Auth, u.ID, alliance.UnitAccountInput{Phone: fmt.Sprintf("1370000000%d", i), Name: "联络员"}); err != nil {
			t.Fatal(err)
		}
		c := sessionOf(t, env, fmt.Sprintf("1370000000%d", i))
		if i == 0 {
			w.unit1, w.liaison1 = u.ID, c
		} else {
			w.unit2, w.liaison2 = u.ID, c
		}
	}
	return w
}

// sessionOf opens an API session for the account of a phone without a password.
func sessionOf(t *testing.T, env *servertest.Env, phone string) *servertest.Client {
	t.Helper()
	ctx := context.Background()
	var account int64
	if err := env.Sys.DB.Read().QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, phone).Scan(&account); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	if _, err := env.Sys.DB.Write().ExecContext(ctx, `UPDATE accounts SET must_change_password = FALSE WHERE id = $1`, account); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Sys.DB.Write().ExecContext(ctx, `INSERT INTO sessions (token_hash, account_id, kind, csrf, created_at, expires_at) VALUES ($1, $2, 'api', $3, $4, $5)`,
		hex.EncodeToString(sum[:]), account, tok, db.Now(), db.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := env.Anonymous()
	c.Token = tok
	return c
}

// create plans an activity of unit1 for 前疃村 the day after tomorrow as the town admin.
func (w *activityWorld) create(t *testing.T, title, rule string) alliance.ActivityDetail {
	t.Helper()
	day := time.Now().Add(48 * time.Hour).Format("2006-01-02")
	var d alliance.ActivityDetail
	st, body := w.town.JSON("POST", "/api/v1/alliance/activities", map[string]any{"kind": "service_day", "title": title, "place": "前疃村党群服务中心",
		"starts_at": day + " 09:00", "ends_at": day + " 11:00", "capacity": 20, "rule_code": rule, "unit_ids": []int64{w.unit1}, "village_ids": []int64{w.village}}, &d)
	if st != 201 {
		t.Fatalf("create activity: %d %s", st, body)
	}
	return d
}

// begin moves an activity's time to the last hour, as if it were being held now.
func (w *activityWorld) begin(t *testing.T, id int64) {
	t.Helper()
	now := db.Now()
	for _, stmt := range []string{`UPDATE alliance_activities SET starts_at = $1, ends_at = $2 WHERE id = $3`,
		`UPDATE attend_events SET starts_at = $1, ends_at = $2 WHERE kind = 'alliance.activity' AND ref_id = $3`} {
		if _, err := w.env.Sys.DB.Write().ExecContext(context.Background(), stmt, now.Add(-time.Hour), now.Add(time.Hour), id); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *activityWorld) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := w.env.Sys.DB.Read().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// neighbours are n active residents of 前疃村 other than the demo resident.
func (w *activityWorld) neighbours(t *testing.T, n int) []int64 {
	t.Helper()
	rows, err := w.env.Sys.DB.Read().QueryContext(context.Background(), `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' AND id <> $2 ORDER BY id LIMIT $3`,
		w.village, w.residentID, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		out = append(out, id)
	}
	if len(out) < n {
		t.Fatalf("only %d residents", len(out))
	}
	return out
}

func TestActivities(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newActivityWorld(t, d)

		t.Run("wrong input stores nothing", func(t *testing.T) {
			before := w.count(t, `SELECT COUNT(*) FROM alliance_activities`)
			st, body := w.town.JSON("POST", "/api/v1/alliance/activities", map[string]any{"kind": "party", "starts_at": "明天", "ends_at": "2020-01-01 08:00",
				"unit_ids": []int64{w.unit1 + 1000}, "village_ids": []int64{}, "rule_code": "nothing"}, nil)
			for _, f := range []string{`"kind"`, `"title"`, `"place"`, `"starts_at"`, `"unit_ids"`, `"village_ids"`, `"rule_code"`} {
				if st != 422 || !strings.Contains(body, f) {
					t.Fatalf("wrong input: %d, %s not named: %s", st, f, body)
				}
			}
			if w.count(t, `SELECT COUNT(*) FROM alliance_activities`) != before {
				t.Fatal("a refused activity was stored")
			}
			// Village staff do not plan the town's activities.
			if st, _ := w.admin.JSON("POST", "/api/v1/alliance/activities", map[string]any{"kind": "service_day"}, nil); st != 403 {
				t.Fatalf("village admin plans: %d", st)
			}
		})

		t.Run("points paid once", func(t *testing.T) {
			a := w.create(t, "便民志愿服务日", "alliance")
			path := fmt.Sprintf("/api/v1/alliance/activities/%d", a.ID)
			if st, body := w.resident.JSON("POST", path+"/registrations", nil, nil); st != 200 {
				t.Fatalf("register: %d %s", st, body)
			}
			// Too early to check in.
			if st, _ := w.admin.JSON("POST", path+"/checkins", map[string]any{"resident_ids": []int64{w.residentID}}, nil); st != 409 {
				t.Fatalf("check in before it starts: %d", st)
			}
			w.begin(t, a.ID)
			ids := append([]int64{w.residentID}, w.neighbours(t, 2)...)
			var got alliance.ActivityDetail
			if st, body := w.admin.JSON("POST", path+"/checkins", map[string]any{"resident_ids": ids, "method": "roll"}, &got); st != 200 || got.CheckedIn != 3 {
				t.Fatalf("check in: %d %s", st, body)
			}
			// A resident of another village cannot be checked in here.
			var stranger int64
			if err := d.Read().QueryRowContext(t.Context(), `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' ORDER BY id LIMIT 1`, w.otherVillage).Scan(&stranger); err != nil {
				t.Fatal(err)
			}
			if st, body := w.admin.JSON("POST", path+"/checkins", map[string]any{"resident_ids": []int64{stranger}}, nil); st != 422 || !strings.Contains(body, "resident_ids") {
				t.Fatalf("a stranger checked in: %d %s", st, body)
			}
			// Closing without saying how the served were counted is refused.
			if st, body := w.town.JSON("POST", path+"/close", map[string]any{"served": 40}, nil); st != 422 || !strings.Contains(body, "served_method") {
				t.Fatalf("close without a method: %d %s", st, body)
			}
			for i := range 2 {
				if st, body := w.town.JSON("POST", path+"/close", map[string]any{"served": 40 + i, "served_method": "现场计数"}, &got); st != 200 || got.Status != "closed" || got.Served != 40 {
					t.Fatalf("close %d: %d %s", i, st, body)
				}
			}
			key := fmt.Sprintf("alliance:activity:%d:resident:%%", a.ID)
			paid := w.count(t, `SELECT COUNT(*) FROM bank_transactions WHERE idem_key LIKE $1`, key)
			if paid != 3 {
				t.Fatalf("paid %d times, want 3", paid)
			}
			// A lost answer from the bank: closing again retries under the same keys, and pays nobody twice.
			if _, err := d.Write().ExecContext(t.Context(), `UPDATE attend_entries SET transaction_id = NULL, pay_note = '' WHERE resident_id = $1
				AND event_id = (SELECT id FROM attend_events WHERE kind = 'alliance.activity' AND ref_id = $2)`, w.residentID, a.ID); err != nil {
				t.Fatal(err)
			}
			if st, body := w.town.JSON("POST", path+"/close", map[string]any{}, &got); st != 200 {
				t.Fatalf("close again: %d %s", st, body)
			}
			if n := w.count(t, `SELECT COUNT(*) FROM bank_transactions WHERE idem_key LIKE $1`, key); n != 3 {
				t.Fatalf("after a retry paid %d times, want 3", n)
			}
			if n := w.count(t, `SELECT COUNT(*) FROM attend_entries x JOIN attend_events e ON e.id = x.event_id WHERE e.ref_id = $1 AND e.kind = 'alliance.activity' AND x.transaction_id IS NOT NULL`, a.ID); n != 3 {
				t.Fatalf("%d answers kept, want 3", n)
			}
			if n := w.count(t, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND title = '活动积分到账'`, w.residentID); n != 1 {
				t.Fatalf("the resident was told %d times of the points", n)
			}
		})

		t.Run("person-times against a separate count", func(t *testing.T) {
			b := w.create(t, "敬老志愿服务创新日", "")
			c := w.create(t, "法律宣传", "")
			w.begin(t, b.ID)
			w.begin(t, c.ID)
			pb, pc := fmt.Sprintf("/api/v1/alliance/activities/%d", b.ID), fmt.Sprintf("/api/v1/alliance/activities/%d", c.ID)
			if st, body := w.admin.JSON("POST", pb+"/checkins", map[string]any{"resident_ids": w.neighbours(t, 4), "method": "sheet"}, nil); st != 200 {
				t.Fatalf("check in: %d %s", st, body)
			}
			if st, body := w.town.JSON("POST", pb+"/close", map[string]any{"served": 125, "served_method": "签到表"}, nil); st != 200 {
				t.Fatalf("close: %d %s", st, body)
			}
			if st, body := w.admin.JSON("POST", pc+"/checkins", map[string]any{"resident_ids": w.neighbours(t, 2)}, nil); st != 200 {
				t.Fatalf("check in: %d %s", st, body)
			}
			// A cancelled activity counts nothing: cancelling a started one whose roll is open.
			if st, body := w.town.JSON("POST", pc+"/cancel", map[string]any{"reason": "下大雨"}, nil); st != 200 {
				t.Fatalf("cancel: %d %s", st, body)
			}
			var one alliance.ActivityDetail
			w.town.JSON("GET", pb, nil, &one)
			direct := w.count(t, `SELECT COUNT(*) FROM attend_entries x JOIN attend_events e ON e.id = x.event_id WHERE e.kind = 'alliance.activity' AND e.ref_id = $1 AND x.checked_in_at IS NOT NULL`, b.ID) + 125
			if one.PersonTimes != direct || direct != 129 {
				t.Fatalf("activity person-times %d, counted %d", one.PersonTimes, direct)
			}
			now := time.Now()
			var pt alliance.PersonTimes
			q := fmt.Sprintf("?from=%s&to=%s", now.AddDate(0, -2, 0).Format("2006-01"), now.AddDate(0, 1, 0).Format("2006-01"))
			if st, body := w.town.JSON("GET", "/api/v1/alliance/activities/person-times"+q, nil, &pt); st != 200 {
				t.Fatalf("person-times: %d %s", st, body)
			}
			all := w.count(t, `SELECT COUNT(*) FROM attend_entries x JOIN attend_events e ON e.id = x.event_id JOIN alliance_activities a ON a.id = e.ref_id
				WHERE e.kind = 'alliance.activity' AND x.checked_in_at IS NOT NULL AND a.status <> 'cancelled'`) +
				w.count(t, `SELECT COALESCE(SUM(served), 0) FROM alliance_activities WHERE status <> 'cancelled'`)
			if pt.Total != all || pt.Total != 3+40+129 {
				t.Fatalf("person-times %+v, counted %d", pt, all)
			}
			sum := 0
			for _, m := range pt.ByMonth {
				sum += m.PersonTimes
			}
			if sum != pt.Total {
				t.Fatalf("the months add up to %d of %d", sum, pt.Total)
			}
			// The cancelled activity's registered are told; its person-times are none.
			var cc alliance.ActivityDetail
			w.town.JSON("GET", pc, nil, &cc)
			if cc.Status != "cancelled" || cc.PersonTimes != 0 {
				t.Fatalf("cancelled: %+v", cc.Activity)
			}
		})

		t.Run("scope", func(t *testing.T) {
			a := w.create(t, "党建引领农村志愿服务联盟启动仪式", "")
			path := fmt.Sprintf("/api/v1/alliance/activities/%d", a.ID)
			for name, c := range map[string]*servertest.Client{"东堡村 admin": w.other, "another unit's liaison": w.liaison2} {
				if st, body := c.JSON("GET", path, nil, nil); st != 404 {
					t.Fatalf("%s reads it: %d %s", name, st, body)
				}
				if st, _ := c.Get(fmt.Sprintf("/admin/alliance/activities/%d", a.ID)); st != 404 {
					t.Fatalf("%s reads its page: %d", name, st)
				}
				if st, _ := c.JSON("POST", path+"/checkins", map[string]any{"resident_ids": []int64{w.residentID}}, nil); st != 404 {
					t.Fatalf("%s checks in: %d", name, st)
				}
				var list []alliance.Activity
				if st, body := c.JSON("GET", "/api/v1/alliance/activities", nil, &list); st != 200 || strings.Contains(body, a.Title) {
					t.Fatalf("%s lists it: %d %s", name, st, body)
				}
			}
			// Its own unit's liaison reads it, and may not check people in.
			var got alliance.ActivityDetail
			if st, body := w.liaison1.JSON("GET", path, nil, &got); st != 200 || got.ID != a.ID {
				t.Fatalf("own liaison: %d %s", st, body)
			}
			if st, body := w.liaison1.Get(fmt.Sprintf("/admin/alliance/activities/%d", a.ID)); st != 200 || !strings.Contains(body, a.Title) {
				t.Fatalf("own liaison's page: %d", st)
			}
			if st, body := w.liaison1.Get("/admin/alliance/activities"); st != 200 || !strings.Contains(body, a.Title) {
				t.Fatalf("own liaison's list: %d", st)
			}
			if st, _ := w.liaison1.JSON("POST", path+"/checkins", map[string]any{"resident_ids": []int64{w.residentID}}, nil); st != 403 {
				t.Fatalf("liaison checks in: %d", st)
			}
			// The village's admin sees it, but does not cancel the town's activity.
			if st, _ := w.admin.JSON("GET", path, nil, nil); st != 200 {
				t.Fatalf("village admin: %d", st)
			}
			if st, _ := w.admin.JSON("POST", path+"/cancel", map[string]any{"reason": "x"}, nil); st != 403 {
				t.Fatalf("village admin cancels: %d", st)
			}
		})

		t.Run("pages", func(t *testing.T) {
			town, admin, res := w.env.Browser(demo.PhoneTownAdmin), w.env.Browser(demo.PhoneVillageAdmin), w.env.Browser(demo.PhoneResident)
			day := time.Now().Add(72 * time.Hour).Format("2006-01-02")
			// The form refuses a wrong one on its fields, and plans a right one.
			if st, body := town.PostForm("/admin/alliance/activities", url.Values{"kind": {"service_day"}, "title": {""}}); st != 422 || !strings.Contains(body, "请至少选择一家组织单位") {
				t.Fatalf("a wrong form: %d", st)
			}
			form := url.Values{"kind": {"elderly_day"}, "title": {"敬老志愿服务创新日"}, "place": {"养老驿站"}, "starts_at": {day + "T14:00"}, "ends_at": {day + "T16:00"},
				"capacity": {"30"}, "rule_code": {"alliance"}, "unit_ids": {fmt.Sprint(w.unit1), fmt.Sprint(w.unit2)}, "village_ids": {fmt.Sprint(w.village)}}
			st, body := town.PostForm("/admin/alliance/activities", form)
			if st != 303 {
				t.Fatalf("plan: %d %s", st, body)
			}
			var id int64
			if err := d.Read().QueryRowContext(t.Context(), `SELECT MAX(id) FROM alliance_activities`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				who  *servertest.Client
				path string
				want string
			}{
				{town, "/admin/alliance/activities", "敬老志愿服务创新日"},
				{town, "/admin/alliance/activities/new", "参加联盟活动"},
				{town, fmt.Sprintf("/admin/alliance/activities/%d?edit=1", id), "养老驿站"},
				{admin, fmt.Sprintf("/admin/alliance/activities/%d", id), "现场签到链接"},
				{res, "/alliance/activities", "敬老志愿服务创新日"},
				{res, fmt.Sprintf("/alliance/activities/%d", id), "报名参加"},
			} {
				if st, body := c.who.Get(c.path); st != 200 || !strings.Contains(body, c.want) {
					t.Fatalf("%s: %d, no %q", c.path, st, c.want)
				}
			}
			if st, _ := res.PostForm(fmt.Sprintf("/alliance/activities/%d/registrations", id), nil); st != 303 {
				t.Fatalf("register: %d", st)
			}
			// At the door: the staff page's link carries the QR's token; the resident checks in with it.
			w.begin(t, id)
			_, page := admin.Get(fmt.Sprintf("/admin/alliance/activities/%d", id))
			i := strings.Index(page, "?token=")
			if i < 0 {
				t.Fatal("no check-in link on the staff page")
			}
			token := page[i+len("?token=") : i+strings.IndexByte(page[i:], '"')]
			if st, body := res.PostForm(fmt.Sprintf("/alliance/activities/%d/checkins", id), url.Values{"token": {token}}); st != 303 {
				t.Fatalf("self check-in: %d %s", st, body)
			}
			if st, body := res.Get(fmt.Sprintf("/alliance/activities/%d", id)); st != 200 || !strings.Contains(body, "您已签到") {
				t.Fatalf("after checking in: %d", st)
			}
			// Staff find a neighbour who did not register, check them in, and close after asking.
			if st, body := admin.Get(fmt.Sprintf("/admin/alliance/activities/%d?q=%s", id, url.QueryEscape("村"))); st != 200 {
				t.Fatalf("find: %d %s", st, body)
			}
			if st, _ := admin.PostForm(fmt.Sprintf("/admin/alliance/activities/%d/checkins", id), url.Values{"resident_ids": {fmt.Sprint(w.neighbours(t, 1)[0])}}); st != 303 {
				t.Fatalf("roll call: %d", st)
			}
			if st, body := admin.PostForm(fmt.Sprintf("/admin/alliance/activities/%d/close", id), url.Values{"served": {"12"}, "served_method": {"估算"}}); st != 200 || !strings.Contains(body, "结束这个活动") {
				t.Fatalf("close asks first: %d", st)
			}
			if st, _ := admin.PostForm(fmt.Sprintf("/admin/alliance/activities/%d/close", id), url.Values{"served": {"12"}, "served_method": {"估算"}, "confirmed": {"1"}}); st != 303 {
				t.Fatalf("close: %d", st)
			}
			if st, body := admin.Get(fmt.Sprintf("/admin/alliance/activities/%d", id)); st != 200 || !strings.Contains(body, "积分已发") || !strings.Contains(body, "共 14 人次") {
				t.Fatalf("closed page: %d", st)
			}
		})
	})
}
