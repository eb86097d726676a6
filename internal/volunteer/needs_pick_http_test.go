package volunteer_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
)

// TestVisitNeedPicksThePerson (issue 13, no ids on screen): the staff's 登记走访需求 form asks for
// no 居民编号. Staff search the village's register by name, phone or 户号 and pick the person;
// what they typed stays while they search; the need is then for that person, by name. A person of
// another village, slipped into the form, is refused naming the field, and nothing is stored.
func TestVisitNeedPicksThePerson(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		u := newUsable(t, d)
		staff := u.Browser(demo.PhoneVillageAdmin)
		var me struct {
			ID   int64
			Name string
		}
		if st, body := u.API(demo.PhoneResident).JSON("GET", "/api/v1/me", nil, &me); st != 200 || me.Name == "" {
			t.Fatalf("me: %d %s", st, body)
		}
		st, body := staff.Get(fmt.Sprintf("/admin/volunteer/needs?village_id=%d", u.qt.ID))
		if st != 200 || strings.Contains(body, `name="for_resident_id" inputmode`) || strings.Contains(body, "居民编号") || !strings.Contains(body, `name="for_q"`) {
			t.Fatalf("the form (%d) still asks for an id, or has no search", st)
		}
		// The search keeps what was typed and offers the person by name.
		q := url.Values{"village_id": {fmt.Sprint(u.qt.ID)}, "category": {"repair"}, "description": {"走访：厨房漏水"}, "urgency": {"high"}, "for_q": {me.Name}}
		st, body = staff.Get("/admin/volunteer/needs?" + q.Encode())
		option := regexp.MustCompile(`<input type="radio" name="for_resident_id" value="(\d+)" > ` + regexp.QuoteMeta(me.Name) + ` · `)
		m := option.FindStringSubmatch(body)
		if st != 200 || m == nil || m[1] != fmt.Sprint(me.ID) {
			t.Fatalf("searching %s (%d): the person is not offered", me.Name, st)
		}
		if !strings.Contains(body, "走访：厨房漏水</textarea>") || !strings.Contains(body, `value="high" selected`) {
			t.Error("the search lost what was typed")
		}
		// Another village's resident slipped into the form: refused by field, nothing stored.
		var other int64
		if err := d.Read().QueryRow(`SELECT r.id FROM residents r JOIN villages v ON v.id = r.village_id WHERE v.name = '东堡村' AND v.town_id = $1 LIMIT 1`, u.Info.TownID).Scan(&other); err != nil {
			t.Fatal(err)
		}
		post := url.Values{"village_id": {fmt.Sprint(u.qt.ID)}, "category": {"repair"}, "description": {"走访：厨房漏水"}, "urgency": {"high"}, "for_q": {me.Name}, "for_resident_id": {fmt.Sprint(other)}}
		if st, body := staff.PostForm("/admin/volunteer/needs", post); st != http.StatusUnprocessableEntity || !strings.Contains(body, "该居民不在这个村") {
			t.Errorf("another village's resident: %d", st)
		}
		if n := u.needsCount("走访：厨房漏水"); n != 0 {
			t.Fatalf("a refused need stored %d", n)
		}
		// The person picked: the need is theirs, by name.
		post.Set("for_resident_id", fmt.Sprint(me.ID))
		if st, body := staff.PostForm("/admin/volunteer/needs", post); st != http.StatusSeeOther {
			t.Fatalf("picked: %d %.300s", st, body)
		}
		var forID int64
		var forName string
		if err := d.Read().QueryRow(`SELECT for_resident_id, for_name FROM volunteer_needs WHERE description = '走访：厨房漏水'`).Scan(&forID, &forName); err != nil {
			t.Fatal(err)
		}
		if forID != me.ID || forName != me.Name {
			t.Errorf("the need is for %d %s, want %d %s", forID, forName, me.ID, me.Name)
		}
	})
}
