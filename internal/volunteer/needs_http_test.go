package volunteer_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
	"siwei/internal/volunteer"
)

// TestNeedPageAndAPIAgreeOnWhoSeesIt: a member of the team a need is assigned to sees it, with
// the take button on the page and "take" among the API's actions; before the assignment, and
// once another has taken it, page and API both answer 404. The page used to show the assigned
// need through a lookup of its own while the API answered 404 to the same person.
func TestNeedPageAndAPIAgreeOnWhoSeesIt(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		town, _ := env.Sys.People.Town(t.Context(), env.Info.TownID)
		qt, _ := env.Sys.People.VillageByName(t.Context(), town.ID, "前疃村")
		leader, member, filer, other := env.API(demo.PhoneVillageAdmin), env.API(demo.PhoneResident), env.API(demo.PhonePartyMember), env.API(demo.PhoneVillageAdmin2)
		memberPage, otherPage, leaderPage := env.Browser(demo.PhoneResident), env.Browser(demo.PhoneVillageAdmin2), env.Browser(demo.PhoneVillageAdmin)

		var teams []volunteer.Team
		if st, body := leader.JSON("GET", fmt.Sprintf("/api/v1/volunteer/teams?village_id=%d", qt.ID), nil, &teams); st != 200 || len(teams) != 6 {
			t.Fatalf("teams: %d %s", st, body)
		}
		if st, body := member.JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true, Teams: []int64{teams[0].ID}}, nil); st != 200 {
			t.Fatalf("register: %d %s", st, body)
		}
		var n volunteer.Need
		if st, body := filer.JSON("POST", "/api/v1/volunteer/needs", volunteer.NeedInput{Category: "repair", Description: "院墙塌了一角", Urgency: "normal"}, &n); st != 201 {
			t.Fatalf("file: %d %s", st, body)
		}
		api, page := fmt.Sprintf("/api/v1/volunteer/needs/%d", n.ID), fmt.Sprintf("/volunteer/needs/%d", n.ID)
		// seen checks what page and API answer a person: the status of both, and the API's actions.
		seen := func(when string, api1 *servertest.Client, page1 *servertest.Client, wantStatus int, wantActions ...string) {
			t.Helper()
			var got volunteer.Need
			st, body := api1.JSON("GET", api, nil, &got)
			if st != wantStatus || (st == 200 && !slices.Equal(got.Actions, append([]string{}, wantActions...))) {
				t.Errorf("%s: API %d %v (%.200s), want %d %v", when, st, got.Actions, body, wantStatus, wantActions)
			}
			pst, pbody := page1.Get(page)
			if pst != wantStatus {
				t.Errorf("%s: page %d, want %d", when, pst, wantStatus)
			}
			takes := strings.Contains(pbody, `value="take"`)
			if pst == 200 && takes != slices.Contains(wantActions, "take") {
				t.Errorf("%s: page shows take: %v", when, takes)
			}
		}
		seen("open, before it has a team", member, memberPage, 404)
		if st, body := leader.JSON("POST", api+"/actions", volunteer.NeedAction{Action: "assign", TeamID: teams[0].ID}, nil); st != 200 {
			t.Fatalf("assign: %d %s", st, body)
		}
		seen("assigned to the member's team", member, memberPage, 200, "take")
		seen("another village's admin", other, otherPage, 404)
		var got volunteer.Need
		if st, body := leader.JSON("GET", api, nil, &got); st != 200 || !slices.Equal(got.Actions, []string{"assign", "take", "send_back", "refuse"}) {
			t.Errorf("the leader's actions: %d %v %.200s", st, got.Actions, body)
		}
		if st, body := filer.JSON("GET", api, nil, &got); st != 200 || len(got.Actions) != 0 {
			t.Errorf("the filer's actions: %d %v %.200s", st, got.Actions, body)
		}
		// buttons checks which of the need's forms a page draws.
		buttons := func(when string, c *servertest.Client, path string, want ...string) {
			t.Helper()
			st, body := c.Get(path)
			var got []string
			for _, b := range []string{`value="assign"`, `name="volunteer_id"`, `value="take"`, `value="done"`, `name="rating"`, `value="send_back"`, `value="refuse"`} {
				if strings.Contains(body, b) {
					got = append(got, b)
				}
			}
			if st != 200 || !slices.Equal(got, want) {
				t.Errorf("%s: %d %q, want %q", when, st, got, want)
			}
		}
		buttons("the leader's console, assigned", leaderPage, "/admin"+page, `value="assign"`, `name="volunteer_id"`, `value="take"`, `value="send_back"`, `value="refuse"`)
		// The member takes it on the page; from then on it is theirs, and the API says so.
		if st, body := memberPage.PostForm(page, url.Values{"action": {"take"}}); st != 303 {
			t.Fatalf("take on the page: %d %.300s", st, body)
		}
		seen("taken by the member", member, memberPage, 200, "done", "send_back")
		buttons("the member's page, taken", memberPage, page, `value="done"`, `value="send_back"`)
		buttons("the leader's console, taken", leaderPage, "/admin"+page, `value="done"`, `value="send_back"`, `value="refuse"`)
		if st, body := member.JSON("POST", api+"/actions", volunteer.NeedAction{Action: "take"}, nil); st != 409 {
			t.Errorf("take again: %d %s", st, body)
		}
	})
}
