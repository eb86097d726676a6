package alliance_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/alliance"
	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// listsWorld is a town ready for the three lists: two member units, 北投集团 (whose liaison login
// is a resident's, so what it is told can be read) and 蒙牛乳业, each with a liaison; the admins
// of the town, 前疃村 and 东堡村. The alliance clock is fixed at 2 December 2026.
type listsWorld struct {
	env                  *servertest.Env
	town, village, other *servertest.Client // API clients of the town's, 前疃村's and 东堡村's admins
	resident             *servertest.Client
	liaisonA, liaisonB   *servertest.Client // 北投集团's and 蒙牛's liaisons
	unitA, unitB         int64
	liaisonResident      int64 // the resident whose login is 北投集团's liaison
	villageID, otherID   int64 // 前疃村, 东堡村
	mu                   sync.Mutex
	now                  time.Time
}

// liaisonPhones are the test's liaison logins.
const liaisonPhoneA, liaisonPhoneB = "13900000601", "13900000602"

func newListsWorld(t *testing.T, d *db.DB) *listsWorld {
	t.Helper()
	env := servertest.New(t, d)
	w := &listsWorld{env: env, now: time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)}
	env.Sys.Alliance.Now = func() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }
	ctx := context.Background()
	q := env.Sys.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT r.id FROM residents r WHERE r.town_id = $1 AND r.status = 'active'
		AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.resident_id = r.id) ORDER BY r.id LIMIT 1`, env.Info.TownID).Scan(&w.liaisonResident); err != nil {
		t.Fatal(err)
	}
	err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, u := range []struct {
			name, phone string
			resident    int64
			id          *int64
		}{{"北京北投集团", liaisonPhoneA, w.liaisonResident, &w.unitA}, {"蒙牛乳业（北京）有限责任公司", liaisonPhoneB, 0, &w.unitB}} {
			if err := tx.QueryRowContext(ctx, `INSERT INTO alliance_units (town_id, name, kind, joined_on, active, created_at, updated_at)
				VALUES ($1, $2, 'state_enterprise', '2020-05-01', TRUE, $3, $3) RETURNING id`, env.Info.TownID, u.name, w.now).Scan(u.id); err != nil {
				return err
			}
			acc, err := env.Sys.Auth.InsertAccount(ctx, tx, u.phone, "联络员"+u.phone[7:], u.resident, auth.HashPassword(demo.DemoPassword), false)
			if err != nil {
				return err
			}
			if err := env.Sys.Auth.InsertGrant(ctx, tx, acc, auth.Grant{Role: auth.UnitLiaison, TownID: env.Info.TownID}); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_unit_accounts (unit_id, account_id) VALUES ($1, $2)`, *u.id, acc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.town, w.village, w.other, w.resident = env.API(demo.PhoneTownAdmin), env.API(demo.PhoneVillageAdmin), env.API(demo.PhoneVillageAdmin2), env.API(demo.PhoneResident)
	w.liaisonA, w.liaisonB = env.API(liaisonPhoneA), env.API(liaisonPhoneB)
	var me people.ResidentJSON
	if st, body := w.resident.JSON("GET", "/api/v1/me", nil, &me); st != 200 {
		t.Fatalf("me: %d %s", st, body)
	}
	w.villageID = me.VillageID
	if err := q.QueryRowContext(ctx, `SELECT village_id FROM account_roles ar JOIN accounts a ON a.id = ar.account_id WHERE a.phone = $1 AND ar.role = 'village_admin'`,
		demo.PhoneVillageAdmin2).Scan(&w.otherID); err != nil {
		t.Fatal(err)
	}
	return w
}

// resource offers a resource through the API as c and returns it.
func (w *listsWorld) resource(t *testing.T, c *servertest.Client, in map[string]any) alliance.Resource {
	t.Helper()
	var x alliance.Resource
	if st, body := c.JSON("POST", "/api/v1/alliance/resources", in, &x); st != 201 {
		t.Fatalf("resource: %d %s", st, body)
	}
	return x
}

// need posts a need through the API as c and returns it.
func (w *listsWorld) need(t *testing.T, c *servertest.Client, in map[string]any) alliance.Need {
	t.Helper()
	var x alliance.Need
	if st, body := c.JSON("POST", "/api/v1/alliance/needs", in, &x); st != 201 {
		t.Fatalf("need: %d %s", st, body)
	}
	return x
}

func countRows(t *testing.T, d *db.DB, table string) int {
	t.Helper()
	var n int
	if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestResourcesAndNeeds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newListsWorld(t, d)
		t.Run("resources", func(t *testing.T) {
			// A liaison offers for its own unit; staff for any unit.
			mine := w.resource(t, w.liaisonA, map[string]any{"kind": "venue", "description": "北投大厦三层会议室", "amount": "可容纳80人", "from": "2026-12-01", "to": "2027-06-30"})
			if mine.UnitID != w.unitA || len(mine.VillageIDs) != 0 {
				t.Errorf("liaison's resource: %+v", mine)
			}
			theirs := w.resource(t, w.town, map[string]any{"unit_id": w.unitB, "kind": "goods", "description": "牛奶200箱", "from": "2026-12-01", "to": "2026-12-31", "village_ids": []int64{w.villageID}})
			if theirs.UnitID != w.unitB || len(theirs.Villages) != 1 {
				t.Errorf("staff's resource: %+v", theirs)
			}
			before := countRows(t, d, "alliance_resources")
			// Another unit's resource is not the liaison's to offer: the unit is hidden.
			if st, body := w.liaisonA.JSON("POST", "/api/v1/alliance/resources", map[string]any{"unit_id": w.unitB, "kind": "goods", "description": "x", "from": "2026-12-01", "to": "2026-12-31"}, nil); st != 404 {
				t.Errorf("liaison offers for another unit: %d %s", st, body)
			}
			if st, body := w.liaisonA.JSON("POST", "/api/v1/alliance/resources", map[string]any{"kind": "rockets", "description": "", "from": "2026-12-31", "to": "2026-12-01"}, nil); st != 422 ||
				!strings.Contains(body, `"kind"`) || !strings.Contains(body, `"description"`) || !strings.Contains(body, `"to"`) {
				t.Errorf("bad resource: %d %s", st, body)
			}
			if st, body := w.liaisonA.JSON("POST", "/api/v1/alliance/resources", map[string]any{"kind": "goods", "description": "x", "from": "2026-13-01", "to": "2026-12-01"}, nil); st != 422 || !strings.Contains(body, "field.day_invalid") && !strings.Contains(body, `"from"`) {
				t.Errorf("bad day: %d %s", st, body)
			}
			if st, _ := w.village.JSON("POST", "/api/v1/alliance/resources", map[string]any{"unit_id": w.unitA, "kind": "goods", "description": "x", "from": "2026-12-01", "to": "2026-12-31"}, nil); st != 403 && st != 404 {
				t.Errorf("village admin offers a resource: %d", st)
			}
			if n := countRows(t, d, "alliance_resources"); n != before {
				t.Errorf("refused offers stored something: %d, was %d", n, before)
			}
			// The liaison sees its own unit's only; the village all; a resident nothing.
			var list []alliance.Resource
			if st, body := w.liaisonB.JSON("GET", "/api/v1/alliance/resources", nil, &list); st != 200 || len(list) != 1 || list[0].ID != theirs.ID {
				t.Errorf("liaison B's resources: %d %s", st, body)
			}
			if st, body := w.village.JSON("GET", "/api/v1/alliance/resources", nil, &list); st != 200 || len(list) != 2 {
				t.Errorf("village's resources: %d %s", st, body)
			}
			if st, _ := w.resident.JSON("GET", "/api/v1/alliance/resources", nil, nil); st != 403 {
				t.Errorf("resident reads resources: %d", st)
			}
			// Withdrawing asks first and needs a reason; another unit's liaison is refused.
			b := w.env.Browser(liaisonPhoneA)
			path := fmt.Sprintf("/admin/alliance/resources/%d/withdraw", mine.ID)
			if st, body := b.PostForm(path, url.Values{}); st != 200 || !strings.Contains(body, "撤回这项资源") {
				t.Errorf("withdraw asks: %d", st)
			}
			if st, _ := w.env.Browser(liaisonPhoneB).PostForm(path, url.Values{"confirmed": {"1"}, "reason": {"不要了"}}); st != 403 && st != 404 {
				t.Errorf("another unit withdraws: %d", st)
			}
			if st, loc := b.Submit(path, url.Values{"confirmed": {"1"}, "reason": {"会议室装修"}}); st != 303 || !strings.Contains(loc, "flash=") {
				t.Errorf("withdraw: %d %s", st, loc)
			}
			if st, body := b.Get("/admin/alliance/resources?withdrawn=1"); st != 200 || !strings.Contains(body, "已撤回") {
				t.Errorf("resources page: %d", st)
			}
		})
		t.Run("needs", func(t *testing.T) {
			n := w.need(t, w.village, map[string]any{"village_id": w.villageID, "kind": "goods", "description": "困难老人冬季慰问", "people": 35, "by": "2026-12-20"})
			if n.Source != "typed" || n.Village == "" {
				t.Errorf("need: %+v", n)
			}
			before := countRows(t, d, "alliance_needs")
			if st, _ := w.village.JSON("POST", "/api/v1/alliance/needs", map[string]any{"village_id": w.otherID, "kind": "goods", "description": "x", "people": 1, "by": "2026-12-20"}, nil); st != 404 {
				t.Errorf("another village's need: %d", st)
			}
			if st, body := w.village.JSON("POST", "/api/v1/alliance/needs", map[string]any{"village_id": w.villageID, "kind": "", "description": "x", "people": -1, "by": "2026-11-01"}, nil); st != 422 ||
				!strings.Contains(body, `"kind"`) || !strings.Contains(body, `"people"`) || !strings.Contains(body, `"by"`) {
				t.Errorf("bad need: %d %s", st, body)
			}
			if st, _ := w.liaisonA.JSON("POST", "/api/v1/alliance/needs", map[string]any{"village_id": w.villageID, "kind": "goods", "description": "x", "people": 1, "by": "2026-12-20"}, nil); st != 403 {
				t.Errorf("liaison posts a need: %d", st)
			}
			// From a 微志愿 need of the village: its text is taken, and it is posted once.
			var vn int64
			if err := d.Write().QueryRowContext(context.Background(), `INSERT INTO volunteer_needs (town_id, village_id, category, description, for_name, urgency, status, source, created_at)
				VALUES ($1, $2, 'other', '独居老人家里需要修缮屋顶', '张大爷', 'normal', 'open', 'self', $3) RETURNING id`, w.env.Info.TownID, w.villageID, w.now).Scan(&vn); err != nil {
				t.Fatal(err)
			}
			if st, body := w.other.JSON("POST", "/api/v1/alliance/needs", map[string]any{"source": "volunteer", "source_id": vn, "kind": "service", "people": 1, "by": "2026-12-30"}, nil); st != 404 {
				t.Errorf("东堡村 posts 前疃村's volunteer need: %d %s", st, body)
			}
			if st, body := w.village.JSON("POST", "/api/v1/alliance/needs", map[string]any{"source": "volunteer", "source_id": vn + 1000, "kind": "service", "people": 1, "by": "2026-12-30"}, nil); st != 404 || !strings.Contains(body, "source_id") {
				t.Errorf("missing source: %d %s", st, body)
			}
			if n := countRows(t, d, "alliance_needs"); n != before {
				t.Errorf("refused needs stored something: %d, was %d", n, before)
			}
			// A volunteer need is about a household: the village describes it for the units in its
			// own words, and its text is not copied.
			if st, body := w.village.JSON("POST", "/api/v1/alliance/needs", map[string]any{"source": "volunteer", "source_id": vn, "kind": "service", "people": 1, "by": "2026-12-30"}, nil); st != 422 || !strings.Contains(body, "description") {
				t.Errorf("a volunteer need without words of the village's: %d %s", st, body)
			}
			from := w.need(t, w.village, map[string]any{"source": "volunteer", "source_id": vn, "kind": "service", "people": 1, "by": "2026-12-30", "description": "老人房屋修缮"})
			if from.Description != "老人房屋修缮" || from.VillageID != w.villageID || from.SourceID != vn {
				t.Errorf("need from volunteer: %+v", from)
			}
			if st, body := w.village.JSON("POST", "/api/v1/alliance/needs", map[string]any{"source": "volunteer", "source_id": vn, "kind": "service", "people": 1, "by": "2026-12-30", "description": "再报一次"}, nil); st != 409 {
				t.Errorf("the same source twice: %d %s", st, body)
			}
			var list []alliance.Need
			if st, body := w.other.JSON("GET", "/api/v1/alliance/needs", nil, &list); st != 200 || len(list) != 0 {
				t.Errorf("东堡村 sees 前疃村's needs: %d %s", st, body)
			}
			if st, body := w.liaisonB.JSON("GET", "/api/v1/alliance/needs", nil, &list); st != 200 || len(list) != 2 {
				t.Errorf("a liaison sees the open needs: %d %s", st, body)
			}
			// The page offers the form; a typed need posts and says so.
			b := w.env.Browser(demo.PhoneVillageAdmin)
			if st, loc := b.Submit("/admin/alliance/needs", url.Values{"village_id": {fmt.Sprint(w.villageID)}, "kind": {"training"}, "description": {"电商直播培训"}, "people": {"20"}, "by": {"2027-03-01"}}); st != 303 || !strings.Contains(loc, "flash=") {
				t.Errorf("post need form: %d %s", st, loc)
			}
			if st, body := b.PostForm("/admin/alliance/needs", url.Values{"village_id": {fmt.Sprint(w.villageID)}, "kind": {"training"}, "description": {""}, "by": {"2027-03-01"}}); st != 422 || !strings.Contains(body, "电商") && !strings.Contains(body, "role=\"alert\"") {
				t.Errorf("bad need form: %d", st)
			}
		})
		t.Run("match", func(t *testing.T) {
			var b alliance.MatchBoard
			st, page := w.env.Browser(demo.PhoneTownAdmin).Get("/admin/alliance/match")
			if st != 200 || !strings.Contains(page, "牛奶200箱") || !strings.Contains(page, "困难老人冬季慰问") {
				t.Errorf("match page: %d", st)
			}
			actor, err := w.env.Sys.Auth.Authenticate(context.Background(), w.town.Token)
			if err != nil {
				t.Fatal(err)
			}
			if b, err = w.env.Sys.Alliance.Match(context.Background(), actor); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, s := range b.Suggestions {
				if s.Need.Description == "困难老人冬季慰问" && len(s.Resources) == 1 && s.Resources[0].Description == "牛奶200箱" {
					found = true
				}
			}
			if !found {
				t.Errorf("no suggestion of the milk for the elderly: %+v", b.Suggestions)
			}
			if st, _ := w.env.Browser(demo.PhoneVillageAdmin).Get("/admin/alliance/match"); st != 403 && st != 404 {
				t.Errorf("village admin's match page: %d", st)
			}
		})
	})
}
