package bank_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// uniquelyNamed are the active residents among rs whose name nobody else in rs or in others
// bears, so that a page naming one of them names nobody else.
func uniquelyNamed(rs []people.ResidentJSON, others ...people.ResidentJSON) []people.ResidentJSON {
	seen := map[string]int{}
	for _, r := range append(append([]people.ResidentJSON{}, rs...), others...) {
		seen[r.Name]++
	}
	var out []people.ResidentJSON
	for _, r := range rs {
		if seen[r.Name] == 1 && r.Status == people.Active {
			out = append(out, r)
		}
	}
	return out
}

// duplicateMessage is the part of an award page that asks about a likely duplicate: the message
// at the confirm box.
var duplicateMessage = regexp.MustCompile(`<p class="err" role="alert">([^<]*)</p>\s*<label class="check"><input type="checkbox" name="confirm_duplicate" value="1">`)

// TestDuplicateAwardsAskFirst (issue 13 item 21): an award to someone already awarded under the
// same rule in the last 24 hours is refused until the clerk confirms it, on the single form, the
// API, the bulk form by people ticked and by an uploaded sheet. The refusal names the people by
// name, stores nothing, and the form comes back ready to confirm; confirming pays. The same bulk
// award sent again under its key, even twice at once, answers its first outcome; an award reversed,
// or older than 24 hours, asks nothing; another village's resident is refused as before, unnamed.
func TestDuplicateAwardsAskFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		ctx := context.Background()
		clerk := f.env.Browser(demo.PhoneVillageAdmin)
		api := f.env.API(demo.PhoneVillageAdmin)
		dongbao, err := f.env.Sys.People.VillageByName(ctx, f.town, "东堡村")
		if err != nil {
			t.Fatal(err)
		}
		others := villagers(t, f, demo.PhoneTownAdmin, dongbao.ID)
		self := login(t, f.env, demo.PhoneVillageAdmin).ResidentID // nobody awards themself
		var r []people.ResidentJSON
		for _, p := range uniquelyNamed(villagers(t, f, demo.PhoneTownAdmin, f.qiantuan), others...) {
			if p.ID != self && len(r) < 8 {
				r = append(r, p)
			}
		}
		if len(r) < 8 {
			t.Fatalf("only %d residents of 前疃村 with names of their own", len(r))
		}
		other := others[0]
		stored := func() int { return f.count(t, "bank_transactions") + f.count(t, "bank_claims") }
		// refused checks a duplicate's refusal: 409, the message naming exactly these people, and
		// nothing stored.
		refused := func(what string, st int, body string, before int, named ...people.ResidentJSON) {
			t.Helper()
			m := duplicateMessage.FindStringSubmatch(body)
			if st != http.StatusConflict || m == nil {
				t.Fatalf("%s: %d, no question about a duplicate: %.3000s", what, st, body)
			}
			for _, p := range named {
				if !strings.Contains(m[1], p.Name) {
					t.Errorf("%s: the question does not name %s: %s", what, p.Name, m[1])
				}
			}
			if want := fmt.Sprintf("共 %d 人", len(named)); !strings.Contains(m[1], want) || !strings.Contains(m[1], escaped(t, "24 小时内已按「门前三包」得过积分")) {
				t.Errorf("%s: the question says %q, want %q and the rule", what, m[1], want)
			}
			for _, p := range append(r, other) {
				if !slices.ContainsFunc(named, func(x people.ResidentJSON) bool { return x.ID == p.ID }) && strings.Contains(m[1], p.Name) {
					t.Errorf("%s: the question names %s too: %s", what, p.Name, m[1])
				}
			}
			if n := stored(); n != before {
				t.Errorf("%s: a refused award stored %d rows", what, n-before)
			}
		}

		// The single form: the second award of 门前三包 to r[0] today asks first.
		singleKey := func(body string) string {
			t.Helper()
			return keyRE.FindStringSubmatch(section(t, body, `id="single"`, `id="bulk"`))[1]
		}
		_, page := clerk.Get(fmt.Sprintf("/admin/bank/award?resident_id=%d", r[0].ID))
		single := url.Values{"resident_id": {fmt.Sprint(r[0].ID)}, "rule_code": {"clean"}, "reason": {"打扫村道"}, "idempotency_key": {singleKey(page)}}
		if st, body := clerk.PostForm("/admin/bank/award", single); st != http.StatusSeeOther {
			t.Fatalf("first single award: %d %.500s", st, body)
		}
		bal0 := balanceOf(t, f, r[0].ID)
		_, page = clerk.Get(fmt.Sprintf("/admin/bank/award?resident_id=%d", r[0].ID))
		single.Set("idempotency_key", singleKey(page))
		single.Set("reason", "又打扫了一次")
		before := stored()
		st, body := clerk.PostForm("/admin/bank/award", single)
		refused("the single award again", st, body, before, r[0])
		if !strings.Contains(section(t, body, `id="single"`, `id="bulk"`), `value="又打扫了一次"`) {
			t.Error("the refused single form lost its reason")
		}
		single.Set("idempotency_key", singleKey(body))
		single.Set("confirm_duplicate", "1")
		if st, body := clerk.PostForm("/admin/bank/award", single); st != http.StatusSeeOther {
			t.Fatalf("the single award confirmed: %d %.500s", st, body)
		}
		if got := balanceOf(t, f, r[0].ID); got != bal0+5 {
			t.Errorf("balance %d after the confirmed award, want %d", got, bal0+5)
		}

		// The API asks the same, by the problem's field; confirm_duplicate pays; the first key
		// sent again is the first award, no duplicate.
		award := map[string]any{"resident_id": r[0].ID, "rule_code": "clean", "reason": "接口", "idempotency_key": "dup-api"}
		before = stored()
		if st, body := api.JSON("POST", "/api/v1/bank/awards", award, nil); st != http.StatusConflict ||
			!strings.Contains(body, `"field":"confirm_duplicate"`) || !strings.Contains(body, r[0].Name) {
			t.Errorf("the API award again: %d %s", st, body)
		}
		if n := stored(); n != before {
			t.Errorf("a refused API award stored %d rows", n-before)
		}
		award["confirm_duplicate"] = true
		var first, again bank.AwardResponse
		if st, body := api.JSON("POST", "/api/v1/bank/awards", award, &first); st != http.StatusCreated {
			t.Fatalf("the API award confirmed: %d %s", st, body)
		}
		delete(award, "confirm_duplicate")
		if st, body := api.JSON("POST", "/api/v1/bank/awards", award, &again); st != http.StatusOK || !again.Replayed || again.TransactionID != first.TransactionID {
			t.Errorf("the confirmed award's key again: %d %s", st, body)
		}

		// A reversed award is no duplicate.
		rev := f.award(t, r[7].ID, "clean", "记错了人", "dup-reversed")
		if st, body := f.env.API(demo.PhoneTownAdmin).JSON("POST", "/api/v1/bank/reversals", bank.ReverseInput{TransactionID: rev.TransactionID, Reason: "记错了人"}, nil); st != http.StatusCreated {
			t.Fatalf("reverse: %d %s", st, body)
		}
		f.award(t, r[7].ID, "clean", "这次记对了", "dup-after-reversal")

		// The bulk form by people ticked: sent twice, the second (a reloaded page, a new key) asks
		// first, naming the two already paid and neither the third nor 东堡村's resident.
		bulkKey := func(body string) string {
			t.Helper()
			return keyRE.FindStringSubmatch(section(t, body, `id="bulk"`, ""))[1]
		}
		ids := func(ps ...people.ResidentJSON) []string {
			var out []string
			for _, p := range ps {
				out = append(out, fmt.Sprint(p.ID))
			}
			return out
		}
		_, page = clerk.Get("/admin/bank/award")
		firstKey := bulkKey(page)
		bulk := url.Values{"resident_ids": ids(r[1], r[2]), "rule_code": {"clean"}, "reason": {"秋收"}, "idempotency_key": {firstKey}}
		if st, body := postBulkAs(t, f, clerk, bulk, nil); st != 200 || !strings.Contains(body, escaped(t, "已入账 2 人，共 2 人")) {
			t.Fatalf("first bulk: %d %.2000s", st, body)
		}
		bal3 := balanceOf(t, f, r[3].ID)
		_, page = clerk.Get("/admin/bank/award")
		bulk = url.Values{"resident_ids": ids(r[1], r[2], r[3], other), "rule_code": {"clean"}, "reason": {"秋收"}, "idempotency_key": {bulkKey(page)}}
		before = stored()
		st, body = postBulkAs(t, f, clerk, bulk, nil)
		refused("the bulk award again", st, body, before, r[1], r[2])
		if got := balanceOf(t, f, r[3].ID); got != bal3 {
			t.Errorf("a refused bulk paid %s: %d, want %d", r[3].Name, got, bal3)
		}
		for _, p := range []people.ResidentJSON{r[1], r[2], r[3]} {
			if !strings.Contains(body, fmt.Sprintf(`name="resident_ids" value="%d" checked`, p.ID)) {
				t.Errorf("the refused bulk form does not keep %s ticked", p.Name)
			}
		}
		if strings.Contains(body, other.Name) || strings.Contains(body, fmt.Sprintf(`value="%d"`, other.ID)) {
			t.Error("the refused bulk form shows 东堡村's resident")
		}
		// The first bulk sent again under its key is the first outcome, asked nothing.
		before = stored()
		if st, body := postBulkAs(t, f, clerk, url.Values{"resident_ids": ids(r[1], r[2]), "rule_code": {"clean"}, "reason": {"秋收"},
			"idempotency_key": {firstKey}}, nil); st != 200 || strings.Count(body, "此前已入账") != 2 {
			t.Errorf("the first bulk resent: %d %.2000s", st, body)
		}
		if n := stored(); n != before {
			t.Errorf("the first bulk resent stored %d rows", n-before)
		}
		// Confirmed from the refused form: the three are paid, 东堡村's resident refused unnamed.
		bulk.Set("idempotency_key", bulkKey(body))
		bulk.Set("confirm_duplicate", "1")
		st, body = postBulkAs(t, f, clerk, bulk, nil)
		if st != 200 || !strings.Contains(body, escaped(t, "已入账 3 人，共 4 人")) || strings.Contains(body, other.Name) {
			t.Fatalf("the bulk confirmed: %d %.2000s", st, body)
		}
		if got := balanceOf(t, f, r[3].ID); got != bal3+5 {
			t.Errorf("%s: %d after the confirmed bulk, want %d", r[3].Name, got, bal3+5)
		}

		// The bulk form by a sheet: it names r[3], paid just now, and r[4]: refused naming r[3]
		// only; the form comes back with both ticked, so confirming needs no second upload.
		bal4 := balanceOf(t, f, r[4].ID)
		_, page = clerk.Get("/admin/bank/award")
		before = stored()
		st, body = postBulkAs(t, f, clerk, url.Values{"rule_code": {"clean"}, "reason": {"环境整治"}, "idempotency_key": {bulkKey(page)}},
			sheet(t, []string{"姓名", "身份证号"}, []string{r[3].Name, r[3].IDNumber}, []string{r[4].Name, r[4].IDNumber}))
		refused("the sheet", st, body, before, r[3])
		var ticked []string
		for _, p := range []people.ResidentJSON{r[3], r[4]} {
			if !regexp.MustCompile(fmt.Sprintf(`name="resident_ids" value="%d" checked>%s`, p.ID, regexp.QuoteMeta(p.Name))).MatchString(body) {
				t.Errorf("the refused sheet does not keep %s ticked by name", p.Name)
			}
			ticked = append(ticked, fmt.Sprint(p.ID))
		}
		st, body = postBulkAs(t, f, clerk, url.Values{"resident_ids": ticked, "rule_code": {"clean"}, "reason": {"环境整治"},
			"idempotency_key": {bulkKey(body)}, "confirm_duplicate": {"1"}}, nil)
		if st != 200 || !strings.Contains(body, escaped(t, "已入账 2 人，共 2 人")) {
			t.Fatalf("the sheet confirmed: %d %.2000s", st, body)
		}
		if got := balanceOf(t, f, r[4].ID); got != bal4+5 {
			t.Errorf("%s: %d after the confirmed sheet, want %d", r[4].Name, got, bal4+5)
		}

		// 东堡村's admin naming 前疃村's people is refused person by person as before: never asked
		// about them, never told their names.
		st, body = postBulkAs(t, f, f.env.Browser(demo.PhoneVillageAdmin2), url.Values{"resident_ids": ids(r[1], r[2]), "rule_code": {"clean"}, "reason": {"越权"},
			"idempotency_key": {"dup-other-village"}}, nil)
		if st != 200 || duplicateMessage.MatchString(body) || strings.Contains(body, r[1].Name) || !strings.Contains(body, escaped(t, "已入账 0 人，共 2 人")) {
			t.Errorf("another village's bulk: %d %.2000s", st, body)
		}
		if st, _ := f.env.Browser(demo.PhoneVillageAdmin2).PostForm("/admin/bank/award", url.Values{"resident_id": {fmt.Sprint(r[1].ID)}, "rule_code": {"clean"},
			"reason": {"越权"}, "idempotency_key": {"dup-other-single"}}); st != http.StatusNotFound {
			t.Errorf("another village's single award: %d, want 404", st)
		}

		// A rule that needs a public notice: the award put on notice counts as given.
		if st, body := postBulkAs(t, f, clerk, url.Values{"resident_ids": ids(r[5]), "rule_code": {"brave"}, "reason": {"救火"}, "idempotency_key": {"dup-brave-1"}}, nil); st != 200 {
			t.Fatalf("brave: %d %.1000s", st, body)
		}
		before = stored()
		st, body = postBulkAs(t, f, clerk, url.Values{"resident_ids": ids(r[5]), "rule_code": {"brave"}, "reason": {"救火"}, "idempotency_key": {"dup-brave-2"}}, nil)
		if m := duplicateMessage.FindStringSubmatch(body); st != http.StatusConflict || m == nil || !strings.Contains(m[1], r[5].Name) {
			t.Errorf("brave again: %d %.2000s", st, body)
		}
		if n := stored(); n != before {
			t.Errorf("brave again stored %d rows", n-before)
		}

		// Two bulk awards racing under one key pay each person once, and neither is asked.
		_, page = clerk.Get("/admin/bank/award")
		race := url.Values{"resident_ids": ids(r[6]), "rule_code": {"clean"}, "reason": {"同时提交"}, "idempotency_key": {bulkKey(page)}}
		bal6 := balanceOf(t, f, r[6].ID)
		var wg sync.WaitGroup
		sts := make([]int, 4)
		for i := range sts {
			wg.Go(func() { sts[i], _ = postBulkAs(t, f, clerk, race, nil) })
		}
		wg.Wait()
		for i, st := range sts {
			if st != 200 {
				t.Errorf("racing bulk %d: %d", i, st)
			}
		}
		if got := balanceOf(t, f, r[6].ID); got != bal6+5 {
			t.Errorf("%s after racing bulks under one key: %d, want %d", r[6].Name, got, bal6+5)
		}

		// A day later the same award asks nothing.
		f.env.Sys.Bank.Now = func() time.Time { return time.Now().Add(errs.DuplicateWindow + time.Hour) }
		if st, body := postBulkAs(t, f, clerk, url.Values{"resident_ids": ids(r[1]), "rule_code": {"clean"}, "reason": {"第二天"}, "idempotency_key": {"dup-next-day"}}, nil); st != 200 ||
			!strings.Contains(body, escaped(t, "已入账 1 人，共 1 人")) {
			t.Errorf("a day later: %d %.2000s", st, body)
		}
	})
}
