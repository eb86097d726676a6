package bank_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
)

// codesShown are rule codes of the demo and the fixture that no page may show: staff name rules.
var codesShown = regexp.MustCompile(`\b(meeting|vanguard|filial|brave|garden|lesson)\b`)

// TestRulesTableEditor: rules are adopted from a table of named rows. The page shows no code; a
// refused form names the row and the field, keeps what was typed and stores nothing; an adopted
// version keeps the codes of the rules it carries on (renamed or not), gives a rule of a name the
// town already uses that rule's code and a new rule a code of its own; the API still answers codes,
// and the new rule, picked by its name, pays.
func TestRulesTableEditor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		ctx := context.Background()
		admin := login(t, f.env, demo.PhoneTownAdmin)
		town, err := f.env.Sys.People.Town(ctx, f.town)
		if err != nil {
			t.Fatal(err)
		}
		today := town.Clock(f.env.Sys.Bank.Now).Day()
		// The party members' rules, adopted with codes as the API may: 参加村民会议 is "meeting".
		party, err := f.env.Sys.Bank.AdoptVersion(ctx, admin, bank.VersionInput{TownID: f.town, Class: people.PartyMember, AdoptedBy: "党员大会",
			AdoptedOn: "2026-02-01", Resolution: "潞党〔2026〕2号", EffectiveFrom: "2026-02-01", Rules: []bank.RuleInput{
				{Code: "clean", Name: "门前三包", Category: "环境", Points: 5},
				{Code: "meeting", Name: "参加村民会议", Category: "村务参与", Points: 2, CapPeriod: "month", CapCount: 4},
				{Code: "vanguard", Name: "党员先锋岗", Category: "党建引领", Points: 5, CapPeriod: "week", CapCount: 1},
			}})
		if err != nil {
			t.Fatal(err)
		}
		vers, err := f.env.Sys.Bank.RuleVersions(ctx, admin, f.town)
		if err != nil {
			t.Fatal(err)
		}
		var current int64 // the fixture's villager rules
		for _, v := range vers {
			if v.Class == people.Villager && v.VillageID == 0 && current == 0 {
				current = v.ID
			}
		}
		if current == 0 {
			t.Fatalf("versions: %+v", vers)
		}
		browser := f.env.Browser(demo.PhoneTownAdmin)
		for _, path := range []string{"/admin/bank/rules", fmt.Sprintf("/admin/bank/rules?from=%d", party)} {
			st, body := browser.Get(path)
			if st != 200 || !strings.Contains(body, "参加村民会议") || !strings.Contains(body, "党员先锋岗") {
				t.Fatalf("%s: %d", path, st)
			}
			if m := codesShown.FindString(body); m != "" {
				t.Errorf("%s shows the code %q", path, m)
			}
		}

		// The fixture's version as the table offers it to amend: a row a rule, by name.
		st, body := browser.Get(fmt.Sprintf("/admin/bank/rules?from=%d", current))
		if st != 200 {
			t.Fatalf("amend: %d", st)
		}
		rowOf := map[string]string{} // name → row
		for _, m := range regexp.MustCompile(`name="row(\d+)\.name" value="([^"]+)"`).FindAllStringSubmatch(body, -1) {
			rowOf[m[2]] = m[1]
		}
		ids := map[string]string{} // row → hidden rule id
		for _, m := range regexp.MustCompile(`name="row(\d+)\.rule_id" value="(\d+)"`).FindAllStringSubmatch(body, -1) {
			ids[m[1]] = m[2]
		}
		if len(rowOf) != 3 || len(ids) != 3 || rowOf["门前三包"] == "" || rowOf["见义勇为"] == "" {
			t.Fatalf("the amend table: names %v, ids %v", rowOf, ids)
		}
		// The clerk renames 门前三包 and raises it, removes 见义勇为, adds 参加村民会议 (a rule the town
		// has had) and 清理小广告 (a new one), and leaves a row empty.
		form := url.Values{"class": {"villager"}, "village_id": {"0"}, "adopted_by": {"村民代表大会"}, "adopted_on": {today},
			"resolution": {"潞决〔2026〕12号"}, "effective_from": {today}, "rows": {"6"}}
		row := func(i int, fields ...string) {
			for j := 0; j+1 < len(fields); j += 2 {
				form.Set(fmt.Sprintf("row%d.%s", i, fields[j]), fields[j+1])
			}
		}
		for i, name := range []string{"门前三包", "邻里互助", "见义勇为"} {
			r := rowOf[name]
			row(i, "rule_id", ids[r], "name", name, "points", map[string]string{"门前三包": "5", "邻里互助": "3", "见义勇为": "50"}[name])
		}
		row(0, "name", "门前三包（含绿化）", "points", "6")
		row(1, "cap_period", "day", "cap_count", "5")
		row(2, "notice", "1", "remove", "1")
		row(3, "name", "参加村民会议", "points", "2", "category", "村务参与", "cap_period", "month", "cap_count", "4")
		row(4, "name", "清理小广告", "points", "0", "category", "人居环境", "evidence", "1")
		row(5, "cap_count", "1")

		before := f.count(t, "bank_rule_versions")
		cases := []struct {
			name   string
			change func(url.Values)
			want   []string
			re     string
		}{
			{"ErrPoints", func(url.Values) {}, []string{"第 5 行“分值”：积分应为 1 到 10000 之间的整数"}, ""},
			{"ErrNameRequired", func(v url.Values) { v.Set("row4.name", ""); v.Set("row4.points", "1") }, []string{"第 5 行“名称”：必填"}, ""},
			{"ErrNameDuplicate", func(v url.Values) { v.Set("row4.name", "参加村民会议"); v.Set("row4.points", "1") }, []string{"第 5 行“名称”：与前面的细则重名"}, ""},
			{"ErrCapCount", func(v url.Values) {
				v.Set("row4.points", "1")
				v.Set("row4.cap_period", "week")
				v.Set("row4.cap_count", "")
			},
				[]string{"第 5 行“限次”：次数上限和周期要一起填写，且不能为负"}, ""},
			{"ErrAdoptedBy", func(v url.Values) { v.Set("row4.points", "1"); v.Set("adopted_by", "") }, nil, `name="adopted_by"[^>]*>\s*<span class="err">必填</span>`},
		}
		for _, c := range cases {
			v := url.Values{}
			for k, vs := range form {
				v[k] = slices.Clone(vs)
			}
			c.change(v)
			st, body := browser.PostForm("/admin/bank/rules", v)
			if st != 422 {
				t.Errorf("%s: %d, want 422", c.name, st)
				continue
			}
			for _, w := range c.want {
				if !strings.Contains(body, escaped(t, w)) {
					t.Errorf("%s: the page does not say %q", c.name, w)
				}
			}
			if c.re != "" && !regexp.MustCompile(c.re).MatchString(body) {
				t.Errorf("%s: the page does not match %s", c.name, c.re)
			}
			if !strings.Contains(body, `value="门前三包（含绿化）"`) || !strings.Contains(body, `name="row2.remove" value="1" checked`) {
				t.Errorf("%s: the refused form lost what was typed", c.name)
			}
			if m := codesShown.FindString(body); m != "" {
				t.Errorf("%s: the refused form shows the code %q", c.name, m)
			}
		}
		if n := f.count(t, "bank_rule_versions"); n != before {
			t.Fatalf("refused forms stored %d versions", n-before)
		}

		// More rows, then the version adopted.
		if st, body := browser.PostForm("/admin/bank/rules", func() url.Values { v := url.Values{}; v.Set("rows", "1"); v.Set("add_rows", "1"); return v }()); st != 200 ||
			!strings.Contains(body, `name="row3.name"`) {
			t.Errorf("more rows: %d", st)
		}
		form.Set("row4.points", "1")
		if st, body := browser.PostForm("/admin/bank/rules", form); st != http.StatusSeeOther {
			t.Fatalf("adopt: %d %.2000s", st, body)
		}
		rules, err := f.env.Sys.Bank.RulesInForce(ctx, f.town, 0, people.Villager, today)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bank.Rule{}
		for _, r := range rules {
			got[r.Name] = r
		}
		if r := got["门前三包（含绿化）"]; r.Code != "clean" || r.Points != 6 {
			t.Errorf("the renamed rule: %+v, want code clean and 6 points", r)
		}
		if r := got["邻里互助"]; r.Code != "help" || r.CapPeriod != "day" || r.CapCount != 5 {
			t.Errorf("the kept rule: %+v", r)
		}
		if r := got["参加村民会议"]; r.Code != "meeting" || r.CapPeriod != "month" || r.CapCount != 4 || r.Category != "村务参与" {
			t.Errorf("a rule of a name the town has had: %+v, want code meeting", r)
		}
		fresh := got["清理小广告"]
		if !regexp.MustCompile(`^r[0-9a-f]{8}$`).MatchString(fresh.Code) || !fresh.EvidenceRequired || fresh.NoticeRequired {
			t.Errorf("the new rule: %+v", fresh)
		}
		if _, ok := got["见义勇为"]; ok || len(rules) != 4 {
			t.Errorf("rules in force: %+v", rules)
		}
		if st, body := browser.Get("/admin/bank/rules"); st != 200 || !strings.Contains(body, "潞决〔2026〕12号") || codesShown.MatchString(body) || strings.Contains(body, fresh.Code) {
			t.Errorf("the rules page after adopting: %d", st)
		}

		// The API keeps its shape, codes and all.
		var api []bank.Rule
		if st, body := f.env.API(demo.PhoneVillageAdmin).JSON("GET", fmt.Sprintf("/api/v1/bank/rules?resident_id=%d", f.resident), nil, &api); st != 200 ||
			!slices.ContainsFunc(api, func(r bank.Rule) bool { return r.Code == "meeting" && r.Name == "参加村民会议" }) {
			t.Errorf("the API's rules: %d %.500s", st, body)
		}

		// The new rule, picked by its name on the award page, pays.
		clerk := f.env.Browser(demo.PhoneVillageAdmin)
		st, body = clerk.Get(fmt.Sprintf("/admin/bank/award?resident_id=%d", f.resident))
		single := section(t, body, `id="single"`, `id="bulk"`)
		if st != 200 {
			t.Fatalf("award page: %d", st)
		}
		beforeBalance := balanceOf(t, f, f.resident)
		if st, body := clerk.PostForm("/admin/bank/award", url.Values{"resident_id": {fmt.Sprint(f.resident)}, "rule_code": {optionFor(t, single, "清理小广告")},
			"reason": {"清理电线杆小广告"}, "idempotency_key": {keyRE.FindStringSubmatch(single)[1]}}); st != http.StatusSeeOther {
			t.Fatalf("award under the new rule: %d %.500s", st, body)
		}
		if got := balanceOf(t, f, f.resident); got != beforeBalance+1 {
			t.Errorf("balance %d, want %d", got, beforeBalance+1)
		}
	})
}
