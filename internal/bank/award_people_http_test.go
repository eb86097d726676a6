package bank_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// villagers are the residents of a village on the register, with their full 身份证号, as its staff
// see them through the API.
func villagers(t *testing.T, f *bankFixture, phone string, villageID int64) []people.ResidentJSON {
	t.Helper()
	var list people.ResidentList
	if st, body := f.env.API(phone).JSON("GET", fmt.Sprintf("/api/v1/residents?village_id=%d", villageID), nil, &list); st != 200 {
		t.Fatalf("residents: %d %.300s", st, body)
	}
	out := list.Items
	for i := range out {
		if st, body := f.env.API(phone).JSON("GET", fmt.Sprintf("/api/v1/residents/%d", out[i].ID), nil, &out[i]); st != 200 {
			t.Fatalf("resident: %d %.300s", st, body)
		}
	}
	return out
}

// balanceOf is a resident's balance as the town admin reads it.
func balanceOf(t *testing.T, f *bankFixture, id int64) int64 {
	t.Helper()
	var b bank.Balance
	if st, body := f.env.API(demo.PhoneTownAdmin).JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d", id), nil, &b); st != 200 {
		t.Fatalf("balance of %d: %d %.300s", id, st, body)
	}
	return b.Balance
}

// section is the part of a page from the first from to the first to after it (to "": the end).
func section(t *testing.T, body, from, to string) string {
	t.Helper()
	i := strings.Index(body, from)
	if i < 0 {
		t.Fatalf("the page has no %q", from)
	}
	s := body[i:]
	if j := strings.Index(s[len(from):], to); to != "" && j >= 0 {
		s = s[:len(from)+j]
	}
	return s
}

// optionFor is the value of the option a page shows with text starting with name: what a browser
// sends when the clerk picks the rule by its name.
func optionFor(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`<option value="([^"]*)"[^>]*>` + regexp.QuoteMeta(name)).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no option %q in %.2000s", name, page)
	}
	return m[1]
}

// postBulk sends the bulk form as the browser does: multipart, with a sheet when file is not nil.
func postBulk(t *testing.T, f *bankFixture, phone string, fields url.Values, file []byte) (int, string) {
	t.Helper()
	return postBulkAs(t, f, f.env.Browser(phone), fields, file)
}

// postBulkAs is postBulk by a browser already logged in.
func postBulkAs(t *testing.T, f *bankFixture, c *servertest.Client, fields url.Values, file []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "名单.xlsx")
		fw.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", f.env.URL+"/admin/bank/award/bulk", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.Do(req)
}

func sheet(t *testing.T, header []string, rows ...[]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := people.WriteResidentsXLSX(&b, header, rows); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAwardPicksPeople: the award page finds residents by name, phone and 户号 among those its
// clerk may award only; a resident of another village is not offered, and naming them by id
// answers not found. A rule chosen by its name pays, and the outcome names the people.
func TestAwardPicksPeople(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		ctx := context.Background()
		clerk := f.env.Browser(demo.PhoneVillageAdmin)
		qt := villagers(t, f, demo.PhoneTownAdmin, f.qiantuan)
		dongbao, err := f.env.Sys.People.VillageByName(ctx, f.town, "东堡村")
		if err != nil {
			t.Fatal(err)
		}
		other := villagers(t, f, demo.PhoneTownAdmin, dongbao.ID)[0]
		var me people.ResidentJSON
		for _, r := range qt {
			if r.ID == f.resident {
				me = r
			}
		}
		tick := fmt.Sprintf(`name="resident_ids" value="%d"`, f.resident)
		for _, c := range []struct{ name, q string }{
			{"ByName", me.Name},
			{"ByPartOfTheName", string([]rune(me.Name)[1:])},
			{"ByPhone", me.Phone},
			{"ByPhoneStart", me.Phone[:7]},
			{"ByHousehold", me.HouseholdNumber},
		} {
			st, body := clerk.Get("/admin/bank/award?q=" + url.QueryEscape(c.q))
			if st != 200 || !strings.Contains(body, tick) || !strings.Contains(body, people.MaskPhone(me.Phone)) || !strings.Contains(body, me.HouseholdNumber) {
				t.Errorf("%s (%q): %d, the resident is not offered", c.name, c.q, st)
			}
			if c.q != me.Phone && strings.Contains(body, me.Phone) {
				t.Errorf("%s: the page shows the whole phone number", c.name)
			}
		}
		// Another village's resident is not offered, by name or by phone, and not found by id.
		otherTick := fmt.Sprintf(`value="%d"`, other.ID)
		for _, q := range []string{other.Name, other.Phone, other.HouseholdNumber} {
			if q == "" {
				continue
			}
			if st, body := clerk.Get("/admin/bank/award?q=" + url.QueryEscape(q)); st != 200 || strings.Contains(body, otherTick) {
				t.Errorf("search %q: %d, offers 东堡村's resident", q, st)
			}
		}
		// The town's admin may award in every village, and finds them.
		if st, body := f.env.Browser(demo.PhoneTownAdmin).Get("/admin/bank/award?q=" + url.QueryEscape(other.Name)); st != 200 || !strings.Contains(body, otherTick) {
			t.Errorf("the town admin's search for 东堡村's resident: %d", st)
		}
		if st, _ := clerk.Get(fmt.Sprintf("/admin/bank/award?resident_id=%d", other.ID)); st != 404 {
			t.Errorf("choose 东堡村's resident: %d, want 404", st)
		}
		if st, _ := clerk.PostForm("/admin/bank/award", url.Values{"resident_id": {fmt.Sprint(other.ID)}, "rule_code": {"clean"}, "reason": {"越权"},
			"idempotency_key": {"pick-other"}}); st != 404 {
			t.Errorf("award 东堡村's resident: %d, want 404", st)
		}

		// The village's households, each with its people to tick.
		st, body := clerk.Get("/admin/bank/award?list=1")
		if st != 200 || !strings.Contains(body, tick) || strings.Contains(body, otherTick) {
			t.Fatalf("household list: %d", st)
		}
		for _, r := range qt {
			if !strings.Contains(body, fmt.Sprintf(`name="resident_ids" value="%d"`, r.ID)) {
				t.Errorf("the household list lacks %s", r.Name)
			}
		}

		// The rule is chosen by name; the code it sends is never typed. Ticked people, and one of
		// another village named by a forged id, are paid or refused one by one, by name.
		bulk := section(t, body, `id="bulk"`, "")
		rule := optionFor(t, bulk, "门前三包")
		key := keyRE.FindStringSubmatch(bulk)[1]
		neighbour := qt[0]
		if neighbour.ID == f.resident {
			neighbour = qt[1]
		}
		before := balanceOf(t, f, f.resident)
		st, body = postBulk(t, f, demo.PhoneVillageAdmin, url.Values{"resident_ids": {fmt.Sprint(f.resident), fmt.Sprint(neighbour.ID), fmt.Sprint(other.ID)},
			"rule_code": {rule}, "reason": {"清扫村道"}, "idempotency_key": {key}}, nil)
		if st != 200 {
			t.Fatalf("bulk: %d %.2000s", st, body)
		}
		if got := balanceOf(t, f, f.resident); got != before+5 {
			t.Errorf("balance %d after the bulk award, want %d", got, before+5)
		}
		out := section(t, body, escaped(t, fmt.Sprintf("已入账 %d 人，共 %d 人", 2, 3)), "</table>")
		for _, r := range []people.ResidentJSON{me, neighbour} {
			if !regexp.MustCompile(regexp.QuoteMeta(r.Name) + `</a></td><td>[^<]*</td><td>[^<]*</td>\s*<td>\+5</td>`).MatchString(out) {
				t.Errorf("the outcome does not say %s +5: %s", r.Name, out)
			}
		}
		if strings.Contains(out, other.Name) || !strings.Contains(out, "<td>—</td>") || !strings.Contains(out, "未发放：") {
			t.Errorf("the outcome of 东堡村's resident: %s", out)
		}
		if regexp.MustCompile(fmt.Sprintf(`>\s*(%d|%d|%d)\s*<`, f.resident, neighbour.ID, other.ID)).MatchString(out) {
			t.Errorf("the outcome shows ids: %s", out)
		}
		if got := balanceOf(t, f, other.ID); got != 0 {
			t.Errorf("东堡村's resident got %d", got)
		}

		// The single form: the resident is chosen from the search, the rule by name (confirmed as no
		// duplicate of the bulk award just paid: TestDuplicateAwardsAskFirst asks).
		st, body = clerk.Get(fmt.Sprintf("/admin/bank/award?resident_id=%d", f.resident))
		single := section(t, body, `id="single"`, `id="bulk"`)
		if st != 200 || !strings.Contains(single, me.Name) {
			t.Fatalf("single: %d", st)
		}
		if st, body := clerk.PostForm("/admin/bank/award", url.Values{"resident_id": {fmt.Sprint(f.resident)}, "rule_code": {optionFor(t, single, "门前三包")},
			"reason": {"打扫村道"}, "idempotency_key": {keyRE.FindStringSubmatch(single)[1]}, "confirm_duplicate": {"1"}}); st != http.StatusSeeOther {
			t.Fatalf("single award: %d %.500s", st, body)
		}
		if got := balanceOf(t, f, f.resident); got != before+10 {
			t.Errorf("balance %d after the single award, want %d", got, before+10)
		}
	})
}

// TestAwardFormsKeepTheirOwnValues: a refused single award comes back with its own values in the
// single form and none in the bulk form, and a refused bulk award the other way round.
func TestAwardFormsKeepTheirOwnValues(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		clerk := f.env.Browser(demo.PhoneVillageAdmin)
		before := f.count(t, "bank_transactions")

		st, body := clerk.PostForm("/admin/bank/award", url.Values{"resident_id": {fmt.Sprint(f.resident)}, "rule_code": {"clean"}, "reason": {""},
			"idempotency_key": {"keep-1"}})
		if st != 422 {
			t.Fatalf("single without a reason: %d", st)
		}
		single, bulk := section(t, body, `id="single"`, `id="bulk"`), section(t, body, `id="bulk"`, "")
		if !strings.Contains(single, `value="clean" selected`) || !strings.Contains(single, `class="err"`) {
			t.Errorf("the single form lost its rule or its error: %s", single)
		}
		if strings.Contains(bulk, "selected") || strings.Contains(bulk, `class="err"`) {
			t.Errorf("the bulk form shows the single form's values or errors: %s", bulk)
		}

		st, body = clerk.PostForm("/admin/bank/award", url.Values{"resident_id": {fmt.Sprint(f.resident)}, "rule_code": {""}, "reason": {"单独一人的事由"},
			"idempotency_key": {"keep-2"}})
		single, bulk = section(t, body, `id="single"`, `id="bulk"`), section(t, body, `id="bulk"`, "")
		if st != 422 || !strings.Contains(single, `value="单独一人的事由"`) || strings.Contains(bulk, "单独一人的事由") {
			t.Errorf("single without a rule: %d; single %s; bulk %s", st, single, bulk)
		}

		st, body = postBulk(t, f, demo.PhoneVillageAdmin, url.Values{"rule_code": {"help"}, "reason": {"全村大扫除"}, "idempotency_key": {"keep-3"}}, nil)
		single, bulk = section(t, body, `id="single"`, `id="bulk"`), section(t, body, `id="bulk"`, "")
		if st != 422 || !strings.Contains(bulk, `value="全村大扫除"`) || !strings.Contains(bulk, `value="help" selected`) || !strings.Contains(bulk, `class="err"`) {
			t.Errorf("bulk with nobody: %d; bulk %s", st, bulk)
		}
		if strings.Contains(single, "全村大扫除") || strings.Contains(single, `class="err"`) {
			t.Errorf("the single form shows the bulk form's values or errors: %s", single)
		}

		// What is ticked and typed in the bulk form stays while searching.
		st, body = clerk.Get("/admin/bank/award?" + url.Values{"q": {"没有这个人"}, "resident_ids": {fmt.Sprint(f.resident)}, "rule_code": {"help"}, "reason": {"全村大扫除"}}.Encode())
		bulk = section(t, body, `id="bulk"`, "")
		if st != 200 || !strings.Contains(bulk, fmt.Sprintf(`name="resident_ids" value="%d" checked`, f.resident)) || !strings.Contains(bulk, `value="全村大扫除"`) {
			t.Errorf("search with a tick: %d %s", st, bulk)
		}
		if n := f.count(t, "bank_transactions"); n != before {
			t.Errorf("refused forms posted %d transactions", n-before)
		}
	})
}

// TestAwardSheets: an uploaded sheet names people by 身份证号, by phone, or by 户号 and 姓名, and pays
// them; a sheet with a row that names nobody the clerk may award, or two people, pays nobody and
// names each bad row and column. The village's award sheet, downloaded and cut down, is uploaded
// again as it is.
func TestAwardSheets(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		ctx := context.Background()
		qt := villagers(t, f, demo.PhoneTownAdmin, f.qiantuan)
		var pick []people.ResidentJSON
		for _, r := range qt {
			if r.Phone != "" && r.ID != f.resident && !strings.HasPrefix(r.Phone, "139000000") { // not the demo's staff
				pick = append(pick, r)
			}
		}
		if len(pick) < 5 {
			t.Fatalf("前疃村 has %d residents with a phone, the test needs 5", len(pick))
		}
		a, b, c, dd, e := pick[0], pick[1], pick[2], pick[3], pick[4]
		dongbao, err := f.env.Sys.People.VillageByName(ctx, f.town, "东堡村")
		if err != nil {
			t.Fatal(err)
		}
		other := villagers(t, f, demo.PhoneTownAdmin, dongbao.ID)[0]
		header := []string{"姓名", "身份证号", "手机号", "户号"}
		bal := map[int64]int64{}
		for _, r := range qt {
			bal[r.ID] = balanceOf(t, f, r.ID)
		}
		form := func(key string) url.Values {
			return url.Values{"rule_code": {"clean"}, "reason": {"参加环境整治"}, "idempotency_key": {key}}
		}

		// Two residents share a phone: a row naming them by it names two people.
		admin := login(t, f.env, demo.PhoneTownAdmin)
		if _, err := f.env.Sys.People.PatchResident(ctx, admin, dd.ID, people.ResidentPatch{Phone: &e.Phone}); err != nil {
			t.Fatal(err)
		}
		before := f.count(t, "bank_transactions")
		st, body := postBulk(t, f, demo.PhoneVillageAdmin, form("sheet-bad"), sheet(t, header,
			[]string{a.Name, a.IDNumber, "", ""},         // row 2: fine
			[]string{"", "", "13912345678", ""},          // row 3: nobody
			[]string{"", "", e.Phone, ""},                // row 4: two people
			[]string{other.Name, other.IDNumber, "", ""}, // row 5: another village's
			[]string{"查无此人", "", "", c.HouseholdNumber},  // row 6: nobody of that name in the household
			[]string{"", "", "", ""},                     // a blank row
			[]string{b.Name + "错", "", b.Phone, ""},      // row 8: the phone is someone else's
		))
		if st != 422 {
			t.Fatalf("bad sheet: %d %.3000s", st, body)
		}
		for _, want := range []string{
			"第 3 行</td><td>手机号</td><td class=\"err\">对不上您可发放的居民",
			"第 4 行</td><td>手机号</td><td class=\"err\">对上了 2 位居民，请填写村或改填身份证号",
			"第 5 行</td><td>身份证号</td><td class=\"err\">对不上您可发放的居民",
			"第 6 行</td><td>户号</td><td class=\"err\">对不上您可发放的居民",
			"第 8 行</td><td>姓名</td><td class=\"err\">" + escaped(t, fmt.Sprintf("按手机号找到的是“%s”，与姓名不符", b.Name)),
			escaped(t, "名单有 5 行对不上，没有发放任何积分"),
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the refusal does not say %q", want)
			}
		}
		if strings.Contains(body, "第 2 行") || strings.Contains(body, "第 7 行") {
			t.Error("the refusal names a good or blank row")
		}
		if n := f.count(t, "bank_transactions"); n != before {
			t.Fatalf("a refused sheet posted %d transactions", n-before)
		}

		// A good sheet pays each person it names once.
		st, body = postBulk(t, f, demo.PhoneVillageAdmin, form("sheet-good"), sheet(t, header,
			[]string{a.Name, a.IDNumber, "", ""},
			[]string{"", "", b.Phone, ""},
			[]string{c.Name, "", "", c.HouseholdNumber},
			[]string{"", strings.ToLower(a.IDNumber), "", ""},
		))
		if st != 200 || !strings.Contains(body, escaped(t, "已入账 3 人，共 3 人")) {
			t.Fatalf("good sheet: %d %.3000s", st, body)
		}
		for _, r := range []people.ResidentJSON{a, b, c} {
			if got := balanceOf(t, f, r.ID); got != bal[r.ID]+5 {
				t.Errorf("%s: balance %d, want %d", r.Name, got, bal[r.ID]+5)
			}
			if !strings.Contains(body, r.Name+"</a>") {
				t.Errorf("the outcome does not name %s", r.Name)
			}
			bal[r.ID] += 5
		}

		// The village's award sheet: who each is, masked, with the balance; no ids (its columns are the
		// headers').
		st, raw := f.env.Browser(demo.PhoneVillageAdmin).Get(fmt.Sprintf("/admin/bank/award?download=sheet&village_id=%d", f.qiantuan))
		if st != 200 {
			t.Fatalf("award sheet: %d %.300s", st, raw)
		}
		x, err := excelize.OpenReader(strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := x.GetRows(x.GetSheetList()[0])
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(rows[0], ",") != strings.Join(bank.AwardSheetHeaders, ",") || len(rows) != len(qt)+1 {
			t.Fatalf("award sheet: %d rows, header %v", len(rows), rows[0])
		}
		var keep [][]string
		for _, row := range rows[1:] {
			for _, r := range []people.ResidentJSON{b, c} {
				if row[2] == r.Name && row[1] == r.HouseholdNumber {
					want := []string{"前疃村", r.HouseholdNumber, r.Name, people.MaskID(r.IDNumber), people.MaskPhone(r.Phone), fmt.Sprint(bal[r.ID])}
					if strings.Join(row, ",") != strings.Join(want, ",") {
						t.Errorf("award sheet row %v, want %v", row, want)
					}
					keep = append(keep, row)
				}
			}
		}
		if st, _ := f.env.Browser(demo.PhoneVillageAdmin).Get(fmt.Sprintf("/admin/bank/award?download=sheet&village_id=%d", dongbao.ID)); st != 404 {
			t.Errorf("another village's award sheet: %d", st)
		}
		// Cut down to two people and uploaded again: the masked numbers are not read, 户号 and 姓名 are.
		// Both were paid by the good sheet just now: the clerk confirms it is another occasion.
		again := form("sheet-again")
		again.Set("confirm_duplicate", "1")
		st, body = postBulk(t, f, demo.PhoneVillageAdmin, again, sheet(t, bank.AwardSheetHeaders, keep...))
		if st != 200 || !strings.Contains(body, escaped(t, "已入账 2 人，共 2 人")) {
			t.Fatalf("the award sheet uploaded again: %d %.3000s", st, body)
		}
		for _, r := range []people.ResidentJSON{b, c} {
			if got := balanceOf(t, f, r.ID); got != bal[r.ID]+5 {
				t.Errorf("%s: balance %d, want %d", r.Name, got, bal[r.ID]+5)
			}
		}
		// A sheet that names people by nothing it can read is refused as a whole.
		if st, body := postBulk(t, f, demo.PhoneVillageAdmin, form("sheet-none"), sheet(t, []string{"姓名", "余额"}, []string{a.Name, "5"})); st != 422 ||
			!strings.Contains(body, escaped(t, "第一行要有“身份证号”或“手机号”列，或“户号”和“姓名”两列")) {
			t.Errorf("a sheet without a column naming people: %d", st)
		}
	})
}
