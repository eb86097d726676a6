package volunteer_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/errs"
	"siwei/internal/volunteer"
)

// needsCount counts the needs with a description.
func (u *usable) needsCount(description string) int {
	u.t.Helper()
	var n int
	if err := u.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM volunteer_needs WHERE description = $1`, description).Scan(&n); err != nil {
		u.t.Fatal(err)
	}
	return n
}

// needQuestion is the part of a need form that asks about a likely duplicate: the message at the
// box that files it anyway.
var needQuestion = regexp.MustCompile(`<p class="err" role="alert">([^<]*)</p>\s*<label class="check"><input type="checkbox" name="confirm_duplicate" value="1">`)

// TestNeedKeysFileOneNeed (issue 13 item 22): the need form's idempotency key, which the phone
// keeps with a draft filed without signal and sends again when the signal returns, files one
// need however often it arrives: the page answers the same way each time, the API 201 and then
// 200 with the first need, and requests racing with one key make one need. A key sent with
// another need is refused; a key of the wrong shape is refused naming the field; another
// resident's same key is theirs, not the first one's.
func TestNeedKeysFileOneNeed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		u := newUsable(t, d)
		page, api := u.Browser(demo.PhoneResident), u.API(demo.PhoneResident)

		// The page, twice with one key: one need, the same answer.
		form := url.Values{"category": {"repair"}, "description": {"离线时记下：院门合页坏了"}, "urgency": {"normal"}, "idempotency_key": {"draft-7f3a"}}
		for i := range 2 {
			if st, body := page.PostForm("/volunteer/needs", form); st != http.StatusSeeOther {
				t.Fatalf("page post %d: %d %.500s", i+1, st, body)
			}
		}
		if n := u.needsCount("离线时记下：院门合页坏了"); n != 1 {
			t.Errorf("one key posted twice on the page: %d needs", n)
		}

		// The API: 201, then 200 with the same need, marked replayed.
		in := volunteer.NeedInput{Category: "health", Description: "想请医生上门量血压", Urgency: "high", IdempotencyKey: "api-need-1"}
		var first, again volunteer.Need
		if st, body := api.JSON("POST", "/api/v1/volunteer/needs", in, &first); st != http.StatusCreated || first.Replayed {
			t.Fatalf("first: %d %s", st, body)
		}
		if st, body := api.JSON("POST", "/api/v1/volunteer/needs", in, &again); st != http.StatusOK || again.ID != first.ID || !again.Replayed {
			t.Errorf("again: %d %s", st, body)
		}
		if n := u.needsCount(in.Description); n != 1 {
			t.Errorf("one key posted twice on the API: %d needs", n)
		}

		// The same key with another need: refused, nothing stored.
		other := in
		other.Description = "想请医生上门看看腿"
		if st, body := api.JSON("POST", "/api/v1/volunteer/needs", other, nil); st != http.StatusConflict || !strings.Contains(body, `"volunteer.key_reused"`) {
			t.Errorf("key reused: %d %s", st, body)
		}
		if n := u.needsCount(other.Description); n != 0 {
			t.Errorf("a reused key stored %d needs", n)
		}
		// A key of the wrong shape names the field.
		bad := volunteer.NeedInput{Category: "legal", Description: "咨询宅基地", IdempotencyKey: "has space"}
		if st, body := api.JSON("POST", "/api/v1/volunteer/needs", bad, nil); st != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `"field":"idempotency_key"`) || !strings.Contains(body, `"volunteer.key_invalid"`) {
			t.Errorf("bad key: %d %s", st, body)
		}
		bad.IdempotencyKey = strings.Repeat("k", 121)
		if st, _ := api.JSON("POST", "/api/v1/volunteer/needs", bad, nil); st != http.StatusUnprocessableEntity {
			t.Errorf("a key of 121 characters: %d", st)
		}
		if n := u.needsCount(bad.Description); n != 0 {
			t.Errorf("a bad key stored %d needs", n)
		}

		// Another resident's request with the same key is their own need.
		var theirs volunteer.Need
		mine := in
		mine.Description = "也想请医生上门量血压"
		if st, body := u.API(demo.PhonePartyMember).JSON("POST", "/api/v1/volunteer/needs", mine, &theirs); st != http.StatusCreated || theirs.ID == first.ID || theirs.Replayed {
			t.Errorf("another resident's same key: %d %s", st, body)
		}

		// Requests racing with one key, on the API and on the page, make one need each.
		race := volunteer.NeedInput{Category: "daily_care", Description: "信号回来后同时发出的需求", IdempotencyKey: "race-need"}
		var wg sync.WaitGroup
		ids := make([]int64, 6)
		sts := make([]int, 6)
		for i := range ids {
			wg.Go(func() {
				var n volunteer.Need
				sts[i], _ = api.JSON("POST", "/api/v1/volunteer/needs", race, &n)
				ids[i] = n.ID
			})
		}
		wg.Wait()
		created := 0
		for i := range ids {
			if sts[i] == http.StatusCreated {
				created++
			}
			if (sts[i] != http.StatusCreated && sts[i] != http.StatusOK) || ids[i] != ids[0] {
				t.Errorf("racing request %d: %d, need %d (first %d)", i, sts[i], ids[i], ids[0])
			}
		}
		if created != 1 || u.needsCount(race.Description) != 1 {
			t.Errorf("racing requests with one key: %d answered 201, %d needs stored", created, u.needsCount(race.Description))
		}
		pageRace := url.Values{"category": {"culture"}, "description": {"页面同时提交的需求"}, "urgency": {"normal"}, "idempotency_key": {"race-page"}}
		for i := range sts {
			wg.Go(func() { sts[i], _ = page.PostForm("/volunteer/needs", pageRace) })
		}
		wg.Wait()
		for i, st := range sts {
			if st != http.StatusSeeOther {
				t.Errorf("racing page post %d: %d", i, st)
			}
		}
		if n := u.needsCount("页面同时提交的需求"); n != 1 {
			t.Errorf("racing page posts with one key: %d needs", n)
		}
	})
}

// TestNeedDuplicateAsksFirst (issue 13 item 21): a need of the same category for the same person
// as one filed in the last 24 hours, on the resident's form, the staff's 登记走访需求 form or the
// API, is refused naming the need already there, stores nothing, and comes back with the box
// that files it anyway; ticked, it is filed. Another category, a need that was refused, another
// village's person of the same name, or a day later ask nothing.
func TestNeedDuplicateAsksFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		u := newUsable(t, d)
		page := u.Browser(demo.PhoneResident)
		leader, leaderAPI := u.Browser(demo.PhoneVillageAdmin), u.API(demo.PhoneVillageAdmin)
		asked := func(what string, st int, body, names string, count func() int, before int) {
			t.Helper()
			m := needQuestion.FindStringSubmatch(body)
			if st != http.StatusConflict || m == nil || !strings.Contains(m[1], names) {
				t.Fatalf("%s: %d, no question naming %q: %.3000s", what, st, names, body)
			}
			if n := count(); n != before {
				t.Errorf("%s: a refused need stored %d", what, n-before)
			}
		}
		all := func() int {
			var n int
			if err := u.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM volunteer_needs`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		// The resident's form: a second repair need today asks first, naming the first.
		if st, body := page.PostForm("/volunteer/needs", url.Values{"category": {"repair"}, "description": {"屋顶漏雨"}, "urgency": {"normal"}}); st != http.StatusSeeOther {
			t.Fatalf("first need: %d %.500s", st, body)
		}
		second := url.Values{"category": {"repair"}, "description": {"屋顶又漏了"}, "urgency": {"high"}, "idempotency_key": {"second-repair"}}
		before := all()
		st, body := page.PostForm("/volunteer/needs", second)
		asked("the resident's second repair need", st, body, "屋顶漏雨", all, before)
		if !strings.Contains(body, "屋顶又漏了</textarea>") || !strings.Contains(body, `value="second-repair"`) {
			t.Error("the refused form lost what was written, or its key")
		}
		second.Set("confirm_duplicate", "1")
		if st, body := page.PostForm("/volunteer/needs", second); st != http.StatusSeeOther {
			t.Fatalf("confirmed: %d %.500s", st, body)
		}
		if n := u.needsCount("屋顶又漏了"); n != 1 {
			t.Errorf("the confirmed need: %d stored", n)
		}
		// Another category asks nothing.
		if st, body := page.PostForm("/volunteer/needs", url.Values{"category": {"haircut"}, "description": {"想请人上门理发"}, "urgency": {"normal"}}); st != http.StatusSeeOther {
			t.Errorf("another category: %d %.500s", st, body)
		}

		// The API asks by the problem's field; confirm_duplicate files it.
		dup := volunteer.NeedInput{Category: "repair", Description: "院墙裂了"}
		before = all()
		if st, body := u.API(demo.PhoneResident).JSON("POST", "/api/v1/volunteer/needs", dup, nil); st != http.StatusConflict ||
			!strings.Contains(body, `"field":"`+errs.ConfirmDuplicate+`"`) || !strings.Contains(body, "屋顶又漏了") {
			t.Errorf("the API's duplicate: %d %s", st, body)
		}
		if n := all(); n != before {
			t.Errorf("the API's refused duplicate stored %d", n-before)
		}
		dup.ConfirmDuplicate = true
		if st, body := u.API(demo.PhoneResident).JSON("POST", "/api/v1/volunteer/needs", dup, nil); st != http.StatusCreated {
			t.Errorf("the API's confirmed duplicate: %d %s", st, body)
		}

		// A refused need asks nothing: the village refused the health need, a new one is filed.
		var health volunteer.Need
		if st, body := u.API(demo.PhoneResident).JSON("POST", "/api/v1/volunteer/needs", volunteer.NeedInput{Category: "health", Description: "想量血压"}, &health); st != http.StatusCreated {
			t.Fatalf("health: %d %s", st, body)
		}
		if st, body := leaderAPI.JSON("POST", fmt.Sprintf("/api/v1/volunteer/needs/%d/actions", health.ID), volunteer.NeedAction{Action: "refuse", Reason: "已转卫生室"}, nil); st != 200 {
			t.Fatalf("refuse: %d %s", st, body)
		}
		if st, body := page.PostForm("/volunteer/needs", url.Values{"category": {"health"}, "description": {"还是想量血压"}, "urgency": {"normal"}}); st != http.StatusSeeOther {
			t.Errorf("after a refused need: %d %.500s", st, body)
		}

		// The staff's 登记走访需求 form: the resident's own repair needs count for the same person,
		// and a name recorded at the door counts in its village.
		var me struct{ ID int64 }
		if st, body := u.API(demo.PhoneResident).JSON("GET", "/api/v1/me", nil, &me); st != 200 {
			t.Fatalf("me: %d %s", st, body)
		}
		visit := url.Values{"village_id": {fmt.Sprint(u.qt.ID)}, "category": {"repair"}, "description": {"走访发现院墙要修"}, "for_resident_id": {fmt.Sprint(me.ID)}, "urgency": {"normal"}}
		before = all()
		st, body = leader.PostForm("/admin/volunteer/needs", visit)
		asked("a visit's need for the same resident", st, body, "院墙裂了", all, before)
		visit.Set("confirm_duplicate", "1")
		if st, body := leader.PostForm("/admin/volunteer/needs", visit); st != http.StatusSeeOther {
			t.Fatalf("the visit confirmed: %d %.500s", st, body)
		}
		named := url.Values{"village_id": {fmt.Sprint(u.qt.ID)}, "category": {"daily_care"}, "description": {"独居老人要人帮忙买菜"}, "for_name": {"王大爷"}, "urgency": {"normal"}}
		if st, body := leader.PostForm("/admin/volunteer/needs", named); st != http.StatusSeeOther {
			t.Fatalf("a named need: %d %.500s", st, body)
		}
		named.Set("description", "王大爷还要人帮忙打扫")
		before = all()
		st, body = leader.PostForm("/admin/volunteer/needs", named)
		asked("the same name again", st, body, "独居老人要人帮忙买菜", all, before)
		if !strings.Contains(body, "王大爷") {
			t.Error("the question does not say whom the need is for")
		}
		// Another village's 王大爷 is another person; another name in the village too.
		dp, _ := u.Sys.People.VillageByName(t.Context(), u.town.ID, "东堡村")
		elsewhere := url.Values{"village_id": {fmt.Sprint(dp.ID)}, "category": {"daily_care"}, "description": {"东堡村的王大爷要人买菜"}, "for_name": {"王大爷"}, "urgency": {"normal"}}
		if st, body := u.Browser(demo.PhoneVillageAdmin2).PostForm("/admin/volunteer/needs", elsewhere); st != http.StatusSeeOther {
			t.Errorf("another village's 王大爷: %d %.500s", st, body)
		}
		named.Set("for_name", "李奶奶")
		if st, body := leader.PostForm("/admin/volunteer/needs", named); st != http.StatusSeeOther {
			t.Errorf("another name: %d %.500s", st, body)
		}
		// Another village's staff cannot record in 前疃村 at all, duplicate or not.
		if st, _ := u.Browser(demo.PhoneVillageAdmin2).PostForm("/admin/volunteer/needs", visit); st != http.StatusNotFound {
			t.Errorf("东堡村's admin recording in 前疃村: %d, want 404", st)
		}

		// A day later the same need asks nothing.
		u.later(errs.DuplicateWindow + 1)
		if st, body := page.PostForm("/volunteer/needs", url.Values{"category": {"repair"}, "description": {"第二天屋顶还漏"}, "urgency": {"normal"}}); st != http.StatusSeeOther {
			t.Errorf("a day later: %d %.500s", st, body)
		}
	})
}
