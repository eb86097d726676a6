package honours_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/honours"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// actionWorld is the small demo town with its town admin, 前疃村's admin and demo resident, and
// 东堡村's admin, under a rule that pays 3 points for taking part in an action.
type actionWorld struct {
	env                   *servertest.Env
	town, admin, other    *servertest.Client
	resident              *servertest.Client
	village, otherVillage int64
	residentID            int64
	month, today          string
}

func newActionWorld(t *testing.T, env *servertest.Env) *actionWorld {
	t.Helper()
	w := &actionWorld{env: env, town: env.API(demo.PhoneTownAdmin), admin: env.API(demo.PhoneVillageAdmin), other: env.API(demo.PhoneVillageAdmin2),
		resident: env.API(demo.PhoneResident)}
	ctx := context.Background()
	q := env.Sys.DB.Read()
	for _, x := range []struct {
		sql string
		arg any
		to  *int64
	}{
		{`SELECT id FROM villages WHERE name = $1`, "前疃村", &w.village},
		{`SELECT id FROM villages WHERE name = $1`, "东堡村", &w.otherVillage},
		{`SELECT resident_id FROM accounts WHERE phone = $1`, demo.PhoneResident, &w.residentID},
	} {
		if err := q.QueryRowContext(ctx, x.sql, x.arg).Scan(x.to); err != nil {
			t.Fatal(err)
		}
	}
	town, err := env.Sys.People.Town(ctx, env.Info.TownID)
	if err != nil {
		t.Fatal(err)
	}
	w.month, w.today = town.Clock(db.Now).Month(), town.Clock(db.Now).Day()
	if err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, class := range []people.MemberClass{people.Villager, people.PartyMember, people.Minor} {
			if _, err := env.Sys.Bank.InsertVersion(ctx, tx, bank.VersionInput{TownID: env.Info.TownID, Class: class, AdoptedBy: "村民代表大会", AdoptedOn: "2026-01-01",
				Resolution: "测试", EffectiveFrom: "2026-01-01", Rules: []bank.RuleInput{{Code: "action", Name: "参加特色行动", Points: 3}}}, 0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

// create publishes an action of this month for 前疃村 taking every way, as the town admin.
func (w *actionWorld) create(t *testing.T, title string, extra map[string]any) honours.ActionDetail {
	t.Helper()
	in := map[string]any{"kind": "featured", "title": title, "month": w.month, "village_ids": []int64{w.village}, "ways": honours.ActionWays,
		"unit": "勺", "rule_code": "action"}
	for k, v := range extra {
		in[k] = v
	}
	var d honours.ActionDetail
	if st, body := w.town.JSON("POST", "/api/v1/actions", in, &d); st != 201 {
		t.Fatalf("create action: %d %s", st, body)
	}
	return d
}

func (w *actionWorld) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := w.env.Sys.DB.Read().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// residents are n active residents of a village other than the demo resident.
func (w *actionWorld) residents(t *testing.T, village int64, n int) []int64 {
	t.Helper()
	rows, err := w.env.Sys.DB.Read().QueryContext(context.Background(), `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' AND id <> $2 ORDER BY id LIMIT $3`,
		village, w.residentID, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if len(out) < n {
		t.Fatalf("only %d residents", len(out))
	}
	return out
}

// paid counts the ledger's transactions whose key starts with prefix.
func (w *actionWorld) paid(t *testing.T, prefix string) int {
	t.Helper()
	return w.count(t, `SELECT COUNT(*) FROM bank_transactions WHERE idem_key LIKE $1`, prefix+"%")
}

// actionLogin gives a resident an API session without a password check.
func actionLogin(t *testing.T, env *servertest.Env, residentID int64) *servertest.Client {
	t.Helper()
	ctx := context.Background()
	d := env.Sys.DB
	var villageID, townID int64
	if err := d.Read().QueryRowContext(ctx, `SELECT r.village_id, v.town_id FROM residents r JOIN villages v ON v.id = r.village_id WHERE r.id = $1`, residentID).Scan(&villageID, &townID); err != nil {
		t.Fatal(err)
	}
	var account int64
	err := d.Read().QueryRowContext(ctx, `SELECT id FROM accounts WHERE resident_id = $1`, residentID).Scan(&account)
	if db.IsNoRows(err) {
		err = d.Write().QueryRowContext(ctx, `INSERT INTO accounts (phone, name, resident_id, password_hash, created_at) VALUES ($1, '村民', $2, 'x', $3) RETURNING id`,
			fmt.Sprintf("1370000%04d", residentID%10000), residentID, db.Now()).Scan(&account)
		if err == nil {
			_, err = d.Write().ExecContext(ctx, `INSERT INTO account_roles (account_id, role, town_id, village_id, created_at) VALUES ($1, 'resident', $2, $3, $4)`,
				account, townID, villageID, db.Now())
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	if _, err := d.Write().ExecContext(ctx, `INSERT INTO sessions (token_hash, account_id, kind, csrf, created_at, expires_at) VALUES ($1, $2, 'api', $3, $4, $5)`,
		hex.EncodeToString(sum[:]), account, tok, db.Now(), db.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := env.Anonymous()
	c.Token = tok
	return c
}

func actionPNG(t *testing.T) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		for y := range 30 {
			m.Set(x, y, color.RGBA{uint8(x * 6), uint8(y * 8), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestActions(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newActionWorld(t, env)

		t.Run("wrong input names the field and stores nothing", func(t *testing.T) {
			before := w.count(t, `SELECT COUNT(*) FROM honours_actions`)
			st, body := w.town.JSON("POST", "/api/v1/actions", map[string]any{"kind": "party", "month": "明年", "ways": []string{"dance"},
				"village_ids": []int64{w.village + 100000}, "rule_code": "nothing", "pay_per": "contribution", "pay_cap": 0, "poster": []byte("not an image")}, nil)
			for _, f := range []string{`"kind"`, `"title"`, `"month"`, `"ways"`, `"village_ids"`, `"rule_code"`, `"pay_cap"`} {
				if st != 422 || !strings.Contains(body, f) {
					t.Fatalf("wrong input: %d, %s not named: %s", st, f, body)
				}
			}
			// A poster that is no image is refused on its field once the rest is right.
			st, body = w.town.JSON("POST", "/api/v1/actions", map[string]any{"kind": "brand", "title": "集体婚礼", "month": w.month, "all_villages": true,
				"ways": []string{"attend"}, "poster": []byte("not an image")}, nil)
			if st != 422 || !strings.Contains(body, `"poster"`) {
				t.Fatalf("bad poster: %d %s", st, body)
			}
			if n := w.count(t, `SELECT COUNT(*) FROM honours_actions`); n != before {
				t.Fatal("a refused action was stored")
			}
			if n := w.count(t, `SELECT COUNT(*) FROM honours_photos`); n != 0 {
				t.Fatal("a refused poster was stored")
			}
			// Village staff do not publish the town's actions.
			if st, _ := w.admin.JSON("POST", "/api/v1/actions", map[string]any{"kind": "featured"}, nil); st != 403 {
				t.Fatalf("village admin publishes: %d", st)
			}
			// A contribution without an amount, of a resident of another village: nothing kept.
			x := w.create(t, "每人一勺米", nil)
			stranger := w.residents(t, w.otherVillage, 1)[0]
			st, body = w.admin.JSON("POST", fmt.Sprintf("/api/v1/actions/%d/participations", x.ID), map[string]any{"way": "contribution", "resident_id": stranger}, nil)
			if st != 422 || !strings.Contains(body, `"amount"`) || !strings.Contains(body, `"resident_id"`) {
				t.Fatalf("bad contribution: %d %s", st, body)
			}
			st, body = w.resident.JSON("POST", fmt.Sprintf("/api/v1/actions/%d/participations", x.ID), map[string]any{"way": "deed", "happened_on": "2020-01-01"}, nil)
			for _, f := range []string{`"story"`, `"happened_on"`, `"photos"`} {
				if st != 422 || !strings.Contains(body, f) {
					t.Fatalf("bad deed: %d, %s not named: %s", st, f, body)
				}
			}
			if n := w.count(t, `SELECT COUNT(*) FROM honours_action_contributions`) + w.count(t, `SELECT COUNT(*) FROM honours_action_deeds`); n != 0 {
				t.Fatalf("%d refused participations stored", n)
			}
		})

		t.Run("points paid once per person", func(t *testing.T) {
			x := w.create(t, "小年扫院擦窗", nil)
			path := fmt.Sprintf("/api/v1/actions/%d/participations", x.ID)
			if st, body := w.resident.JSON("POST", path, map[string]any{"way": "register"}, nil); st != 201 {
				t.Fatalf("register: %d %s", st, body)
			}
			if st, body := w.resident.JSON("POST", path, map[string]any{"way": "register"}, nil); st != 200 {
				t.Fatalf("register again: %d %s", st, body)
			}
			key := fmt.Sprintf("honours:action:%d:resident:%d", x.ID, w.residentID)
			// The roll call, the deed and two contributions of the same person pay once.
			if st, body := w.admin.JSON("POST", path, map[string]any{"way": "attend", "resident_ids": []int64{w.residentID}}, nil); st != 201 {
				t.Fatalf("check in: %d %s", st, body)
			}
			for range 2 {
				if st, body := w.admin.JSON("POST", path, map[string]any{"way": "contribution", "resident_id": w.residentID, "amount": 1}, nil); st != 201 {
					t.Fatalf("contribution: %d %s", st, body)
				}
			}
			var d honours.ActionDetail
			if st, body := w.resident.JSON("POST", path, map[string]any{"way": "deed", "story": "帮独居的王奶奶扫院子", "happened_on": w.today, "consent": true,
				"photos": [][]byte{actionPNG(t)}}, &d); st != 201 {
				t.Fatalf("deed: %d %s", st, body)
			}
			deed := d.Mine.Deeds[0]
			// 前疃村's resident may not review; 东堡村's admin does not see it.
			if st, _ := w.resident.JSON("POST", fmt.Sprintf("/api/v1/actions/%d/deeds/%d", x.ID, deed.ID), map[string]any{"approve": true}, nil); st != 403 {
				t.Fatalf("resident reviews: %d", st)
			}
			if st, _ := w.other.JSON("POST", fmt.Sprintf("/api/v1/actions/%d/deeds/%d", x.ID, deed.ID), map[string]any{"approve": true}, nil); st != 404 {
				t.Fatalf("another village's admin reviews: %d", st)
			}
			var got honours.Deed
			if st, body := w.admin.JSON("POST", fmt.Sprintf("/api/v1/actions/%d/deeds/%d", x.ID, deed.ID), map[string]any{"approve": true}, &got); st != 200 || got.Status != "approved" || got.PayNote != "honours.action.paid_once" {
				t.Fatalf("approve: %d %s", st, body)
			}
			if n := w.paid(t, key); n != 1 {
				t.Fatalf("paid %d times, want 1", n)
			}
			if n := w.paid(t, fmt.Sprintf("honours:action:%d:", x.ID)); n != 1 {
				t.Fatalf("the action paid %d times, want 1", n)
			}
			if n := w.count(t, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND title = '行动积分到账'`, w.residentID); n != 1 {
				t.Fatalf("told of the points %d times", n)
			}
			// Everyone of 前疃村 sees the deed and its photo (consent given), and the counts.
			var seen honours.ActionDetail
			neighbour := actionLogin(t, w.env, w.residents(t, w.village, 1)[0])
			if st, body := neighbour.JSON("GET", fmt.Sprintf("/api/v1/actions/%d", x.ID), nil, &seen); st != 200 || len(seen.Deeds) != 1 || len(seen.Deeds[0].Photos) != 1 {
				t.Fatalf("the action's page: %d %s", st, body)
			}
			if st, _ := neighbour.Get(fmt.Sprintf("/honours/photos/%d", seen.Deeds[0].Photos[0])); st != 200 {
				t.Fatalf("deed photo with consent: %d", st)
			}
			if c := seen.ByVillage[0]; c.People != 1 || c.Attended != 1 || c.Deeds != 1 || c.Households != 1 || c.Amount != 2 {
				t.Fatalf("counts %+v", c)
			}

			// Concurrent roll calls and contributions for one person: paid once.
			one := w.residents(t, w.village, 2)[1]
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := map[string]any{"way": "contribution", "resident_id": one, "amount": 1}
					if i%2 == 0 {
						body = map[string]any{"way": "attend", "resident_ids": []int64{one}}
					}
					if st, resp := w.admin.JSON("POST", path, body, nil); st != 201 && st != 200 {
						t.Errorf("concurrent %d: %d %s", i, st, resp)
					}
				}()
			}
			wg.Wait()
			if n := w.paid(t, fmt.Sprintf("honours:action:%d:resident:%d", x.ID, one)); n != 1 {
				t.Fatalf("concurrent: paid %d times, want 1", n)
			}
			if n := w.count(t, `SELECT COUNT(*) FROM honours_action_contributions WHERE action_id = $1 AND resident_id = $2`, x.ID, one); n != 8 {
				t.Fatalf("concurrent: %d contributions kept, want 8", n)
			}
		})

		t.Run("per contribution with a cap", func(t *testing.T) {
			x := w.create(t, "腊八幸福粥", map[string]any{"title": "腊八每人一勺米", "pay_per": "contribution", "pay_cap": 2, "ways": []string{"contribution"}})
			path := fmt.Sprintf("/api/v1/actions/%d/participations", x.ID)
			who := w.residents(t, w.village, 3)[2]
			var wg sync.WaitGroup
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if st, body := w.admin.JSON("POST", path, map[string]any{"way": "contribution", "resident_id": who, "amount": 2}, nil); st != 201 {
						t.Errorf("contribution: %d %s", st, body)
					}
				}()
			}
			wg.Wait()
			if n := w.paid(t, fmt.Sprintf("honours:action:%d:contribution:", x.ID)); n != 2 {
				t.Fatalf("paid %d contributions, want the cap of 2", n)
			}
			var p honours.Participations
			if st, body := w.admin.JSON("GET", path, nil, &p); st != 200 || len(p.Contributions) != 6 {
				t.Fatalf("participations: %d %s", st, body)
			}
			capped := 0
			for _, c := range p.Contributions {
				if c.PayNote == "honours.action.cap_reached" {
					capped++
				}
			}
			if capped != 4 {
				t.Fatalf("%d contributions say the cap is reached, want 4", capped)
			}
			// A household's contribution is credited to its head.
			var head, household int64
			if err := w.env.Sys.DB.Read().QueryRowContext(t.Context(), `SELECT h.id, h.head_resident_id FROM households h JOIN residents r ON r.id = h.head_resident_id
				WHERE h.village_id = $1 AND r.status = 'active' AND r.id <> $2 ORDER BY h.id LIMIT 1`, w.village, who).Scan(&household, &head); err != nil {
				t.Fatal(err)
			}
			if st, body := w.admin.JSON("POST", path, map[string]any{"way": "contribution", "household_id": household, "amount": 3}, nil); st != 201 {
				t.Fatalf("household: %d %s", st, body)
			}
			if n := w.count(t, `SELECT COUNT(*) FROM honours_action_contributions WHERE action_id = $1 AND household_id = $2 AND resident_id = $3 AND amount = 3`, x.ID, household, head); n != 1 {
				t.Fatal("the household's contribution was not credited to its head")
			}
		})

		t.Run("another village's resident cannot take part", func(t *testing.T) {
			x := w.create(t, "儿童疫苗宣传站", map[string]any{"kind": "brand"})
			stranger := actionLogin(t, w.env, w.residents(t, w.otherVillage, 1)[0])
			path := fmt.Sprintf("/api/v1/actions/%d", x.ID)
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"GET", path, nil},
				{"GET", path + "/participations", nil},
				{"POST", path + "/participations", map[string]any{"way": "register"}},
				{"POST", path + "/participations", map[string]any{"way": "deed", "story": "宣传", "happened_on": w.today, "photos": [][]byte{actionPNG(t)}}},
			} {
				if st, body := stranger.JSON(c.method, c.path, c.body, nil); st != 404 {
					t.Fatalf("%s %s by another village's resident: %d %s", c.method, c.path, st, body)
				}
			}
			if st, _ := stranger.Get(fmt.Sprintf("/honours/actions/%d", x.ID)); st != 404 {
				t.Fatalf("the page: %d", st)
			}
			// Nor does 东堡村's admin see it, or check 前疃村's people in.
			if st, _ := w.other.JSON("POST", path+"/participations", map[string]any{"way": "attend", "resident_ids": []int64{w.residentID}}, nil); st != 404 {
				t.Fatalf("another village's admin checks in: %d", st)
			}
			if n := w.count(t, `SELECT COUNT(*) FROM attend_entries e JOIN attend_events ev ON ev.id = e.event_id WHERE ev.kind = 'honours.action' AND ev.ref_id = $1`, x.ID) +
				w.count(t, `SELECT COUNT(*) FROM honours_action_deeds WHERE action_id = $1`, x.ID); n != 0 {
				t.Fatalf("%d refused participations stored", n)
			}
			// The action's poster is seen by its villages only.
			if st, body := w.town.JSON("POST", path, map[string]any{"kind": "brand", "title": "儿童疫苗宣传站", "month": w.month, "village_ids": []int64{w.village},
				"ways": []string{"attend"}, "poster": actionPNG(t)}, &x); st != 200 || x.PosterID == 0 {
				t.Fatalf("poster: %d %s", st, body)
			}
			if st, _ := w.resident.Get(fmt.Sprintf("/honours/photos/%d", x.PosterID)); st != 200 {
				t.Fatalf("poster to its village: %d", st)
			}
			if st, _ := stranger.Get(fmt.Sprintf("/honours/photos/%d", x.PosterID)); st != 404 {
				t.Fatalf("poster to another village: %d", st)
			}
		})

		t.Run("pages", func(t *testing.T) {
			x := w.create(t, "文明实践集体婚礼", map[string]any{"kind": "brand"})
			for _, c := range []struct {
				who  *servertest.Client
				path string
			}{
				{w.env.Browser(demo.PhoneTownAdmin), "/admin/honours/actions"},
				{w.env.Browser(demo.PhoneTownAdmin), fmt.Sprintf("/admin/honours/actions/%d", x.ID)},
				{w.env.Browser(demo.PhoneTownAdmin), fmt.Sprintf("/admin/honours/actions/%d?edit=1", x.ID)},
				{w.env.Browser(demo.PhoneTownAdmin), "/admin/honours/actions/new"},
				{w.env.Browser(demo.PhoneTownAdmin), "/admin/honours/calendar"},
				{w.env.Browser(demo.PhoneVillageAdmin), fmt.Sprintf("/admin/honours/actions/%d?q=%s", x.ID, "王")},
				{w.env.Browser(demo.PhoneResident), "/honours/actions"},
				{w.env.Browser(demo.PhoneResident), fmt.Sprintf("/honours/actions/%d", x.ID)},
				{w.env.Browser(demo.PhoneResident), "/honours/calendar"},
			} {
				if st, body := c.who.Get(c.path); st != 200 || !strings.Contains(body, "<h1>") {
					t.Fatalf("%s: %d %.300s", c.path, st, body)
				}
			}
		})
	})
}

func TestCalendarCountsEachActivityOnce(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80}, true, func(t *testing.T, env *servertest.Env) {
		w := newActionWorld(t, env)
		ctx := context.Background()
		loc, err := env.Sys.People.Zone(ctx, env.Info.TownID)
		if err != nil {
			t.Fatal(err)
		}
		year := time.Now().In(loc).Year()
		var before honours.Calendar
		if st, body := w.resident.JSON("GET", fmt.Sprintf("/api/v1/honours/calendar?year=%d", year), nil, &before); st != 200 {
			t.Fatalf("calendar: %d %s", st, body)
		}
		// An action with a roll (an event in the attendance kit) is one activity, not two.
		x := w.create(t, "腊八幸福粥", nil)
		var after honours.Calendar
		if st, body := w.town.JSON("GET", fmt.Sprintf("/api/v1/honours/calendar?year=%d", year), nil, &after); st != 200 {
			t.Fatalf("calendar: %d %s", st, body)
		}
		if after.Total != before.Total+1 {
			t.Fatalf("an action added %d to the year", after.Total-before.Total)
		}
		// A separate count: each pillar's own records of the year, months of the town's calendar.
		want := map[string]int{}
		q := env.Sys.DB.Read()
		for _, src := range []struct{ table, where string }{
			{"volunteer_shifts", "TRUE"},
			{"school_lessons", "status <> 'cancelled'"},
			{"consult_meetings", "status <> 'cancelled'"},
			{"alliance_activities", "status <> 'cancelled'"},
		} {
			rows, err := q.QueryContext(ctx, `SELECT starts_at FROM `+src.table+` WHERE town_id = $1 AND `+src.where, env.Info.TownID)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var at time.Time
				if err := rows.Scan(&at); err != nil {
					t.Fatal(err)
				}
				if at.In(loc).Year() == year {
					want[at.In(loc).Format("2006-01")]++
				}
			}
			rows.Close()
		}
		rows, err := q.QueryContext(ctx, `SELECT month FROM honours_actions WHERE town_id = $1 AND status <> 'cancelled'`, env.Info.TownID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var m string
			rows.Scan(&m)
			if strings.HasPrefix(m, fmt.Sprint(year)) {
				want[m]++
			}
		}
		rows.Close()
		total, sum, items := 0, 0, 0
		for _, m := range after.Months {
			if m.Count != want[m.Month] {
				t.Errorf("%s: %d activities, counted %d", m.Month, m.Count, want[m.Month])
			}
			total += want[m.Month]
			sum += m.Count
			items += len(m.Items)
		}
		if after.Total != total || sum != total || items != total {
			t.Fatalf("total %d, months %d, items %d, counted %d", after.Total, sum, items, total)
		}
		if total < 12 {
			t.Fatalf("the demo year holds only %d activities", total)
		}
		found := 0
		for _, m := range after.Months {
			for _, it := range m.Items {
				if it.Pillar == "action" && it.RefID == x.ID {
					found++
				}
			}
		}
		if found != 1 {
			t.Fatalf("the action is listed %d times", found)
		}
	})
}
