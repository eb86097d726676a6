package server_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/demo"
	"siwei/internal/server"
	"siwei/internal/server/servertest"
)

// TestSharedPagesNameNoPillar holds the layout and the resident's home to drawing what the
// pillars plugged in: neither names a pillar's path or message keys, so adding a pillar edits
// neither.
func TestSharedPagesNameNoPillar(t *testing.T) {
	var names []string
	for _, p := range (&server.System{}).Pillars() {
		if p.Name != "people" {
			names = append(names, p.Name)
		}
	}
	if len(names) < 3 {
		t.Fatalf("pillars: %v", names)
	}
	pillarWord := regexp.MustCompile(`(?:"|/)(` + strings.Join(names, "|") + `)[./"]`)
	for _, f := range []string{"../web/templates/layout/base.html", "../people/templates/home.html"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range pillarWord.FindAllString(string(b), -1) {
			t.Errorf("%s names a pillar: %s", f, m)
		}
	}
}

// TestNavigationShowsWhatARoleMayDo: each console entry is shown to those who may use it, and the
// pillars' entries come in their order between the registry's.
func TestNavigationShowsWhatARoleMayDo(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		v, err := env.Sys.People.VillageByName(ctx, env.Info.TownID, "前疃村")
		if err != nil {
			t.Fatal(err)
		}
		staff := func(phone string, g auth.Grant) {
			t.Helper()
			g.TownID = env.Info.TownID
			if _, err := env.Sys.Auth.CreateAccount(ctx, auth.System("test"), auth.AccountInput{Phone: phone, Name: string(g.Role), Password: demo.DemoPassword, Grants: []auth.Grant{g}}); err != nil {
				t.Fatal(err)
			}
		}
		staff("13911110001", auth.Grant{Role: auth.Shopkeeper, VillageID: v.ID})
		staff("13911110002", auth.Grant{Role: auth.TeamLeader, VillageID: v.ID})
		staff("13911110003", auth.Grant{Role: auth.Expert})
		staff("13911110004", auth.Grant{Role: auth.CareTeam})
		staff("13911110005", auth.Grant{Role: auth.DeptResponder})
		staff("13911110006", auth.Grant{Role: auth.AllianceAdmin})
		staff("13911110007", auth.Grant{Role: auth.UnitLiaison})
		staff("13911110008", auth.Grant{Role: auth.DisputeStaff})
		staff("13911110009", auth.Grant{Role: auth.Judge})
		nav := regexp.MustCompile(`<nav class="side">([\s\S]*?)</nav>`)
		link := regexp.MustCompile(`href="([^"]+)"`)
		for _, tc := range []struct {
			phone string
			want  string
		}{
			{demo.PhoneTownAdmin, "/admin /admin/report /admin/villages /admin/residents /admin/bank /admin/volunteer /admin/school /admin/consult /admin/alliance /admin/honours /admin/import /admin/accounts /admin/audit"},
			{demo.PhoneVillageAdmin, "/admin /admin/report /admin/villages /admin/residents /admin/bank /admin/volunteer /admin/school /admin/consult /admin/alliance /admin/honours /admin/import /admin/accounts"},
			{"13911110001", "/admin /admin/villages /admin/residents /admin/bank"},
			{"13911110002", "/admin /admin/villages /admin/residents /admin/volunteer"},
			{"13911110003", "/admin /admin/school"},
			{"13911110004", "/admin /admin/consult"},
			{"13911110005", "/admin /admin/consult"},
			{demo.PhoneSchoolAdmin, "/admin /admin/school"},
			{"13911110006", "/admin /admin/alliance"},
			{"13911110007", "/admin /admin/alliance"},
			{"13911110008", "/admin /admin/disputes"}, // the dispute centre, and only its staff
			{"13911110009", "/admin /admin/judging"},  // a contest's judge scores, and sees nothing else
		} {
			st, body := env.Browser(tc.phone).Get("/admin")
			m := nav.FindStringSubmatch(body)
			if st != 200 || m == nil {
				t.Fatalf("%s: /admin: %d, navigation found: %v", tc.phone, st, m != nil)
			}
			var got []string
			for _, l := range link.FindAllStringSubmatch(m[1], -1) {
				got = append(got, l[1])
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("%s sees\n %v\nwant\n %s", tc.phone, got, tc.want)
			}
		}
		// The current entry is marked on the pages below it, and only there.
		_, body := env.Browser(demo.PhoneTownAdmin).Get("/admin/bank/shop")
		if !strings.Contains(body, `<a href="/admin/bank" class="on">`) || strings.Count(body, `class="on"`) < 1 || strings.Contains(body, `<a href="/admin" class="on">`) {
			t.Errorf("on /admin/bank/shop the bank entry is not the one marked current")
		}
	})
}

// TestEveryRoleLandsOnItsWork: a claim filed in 前疃村 shows as one more to review on its admin's
// overview and not on 东堡村's; the resident's home shows their balance and the claim waiting.
func TestEveryRoleLandsOnItsWork(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80}, true, func(t *testing.T, env *servertest.Env) {
		toReview := regexp.MustCompile(`<a href="/admin/bank/claims\?status=pending">(\d+) 件申报待审核`)
		count := func(phone string) int {
			t.Helper()
			st, body := env.Browser(phone).Get("/admin")
			if st != 200 {
				t.Fatalf("%s /admin: %d", phone, st)
			}
			m := toReview.FindStringSubmatch(body)
			if m == nil {
				return 0
			}
			n, _ := strconv.Atoi(m[1])
			return n
		}
		here, there := count(demo.PhoneVillageAdmin), count(demo.PhoneVillageAdmin2)
		res := env.API(demo.PhoneResident)
		day := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -1).Format("2006-01-02")
		if st, raw := res.JSON("POST", "/api/v1/bank/claims", map[string]any{"rule_code": "help", "description": "帮邻居修水管", "happened_on": day, "confirm_duplicate": true}, nil); st != 201 {
			t.Fatalf("claim: %d %s", st, raw)
		}
		if got := count(demo.PhoneVillageAdmin); got != here+1 {
			t.Errorf("前疃村's admin sees %d claims to review, want %d", got, here+1)
		}
		if got := count(demo.PhoneVillageAdmin2); got != there {
			t.Errorf("东堡村's admin sees %d claims to review, want %d as before", got, there)
		}
		var me struct{ ID int64 }
		if st, raw := res.JSON("GET", "/api/v1/me", nil, &me); st != 200 {
			t.Fatalf("me: %d %s", st, raw)
		}
		var bal struct{ Balance int64 }
		if st, raw := res.JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d", me.ID), nil, &bal); st != 200 {
			t.Fatalf("balance: %d %s", st, raw)
		}
		st, body := env.Browser(demo.PhoneResident).Get("/")
		if want := fmt.Sprintf("余额 %d 分", bal.Balance); st != 200 || !strings.Contains(body, want) {
			t.Errorf("the resident's home does not say %q", want)
		}
		if strings.Contains(body, "待审核") || strings.Contains(body, "/admin/") {
			t.Error("the resident's home lists staff work")
		}
	})
}

// TestLargeText: a resident switches 大字模式 on and the pages say so (body class large), the
// home puts balance, card and messages first; it is remembered across sessions; staff in office
// mode switch it for the resident they serve; off again restores the home.
func TestLargeText(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		if err := demo.Bank(ctx, env.Sys.DB, env.Sys.People, env.Info, 1); err != nil {
			t.Fatal(err)
		}
		tiles := regexp.MustCompile(`<a class="big-link" href="([^"]+)"`)
		order := func(body string) string {
			var out []string
			for _, m := range tiles.FindAllStringSubmatch(body, -1) {
				out = append(out, m[1])
			}
			return strings.Join(out, " ")
		}
		res := env.Browser(demo.PhoneResident)
		_, body := res.Get("/")
		if strings.Contains(body, `class="app large"`) || order(body) != "/bank /bank/card /volunteer /school /consult /alliance /honours /notifications" {
			t.Fatalf("before: large %v, tiles %s", strings.Contains(body, `class="app large"`), order(body))
		}
		if st, _ := res.PostForm("/settings/large-text", map[string][]string{"on": {"1"}}); st != 303 {
			t.Fatalf("switch on: %d", st)
		}
		_, body = env.Browser(demo.PhoneResident).Get("/") // a new session: remembered
		if !strings.Contains(body, `class="app large"`) || order(body) != "/bank /bank/card /notifications /volunteer /school /consult /alliance /honours" || !strings.Contains(body, "关闭大字模式") {
			t.Errorf("after: large %v, tiles %s", strings.Contains(body, `class="app large"`), order(body))
		}
		if _, body := res.Get("/bank"); !strings.Contains(body, `class="app large"`) {
			t.Error("another page is not in large text")
		}
		if st, _ := res.PostForm("/settings/large-text", map[string][]string{"on": {"0"}}); st != 303 {
			t.Fatalf("switch off: %d", st)
		}
		if _, body := res.Get("/"); strings.Contains(body, `class="app large"`) {
			t.Error("still large after switching off")
		}
		// In office mode the village admin switches it on for the resident beside them.
		var me struct{ ID int64 }
		if st, raw := env.API(demo.PhoneResident).JSON("GET", "/api/v1/me", nil, &me); st != 200 {
			t.Fatalf("me: %d %s", st, raw)
		}
		staff := env.Browser(demo.PhoneVillageAdmin)
		if st, _ := staff.PostForm(fmt.Sprintf("/admin/office/%d", me.ID), nil); st != 303 {
			t.Fatalf("office mode: %d", st)
		}
		if st, _ := staff.PostForm("/settings/large-text", map[string][]string{"on": {"1"}}); st != 303 {
			t.Fatalf("switch on in office mode: %d", st)
		}
		if _, body := res.Get("/"); !strings.Contains(body, `class="app large"`) {
			t.Error("the resident's pages are not in large text after staff switched it on for them")
		}
		// A staff member without a record of their own has nothing to switch.
		if st, _ := env.Browser(demo.PhoneVillageAdmin2).PostForm("/settings/large-text", map[string][]string{"on": {"1"}}); st != 403 {
			t.Errorf("staff without a record: %d, want 403", st)
		}
	})
}

// TestFormsOfferOnlyWhatTheRoleMayDo: the shop's 新增物品 form, which only the town's shop staff
// may submit, is not offered to a village admin, who would be refused only after filling it in.
func TestFormsOfferOnlyWhatTheRoleMayDo(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		if err := demo.Bank(context.Background(), env.Sys.DB, env.Sys.People, env.Info, 1); err != nil {
			t.Fatal(err)
		}
		form := `action="/admin/bank/items"`
		if st, body := env.Browser(demo.PhoneVillageAdmin).Get("/admin/bank/shop"); st != 200 || strings.Contains(body, form) {
			t.Errorf("a village admin's shop page: %d, new-item form offered: %v", st, strings.Contains(body, form))
		}
		if st, body := env.Browser(demo.PhoneTownAdmin).Get("/admin/bank/shop"); st != 200 || !strings.Contains(body, form) {
			t.Errorf("the town admin's shop page: %d, new-item form offered: %v", st, strings.Contains(body, form))
		}
		if st, _ := env.Browser(demo.PhoneVillageAdmin).PostForm("/admin/bank/items", map[string][]string{"kind": {"goods"}, "name": {"肥皂"}, "price": {"5"}}); st != 403 && st != 404 {
			t.Errorf("a village admin creates an item anyway: %d", st)
		}
	})
}
