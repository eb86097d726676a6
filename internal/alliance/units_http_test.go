package alliance_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"siwei/internal/alliance"
	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// The logins the units' test world makes.
const (
	phoneAllianceAdmin = "13900000601"
	phoneLiaisonA      = "13900000602"
	phoneLiaisonB      = "13900000603"
	phoneNewLiaison    = "13900000604"
	phoneLoose         = "13900000605" // a unit_liaison login of the town given to no unit
)

// unitsWorld is the small demo town with a second town, its alliance admin, and two member units,
// each with a liaison login.
type unitsWorld struct {
	env          *servertest.Env
	admin        *servertest.Client // the town's alliance admin (API)
	unitA, unitB alliance.Unit
}

func newUnitsWorld(t *testing.T, d *db.DB) *unitsWorld {
	t.Helper()
	env := servertest.NewWith(t, d, demo.Options{Seed: 1, Residents: 50, SecondTown: true})
	ctx := context.Background()
	login := func(phone, name string, role auth.Role) {
		t.Helper()
		if _, err := env.Sys.Auth.CreateAccount(ctx, auth.System("test"), auth.AccountInput{Phone: phone, Name: name, Password: demo.DemoPassword,
			Grants: []auth.Grant{{Role: role, TownID: env.Info.TownID}}}); err != nil {
			t.Fatal(err)
		}
	}
	login(phoneAllianceAdmin, "联盟管理员", auth.AllianceAdmin)
	login(phoneLiaisonA, "联络员甲", auth.UnitLiaison)
	login(phoneLiaisonB, "联络员乙", auth.UnitLiaison)
	login(phoneLoose, "联络员丙", auth.UnitLiaison)
	w := &unitsWorld{env: env, admin: env.API(phoneAllianceAdmin)}
	for _, x := range []struct {
		name, kind string
		u          *alliance.Unit
	}{{"北京市财政局", "agency", &w.unitA}, {"蒙牛乳业（北京）有限责任公司", "private_enterprise", &w.unitB}} {
		if st, body := w.admin.JSON("POST", "/api/v1/alliance/units", map[string]any{"name": x.name, "kind": x.kind, "party_org": "党支部",
			"liaison_name": "联系人", "liaison_phone": "010-69541234", "joined_on": "2024-03-01"}, x.u); st != 201 {
			t.Fatalf("unit %s: %d %s", x.name, st, body)
		}
	}
	for _, x := range []struct {
		id    int64
		phone string
	}{{w.unitA.ID, phoneLiaisonA}, {w.unitB.ID, phoneLiaisonB}} {
		var res alliance.UnitAccountResult
		if st, body := w.admin.JSON("POST", fmt.Sprintf("/api/v1/alliance/units/%d/accounts", x.id), map[string]any{"phone": x.phone}, &res); st != 201 || res.Password != "" {
			t.Fatalf("link %s: %d %s", x.phone, st, body)
		}
	}
	return w
}

func unitPath(id int64) string { return fmt.Sprintf("/api/v1/alliance/units/%d", id) }

func TestUnits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newUnitsWorld(t, d)
		env := w.env

		t.Run("WrongInput", func(t *testing.T) {
			var before int
			env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM alliance_units`).Scan(&before)
			if st, body := w.admin.JSON("POST", "/api/v1/alliance/units", map[string]any{"name": "", "kind": "bank", "liaison_phone": "电话", "joined_on": "2024-02-30"}, nil); st != 422 ||
				!strings.Contains(body, `"name"`) || !strings.Contains(body, `"kind"`) || !strings.Contains(body, `"liaison_phone"`) || !strings.Contains(body, "field.day_invalid") {
				t.Errorf("bad unit: %d %s", st, body)
			}
			if st, body := w.admin.JSON("POST", "/api/v1/alliance/units", map[string]any{"name": "未来单位", "kind": "agency", "joined_on": "2099-01-01"}, nil); st != 422 || !strings.Contains(body, "joined_future") {
				t.Errorf("joined in the future: %d %s", st, body)
			}
			if st, body := w.admin.JSON("POST", "/api/v1/alliance/units", map[string]any{"name": "北京市财政局", "kind": "agency", "joined_on": "2024-01-01"}, nil); st != 409 || !strings.Contains(body, `"name"`) {
				t.Errorf("a second 北京市财政局: %d %s", st, body)
			}
			var after int
			env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM alliance_units`).Scan(&after)
			if after != before {
				t.Errorf("refused requests stored units: %d → %d", before, after)
			}
		})

		t.Run("ListAndFilter", func(t *testing.T) {
			b := env.Browser(demo.PhoneTownAdmin)
			st, body := b.Get("/admin/alliance/units?kind=agency")
			if st != 200 || !strings.Contains(body, "北京市财政局") || strings.Contains(body, ">蒙牛乳业") {
				t.Errorf("by kind: %d", st)
			}
			if st, body := b.Get("/admin/alliance/units?q=" + url.QueryEscape("蒙牛")); st != 200 || strings.Contains(body, ">北京市财政局") || !strings.Contains(body, "蒙牛乳业") {
				t.Errorf("by name: %d", st)
			}
			// A village's admins read the list, and may not add to it.
			var list []alliance.Unit
			village := env.API(demo.PhoneVillageAdmin)
			if st, body := village.JSON("GET", "/api/v1/alliance/units", nil, &list); st != 200 || len(list) != 2 {
				t.Errorf("village admin's list: %d %s", st, body)
			}
			if st, body := village.JSON("POST", "/api/v1/alliance/units", map[string]any{"name": "村里的单位", "kind": "social", "joined_on": "2024-01-01"}, nil); st != 403 {
				t.Errorf("village admin adds a unit: %d %s", st, body)
			}
			if st, _ := env.API(demo.PhoneResident).JSON("GET", "/api/v1/alliance/units", nil, nil); st != 403 {
				t.Errorf("a resident lists the units: %d", st)
			}
		})

		t.Run("LiaisonSeesOwnUnitOnly", func(t *testing.T) {
			la := env.API(phoneLiaisonA)
			var list []alliance.Unit
			if st, body := la.JSON("GET", "/api/v1/alliance/units", nil, &list); st != 200 || len(list) != 1 || list[0].ID != w.unitA.ID {
				t.Errorf("liaison's list: %d %s", st, body)
			}
			var u alliance.Unit
			if st, body := la.JSON("GET", unitPath(w.unitA.ID), nil, &u); st != 200 || u.Name != "北京市财政局" || len(u.Accounts) != 0 {
				t.Errorf("own unit: %d %s", st, body)
			}
			edit := map[string]any{"name": "改名", "kind": "agency", "joined_on": "2024-01-01"}
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"GET", unitPath(w.unitB.ID), nil}, {"POST", unitPath(w.unitB.ID), edit},
				{"POST", unitPath(w.unitB.ID) + "/active", map[string]any{"active": false, "reason": "x"}},
				{"POST", unitPath(w.unitB.ID) + "/accounts", map[string]any{"phone": phoneNewLiaison, "name": "x"}},
				{"GET", unitPath(999999), nil},
			} {
				if st, body := la.JSON(c.method, c.path, c.body, nil); st != 404 {
					t.Errorf("liaison %s %s: %d %s", c.method, c.path, st, body)
				}
			}
			if st, body := la.JSON("POST", unitPath(w.unitA.ID), map[string]any{"name": "改名", "kind": "agency", "joined_on": "2024-01-01"}, nil); st != 403 {
				t.Errorf("liaison edits own unit: %d %s", st, body)
			}
			b := env.Browser(phoneLiaisonA)
			if st, _ := b.Get(fmt.Sprintf("/admin/alliance/units/%d", w.unitB.ID)); st != 404 {
				t.Errorf("liaison's page of another unit: %d", st)
			}
			if st, body := b.Get(fmt.Sprintf("/admin/alliance/units/%d", w.unitA.ID)); st != 200 || !strings.Contains(body, "北京市财政局") || strings.Contains(body, `name="action"`) {
				t.Errorf("liaison's page of their unit (no edit or deactivate): %d", st)
			}
			if st, body := b.Get("/admin/alliance"); st != 200 || !strings.Contains(body, "北京市财政局") || strings.Contains(body, "蒙牛") {
				t.Errorf("liaison's landing page: %d", st)
			}
			// Another town's admin learns nothing of the units.
			if st, _ := env.API(demo.PhoneTownAdmin2).JSON("GET", unitPath(w.unitA.ID), nil, nil); st != 404 {
				t.Errorf("another town's admin reads a unit: %d", st)
			}
			if st, _ := env.API(demo.PhoneTownAdmin2).JSON("POST", unitPath(w.unitA.ID)+"/active", map[string]any{"active": false, "reason": "x"}, nil); st != 404 {
				t.Errorf("another town's admin deactivates a unit: %d", st)
			}
		})

		t.Run("Logins", func(t *testing.T) {
			b := env.Browser(phoneAllianceAdmin)
			path := fmt.Sprintf("/admin/alliance/units/%d", w.unitA.ID)
			// A new phone gets a new login, shown once.
			if st, body := b.PostForm(path+"/accounts", url.Values{"phone": {phoneNewLiaison}}); st != 422 || !strings.Contains(body, "err") {
				t.Errorf("new login without a name: %d", st)
			}
			st, body := b.PostForm(path+"/accounts", url.Values{"phone": {phoneNewLiaison}, "name": {"新联络员"}})
			if st != 200 || !strings.Contains(body, "新账号已开通") {
				t.Errorf("new login: %d", st)
			}
			if st, body := b.Get(path); st != 200 || strings.Contains(body, "新账号已开通") || !strings.Contains(body, "新联络员") {
				t.Errorf("the password is shown again, or the login is not listed: %d", st)
			}
			// Another unit's login, and a resident's login, are refused.
			if st, body := b.PostForm(path+"/accounts", url.Values{"phone": {phoneLiaisonB}}); st != 409 || !strings.Contains(body, "另一家单位") {
				t.Errorf("another unit's login: %d", st)
			}
			if st, body := w.admin.JSON("POST", unitPath(w.unitA.ID)+"/accounts", map[string]any{"phone": demo.PhoneResident}, nil); st != 422 || !strings.Contains(body, "not_liaison") {
				t.Errorf("a resident's login: %d %s", st, body)
			}
			if st, body := w.admin.JSON("POST", unitPath(w.unitA.ID)+"/accounts", map[string]any{"phone": "123"}, nil); st != 422 || !strings.Contains(body, "phone_invalid") {
				t.Errorf("a bad phone: %d %s", st, body)
			}
			var u alliance.Unit
			if st, body := w.admin.JSON("GET", unitPath(w.unitA.ID), nil, &u); st != 200 || len(u.Accounts) != 2 || strings.Contains(body, phoneLiaisonA) {
				t.Errorf("the unit's logins (masked): %d %s", st, body)
			}
			// The loose login has no unit: its landing page still opens, with nothing to count.
			if st, _ := env.Browser(phoneLoose).Get("/admin/alliance"); st != 200 {
				t.Errorf("a liaison with no unit: %d", st)
			}
		})

		t.Run("DeactivateAsksAndKeepsTheReason", func(t *testing.T) {
			b := env.Browser(demo.PhoneTownAdmin)
			path := fmt.Sprintf("/admin/alliance/units/%d", w.unitB.ID)
			if st, body := b.PostForm(path, url.Values{"action": {"deactivate"}}); st != 200 || !strings.Contains(body, "停用这家成员单位") {
				t.Errorf("deactivate asks: %d", st)
			}
			if st, loc := b.Submit(path, url.Values{"action": {"deactivate"}, "confirmed": {"1"}, "reason": {"单位撤并"}}); st != 303 || !strings.Contains(loc, "flash=") {
				t.Fatalf("deactivate: %d %s", st, loc)
			}
			var summary string
			if err := env.Sys.DB.Read().QueryRow(`SELECT summary FROM audit_log WHERE action = 'alliance.unit.deactivate' AND entity_id = $1`, w.unitB.ID).Scan(&summary); err != nil || !strings.Contains(summary, "单位撤并") {
				t.Errorf("the reason is not kept: %q %v", summary, err)
			}
			var list []alliance.Unit
			if st, _ := w.admin.JSON("GET", "/api/v1/alliance/units", nil, &list); st != 200 || len(list) != 1 {
				t.Errorf("active units: %d %v", st, list)
			}
			if st, _ := w.admin.JSON("GET", "/api/v1/alliance/units?inactive=1", nil, &list); st != 200 || len(list) != 2 {
				t.Errorf("all units: %d %v", st, list)
			}
			if st, body := env.API(demo.PhoneResident).JSON("GET", "/alliance", nil, nil); st != 200 || strings.Contains(body, "蒙牛") || !strings.Contains(body, "北京市财政局") {
				t.Errorf("a resident's page lists an inactive unit: %d", st)
			}
			if st, body := w.admin.JSON("POST", unitPath(w.unitB.ID)+"/active", map[string]any{"active": false}, nil); st != 422 || !strings.Contains(body, `"reason"`) {
				t.Errorf("deactivate without a reason: %d %s", st, body)
			}
			var u alliance.Unit
			if st, body := w.admin.JSON("POST", unitPath(w.unitB.ID)+"/active", map[string]any{"active": true}, &u); st != 200 || !u.Active {
				t.Errorf("activate: %d %s", st, body)
			}
		})

		t.Run("LandingPagesAndPhotos", func(t *testing.T) {
			if st, body := env.Browser(demo.PhoneResident).Get("/alliance"); st != 200 || !strings.Contains(body, "我们的共建单位") || !strings.Contains(body, "共 2 家成员单位") {
				t.Errorf("resident's page: %d", st)
			}
			if st, body := env.Browser(demo.PhoneVillageAdmin).Get("/admin/alliance"); st != 200 || !strings.Contains(body, `href="/admin/alliance/units"`) {
				t.Errorf("village admin's landing page: %d", st)
			}
			// Every part the landing page offers opens for each role it is offered to: the alliance
			// admin (who holds no registry role) included.
			for _, phone := range []string{phoneAllianceAdmin, demo.PhoneTownAdmin, demo.PhoneVillageAdmin, phoneLiaisonA} {
				c := env.Browser(phone)
				_, landing := c.Get("/admin/alliance")
				for _, part := range []string{"units", "resources", "needs", "match", "projects", "activities", "donations"} {
					if !strings.Contains(landing, `href="/admin/alliance/`+part+`"`) {
						continue
					}
					if st, body := c.Get("/admin/alliance/" + part); st != 200 {
						t.Errorf("%s: /admin/alliance/%s answers %d: %.200s", phone, part, st, body)
					}
				}
			}
			if st, _ := env.Browser(demo.PhoneExpert).Get("/admin/alliance"); st != 403 {
				t.Errorf("an expert's landing page: %d", st)
			}
			if st, _ := env.Browser(demo.PhoneTownAdmin).Get("/alliance/photos/999999"); st != 404 {
				t.Errorf("a missing photo: %d", st)
			}
		})
	})
}
