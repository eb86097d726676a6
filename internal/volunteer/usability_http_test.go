package volunteer_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
	"siwei/internal/volunteer"
)

// usable is the demo town served over HTTP with the volunteering rules of adoptRules in force,
// one clock for the pillar and the bank, and 前疃村's teams.
type usable struct {
	*servertest.Env
	t     *testing.T
	clock *atomic.Int64
	town  people.Town
	qt    people.Village
	teams []volunteer.Team
}

func newUsable(t *testing.T, d *db.DB) *usable {
	t.Helper()
	u := &usable{Env: servertest.New(t, d), t: t, clock: &atomic.Int64{}}
	u.clock.Store(db.Now().UnixMicro())
	now := func() time.Time { return time.UnixMicro(u.clock.Load()).UTC() }
	u.Sys.Volunteer.Now, u.Sys.Bank.Now, u.Sys.Notify.Now = now, now, now
	u.town, _ = u.Sys.People.Town(t.Context(), u.Info.TownID)
	adoptRules(t, u.Sys, u.town)
	u.qt, _ = u.Sys.People.VillageByName(t.Context(), u.town.ID, "前疃村")
	if st, body := u.API(demo.PhoneVillageAdmin).JSON("GET", fmt.Sprintf("/api/v1/volunteer/teams?village_id=%d", u.qt.ID), nil, &u.teams); st != 200 || len(u.teams) != 6 {
		t.Fatalf("teams: %d %s", st, body)
	}
	return u
}

func (u *usable) now() time.Time { return time.UnixMicro(u.clock.Load()).UTC() }

func (u *usable) later(d time.Duration) { u.clock.Add(d.Microseconds()) }

// post publishes a post of 前疃村's livelihood team under the rule "serve" with one shift
// tomorrow 09:00–11:00, through the API, and returns it with its shift.
func (u *usable) post(capacity int) (volunteer.Post, int64) {
	u.t.Helper()
	tomorrow := u.town.Today(u.now()).AddDate(0, 0, 1).Format("2006-01-02")
	in := volunteer.PostInput{TeamID: u.teams[0].ID, Title: "为老人理发", Place: "党群服务站", RuleCode: "serve",
		Shifts: []volunteer.ShiftInput{{Date: tomorrow, Start: "09:00", End: "11:00", Capacity: capacity}}}
	var p volunteer.Post
	if st, body := u.API(demo.PhoneVillageAdmin).JSON("POST", "/api/v1/volunteer/posts", in, &p); st != 201 {
		u.t.Fatalf("publish: %d %s", st, body)
	}
	var detail volunteer.PostDetail
	if st, body := u.API(demo.PhoneVillageAdmin).JSON("GET", fmt.Sprintf("/api/v1/volunteer/posts/%d", p.ID), nil, &detail); st != 200 || len(detail.Shifts) != 1 {
		u.t.Fatalf("post: %d %s", st, body)
	}
	return p, detail.Shifts[0].ID
}

// adults are n adults of 前疃村 with their names, oldest record first.
func (u *usable) adults(n int) (ids []int64, names []string) {
	u.t.Helper()
	rows, err := u.Sys.DB.Read().QueryContext(u.t.Context(), `SELECT id, name FROM residents WHERE village_id = $1 AND status = 'active' AND birth_date < $2
		AND id NOT IN (SELECT resident_id FROM accounts WHERE resident_id IS NOT NULL) ORDER BY id`,
		u.qt.ID, u.town.Today(u.now()).AddDate(-18, 0, 0).Format("2006-01-02"))
	if err != nil {
		u.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() && len(ids) < n {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			u.t.Fatal(err)
		}
		ids, names = append(ids, id), append(names, name)
	}
	if len(ids) < n {
		u.t.Fatalf("only %d adults in 前疃村", len(ids))
	}
	return ids, names
}

// office is the village admin's browser acting for a resident at the office, as a resident
// without a phone is served there.
func (u *usable) office(residentID int64) *servertest.Client {
	u.t.Helper()
	b := u.Browser(demo.PhoneVillageAdmin)
	if st, body := b.PostForm(fmt.Sprintf("/admin/office/%d", residentID), nil); st != http.StatusSeeOther {
		u.t.Fatalf("office mode for %d: %d %.300s", residentID, st, body)
	}
	return b
}

// flashOf is the flash a page shows, "" when none.
func flashOf(body string) string {
	m := regexp.MustCompile(`<p class="flash" role="status">([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestWaitingLineTellsThePlaceTheRosterShows: on a full shift, three people join the waiting
// line, and each is told the place the roster shows them at: 1, 2 and 3 on the post's page, on
// their shifts and in the API, as on the leader's roster and shift page. When the first leaves
// the line the others move up, on every page alike. The post page used to number the line among
// the resident's own sign-ups only, so everyone waiting was told 候补第 1 位.
func TestWaitingLineTellsThePlaceTheRosterShows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		u := newUsable(t, d)
		p, shift := u.post(1)
		ids, names := u.adults(4)
		people := make([]*servertest.Client, len(ids))
		for i, id := range ids {
			people[i] = u.office(id)
			if st, body := people[i].PostForm("/volunteer/register", url.Values{"consent": {"1"}}); st != http.StatusSeeOther {
				t.Fatalf("register %s: %d %.300s", names[i], st, body)
			}
			st, body := people[i].PostForm(fmt.Sprintf("/volunteer/shifts/%d/signup", shift), nil)
			if st != http.StatusSeeOther {
				t.Fatalf("sign up %s: %d %.300s", names[i], st, body)
			}
		}
		postPage := fmt.Sprintf("/volunteer/posts/%d", p.ID)
		leader := u.Browser(demo.PhoneVillageAdmin)
		// told checks that each of names[from:] waits at place 1, 2, … on every page.
		told := func(when string, from int) {
			t.Helper()
			_, roster := leader.Get(fmt.Sprintf("/admin/volunteer/posts/%d", p.ID))
			_, shiftPage := leader.Get(fmt.Sprintf("/admin/volunteer/shifts/%d", shift))
			var api volunteer.Shift
			if st, body := u.API(demo.PhoneVillageAdmin).JSON("GET", fmt.Sprintf("/api/v1/volunteer/shifts/%d", shift), nil, &api); st != 200 {
				t.Fatalf("%s: the shift in the API: %d %s", when, st, body)
			}
			for i := from; i < len(ids); i++ {
				place := i - from + 1
				mine := fmt.Sprintf("候补第 %d 位", place)
				if st, body := people[i].Get(postPage); st != 200 || !strings.Contains(body, mine) || strings.Count(body, "候补第 ") != 1 {
					t.Errorf("%s: %s's post page (%d) does not say %q alone: %q", when, names[i], st, mine, regexp.MustCompile(`候补第 \d+ 位`).FindAllString(body, -1))
				}
				if st, body := people[i].Get("/volunteer/shifts"); st != 200 || !strings.Contains(body, mine) {
					t.Errorf("%s: %s's shifts (%d) do not say %q", when, names[i], st, mine)
				}
				if want := fmt.Sprintf("%s(候补%d)", names[i], place); !strings.Contains(roster, want) {
					t.Errorf("%s: the roster does not show %q", when, want)
				}
				card := regexp.MustCompile(`<strong>` + regexp.QuoteMeta(names[i]) + `</strong>[\s\S]*?<span class="tag">候补 (\d+)</span>`).FindStringSubmatch(shiftPage)
				if card == nil || card[1] != fmt.Sprint(place) {
					t.Errorf("%s: the shift page shows %s at %v, want 候补 %d", when, names[i], card, place)
				}
				var got int
				for _, su := range api.Signups {
					if su.ResidentID == ids[i] {
						got = su.Position
					}
				}
				if got != place {
					t.Errorf("%s: the API has %s at place %d, want %d", when, names[i], got, place)
				}
			}
		}
		told("three waiting", 1)
		// The first in line leaves it: the two behind move up, on every page alike.
		if st, body := people[1].PostForm(fmt.Sprintf("/volunteer/shifts/%d/cancel", shift), nil); st != http.StatusSeeOther {
			t.Fatalf("the first waiting leaves the line: %d %.300s", st, body)
		}
		told("after the first left the line", 2)
		// Another joins over the API (a resident with a phone) and is told the place the roster
		// gives them: third.
		resident := u.API(demo.PhoneResident)
		if st, body := resident.JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true}, nil); st != 200 {
			t.Fatalf("register over the API: %d %s", st, body)
		}
		var su volunteer.Signup
		if st, body := resident.JSON("POST", fmt.Sprintf("/api/v1/volunteer/shifts/%d/signups", shift), nil, &su); st != 201 || su.Status != volunteer.Waiting || su.Position != 3 {
			t.Errorf("sign up over the API: %d %s, want waiting at place 3", st, body)
		}
		if st, body := u.Browser(demo.PhoneResident).Get(postPage); st != 200 || !strings.Contains(body, "候补第 3 位") {
			t.Errorf("the resident's post page: %d %q", st, regexp.MustCompile(`候补第 \d+ 位`).FindAllString(body, -1))
		}
		_, roster := leader.Get(fmt.Sprintf("/admin/volunteer/posts/%d", p.ID))
		if !strings.Contains(roster, fmt.Sprintf("%s(候补3)", su.Name)) {
			t.Errorf("the roster does not show %s third in line", su.Name)
		}
	})
}
