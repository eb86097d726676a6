package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
	"siwei/internal/web"
)

// fixture finds, through the town admin's API, the two named villages and a resident of each.
type fixture struct {
	env                     *servertest.Env
	qiantuan, dongbao       int64 // village ids
	qiantuanRes, dongbaoRes int64 // a resident of each
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	env := servertest.New(t, d)
	f := &fixture{env: env}
	town := env.API(demo.PhoneTownAdmin)
	var vs []people.VillageJSON
	if st, body := town.JSON("GET", "/api/v1/villages", nil, &vs); st != 200 {
		t.Fatalf("villages: %d %s", st, body)
	}
	for _, v := range vs {
		switch v.Name {
		case "前疃村":
			f.qiantuan = v.ID
		case "东堡村":
			f.dongbao = v.ID
		}
	}
	for _, v := range []struct {
		village int64
		res     *int64
	}{{f.qiantuan, &f.qiantuanRes}, {f.dongbao, &f.dongbaoRes}} {
		var list people.ResidentList
		if st, body := town.JSON("GET", fmt.Sprintf("/api/v1/residents?village_id=%d", v.village), nil, &list); st != 200 || len(list.Items) == 0 {
			t.Fatalf("residents of %d: %d %s", v.village, st, body)
		}
		*v.res = list.Items[0].ID
	}
	return f
}

func TestVillageStaffSeeOnlyTheirVillage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		admin := f.env.Browser(demo.PhoneVillageAdmin) // 前疃村
		api := f.env.API(demo.PhoneVillageAdmin)
		other := fmt.Sprint(f.dongbaoRes)
		for _, c := range []struct {
			name string
			st   int
			do   func() (int, string)
		}{
			{"page resident", 404, func() (int, string) { return admin.Get("/admin/residents/" + other) }},
			{"page village", 404, func() (int, string) { return admin.Get(fmt.Sprintf("/admin/villages/%d", f.dongbao)) }},
			{"page list", 404, func() (int, string) { return admin.Get(fmt.Sprintf("/admin/residents?village_id=%d", f.dongbao)) }},
			{"page edit", 404, func() (int, string) {
				return admin.PostForm("/admin/residents/"+other, url.Values{"name": {"改名"}})
			}},
			{"page move", 404, func() (int, string) {
				return admin.PostForm("/admin/residents/"+other+"/move", url.Values{"to_village_id": {fmt.Sprint(f.qiantuan)}, "to_household_number": {"X-1"}, "reason": {"r"}})
			}},
			{"page office", 404, func() (int, string) { return admin.PostForm("/admin/office/"+other, nil) }},
			{"page export", 404, func() (int, string) { return admin.Get(fmt.Sprintf("/admin/export?village_id=%d", f.dongbao)) }},
			{"api resident", 404, func() (int, string) { return api.JSON("GET", "/api/v1/residents/"+other, nil, nil) }},
			{"api patch", 404, func() (int, string) {
				return api.JSON("PATCH", "/api/v1/residents/"+other, map[string]any{"name": "改名"}, nil)
			}},
			{"api list", 404, func() (int, string) {
				return api.JSON("GET", fmt.Sprintf("/api/v1/residents?village_id=%d", f.dongbao), nil, nil)
			}},
		} {
			st, body := c.do()
			if st != c.st {
				t.Errorf("%s: status %d, want %d: %.200s", c.name, st, c.st, body)
			}
		}
		// Their own village works, and the unfiltered list holds only 前疃村.
		if st, _ := admin.Get(fmt.Sprintf("/admin/residents/%d", f.qiantuanRes)); st != 200 {
			t.Errorf("own resident: %d", st)
		}
		var list people.ResidentList
		if st, body := api.JSON("GET", "/api/v1/residents", nil, &list); st != 200 {
			t.Fatalf("list: %d %s", st, body)
		}
		for _, r := range list.Items {
			if r.VillageID != f.qiantuan {
				t.Fatalf("village admin of 前疃村 sees a resident of village %d", r.VillageID)
			}
		}
		// The refused edit stored nothing.
		var r people.ResidentJSON
		f.env.API(demo.PhoneTownAdmin).JSON("GET", "/api/v1/residents/"+other, nil, &r)
		if r.Name == "改名" {
			t.Fatal("refused edit was stored")
		}
	})
}

func TestResidentsAndAnonymousAreKeptOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		res := f.env.Browser(demo.PhoneResident)
		for _, p := range []string{"/admin", "/admin/residents", "/admin/accounts", "/admin/audit", "/admin/import"} {
			if st, _ := res.Get(p); st != http.StatusForbidden {
				t.Errorf("resident GET %s: %d, want 403", p, st)
			}
		}
		if st, body := res.Get("/"); st != 200 || !strings.Contains(body, "前疃村") {
			t.Errorf("resident home: %d", st)
		}
		rapi := f.env.API(demo.PhoneResident)
		if st, _ := rapi.JSON("GET", "/api/v1/residents", nil, nil); st != http.StatusForbidden {
			t.Errorf("resident API list: %d, want 403", st)
		}
		if st, _ := rapi.JSON("GET", fmt.Sprintf("/api/v1/residents/%d", f.qiantuanRes), nil, nil); st != http.StatusNotFound {
			t.Errorf("resident API neighbour: %d, want 404", st)
		}
		var me people.ResidentJSON
		if st, _ := rapi.JSON("GET", "/api/v1/me", nil, &me); st != 200 || me.Phone != demo.PhoneResident {
			t.Errorf("me: %d %+v", st, me)
		}
		if strings.Contains(me.IDNumber, "*") == false {
			t.Errorf("a resident sees their ID number unmasked: %s", me.IDNumber)
		}
		anon := f.env.Anonymous()
		if st, _ := anon.Get("/admin"); st != http.StatusSeeOther {
			t.Errorf("anonymous /admin: %d, want 303 to login", st)
		}
		st, body := anon.JSON("GET", "/api/v1/residents", nil, nil)
		var p web.Problem
		json.Unmarshal([]byte(body), &p)
		if st != http.StatusUnauthorized || p.Code != "unauthorized" || p.Detail != "请先登录" {
			t.Errorf("anonymous API: %d %s", st, body)
		}
	})
}

func TestAPIRefusesBadInputWithFieldErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		api := f.env.API(demo.PhoneVillageAdmin)
		good := func() map[string]any {
			return map[string]any{"village_id": f.qiantuan, "household_number": "T-1", "name": "测试", "gender": "M",
				"birth_date": "1980-01-01", "id_number": idNumber("19800101", "001"), "phone": "13812345678"}
		}
		cases := []struct {
			name  string
			edit  func(m map[string]any)
			st    int
			field string
			key   string
		}{
			{"check digit", func(m map[string]any) { m["id_number"] = badCheck(idNumber("19800101", "001")) }, 422, "id_number", "people.id_checksum"},
			{"30 February", func(m map[string]any) {
				m["birth_date"] = "1990-02-28"
				m["id_number"] = idNumber("19900230", "001")
			}, 422, "id_number", "people.id_birth_invalid"},
			{"future birth", func(m map[string]any) {
				m["birth_date"] = "2099-01-01"
				m["id_number"] = idNumber("20990101", "001")
			}, 422, "birth_date", "people.birth_future"},
			{"phone", func(m map[string]any) { m["phone"] = "1381234567" }, 422, "phone", "field.phone_invalid"},
			{"unknown field", func(m map[string]any) { m["admin"] = true }, 422, "admin", "field.unknown"},
			{"wrong type", func(m map[string]any) { m["village_id"] = "one" }, 422, "village_id", "field.wrong_type"},
		}
		for _, c := range cases {
			m := good()
			c.edit(m)
			st, body := api.JSON("POST", "/api/v1/residents", m, nil)
			var p web.Problem
			json.Unmarshal([]byte(body), &p)
			found := false
			for _, e := range p.Errors {
				found = found || (e.Field == c.field && e.Code == c.key && e.Message != "" && e.Message != c.key)
			}
			if st != c.st || !found {
				t.Errorf("%s: %d %s; want %d with %s=%s", c.name, st, body, c.st, c.field, c.key)
			}
		}
		if st, body := api.JSON("POST", "/api/v1/residents", good(), nil); st != 201 {
			t.Fatalf("good: %d %s", st, body)
		}
		st, body := api.JSON("POST", "/api/v1/residents", good(), nil)
		if st != http.StatusConflict || !strings.Contains(body, "people.id_duplicate") {
			t.Fatalf("duplicate: %d %s", st, body)
		}
	})
}

func TestScriptInANameIsEscapedEverywhere(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		api := f.env.API(demo.PhoneTownAdmin)
		evil := `<script>alert(1)</script>`
		var r people.ResidentJSON
		st, body := api.JSON("POST", "/api/v1/residents", map[string]any{"village_id": f.qiantuan, "household_number": "X-9", "name": evil,
			"gender": "F", "birth_date": "1975-05-05", "id_number": idNumber("19750505", "002")}, &r)
		if st != 201 || r.Name != evil {
			t.Fatalf("create: %d %s", st, body)
		}
		web := f.env.Browser(demo.PhoneTownAdmin)
		for _, p := range []string{
			fmt.Sprintf("/admin/residents/%d", r.ID),
			fmt.Sprintf("/admin/residents?village_id=%d&page=1&q=%s", f.qiantuan, url.QueryEscape("<")),
			fmt.Sprintf("/admin/households/%d", r.HouseholdID),
			"/admin/audit",
		} {
			st, body := web.Get(p)
			if st != 200 {
				t.Errorf("%s: %d", p, st)
				continue
			}
			if strings.Contains(body, evil) {
				t.Errorf("%s: the name is not escaped", p)
			}
			if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") && !strings.Contains(body, `\u003cscript\u003e`) && !strings.Contains(body, "&#34;\\u003cscript") {
				t.Errorf("%s: the escaped name is missing", p)
			}
		}
	})
}

func TestCrossSiteFormsAreRefused(t *testing.T) {
	env := servertest.New(t, dbtest.SQLite(t))
	c := env.Browser(demo.PhoneTownAdmin)
	req, _ := http.NewRequest("POST", env.URL+"/admin/villages", strings.NewReader("name=恶意村"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if st, _ := c.Do(req); st != http.StatusForbidden {
		t.Fatalf("cross-site post: %d, want 403", st)
	}
	var n int
	env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM villages WHERE name = '恶意村'`).Scan(&n)
	if n != 0 {
		t.Fatal("cross-site post stored a village")
	}
}

// idNumber is a valid synthetic ID number in Tongzhou for a birth date and sequence.
func idNumber(birth, seq string) string {
	s := "110112" + birth + seq
	return s + string(people.IDCheckChar(s))
}

func badCheck(id string) string {
	c := id[17]
	if c == '0' {
		return id[:17] + "1"
	}
	return id[:17] + "0"
}

// A resident's home page shows how many in-app messages wait unread, and stops once they are read.
func TestHomeShowsUnreadMessages(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		var me people.ResidentJSON
		if st, body := env.API(demo.PhoneResident).JSON("GET", "/api/v1/me", nil, &me); st != 200 {
			t.Fatalf("me: %d %s", st, body)
		}
		browser := env.Browser(demo.PhoneResident)
		badge := `<span class="badge"`
		if st, body := browser.Get("/"); st != 200 || strings.Contains(body, badge) {
			t.Fatalf("home before any message: %d, badge shown: %v", st, strings.Contains(body, badge))
		}
		for i := range 2 {
			m := notify.Message{Title: fmt.Sprintf("班次变动 %d", i), Body: "您已从候补转为正式", Link: "/volunteer/mine", SenderName: "前疃村"}
			if err := env.Sys.Notify.Send(context.Background(), d.Write(), []int64{me.ID}, m); err != nil {
				t.Fatal(err)
			}
		}
		if st, body := browser.Get("/"); st != 200 || !strings.Contains(body, badge) || !strings.Contains(body, ">2</span>") || !strings.Contains(body, "2 条未读") {
			t.Fatalf("home with two unread messages: %d\n%s", st, body)
		}
		// Another resident sees none of them.
		if st, body := env.Browser(demo.PhonePartyMember).Get("/"); st != 200 || strings.Contains(body, badge) {
			t.Errorf("another resident's home shows the badge: %d", st)
		}
		if st, body := browser.PostForm("/notifications/read", url.Values{}); st >= 400 {
			t.Fatalf("mark read: %d %s", st, body)
		}
		if st, body := browser.Get("/"); st != 200 || strings.Contains(body, badge) {
			t.Errorf("home after reading: %d, badge shown: %v", st, strings.Contains(body, badge))
		}
	})
}
