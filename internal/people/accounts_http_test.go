package people_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// createForm is the new-account form of the accounts page.
var createForm = regexp.MustCompile(`(?s)<form method="post" action="/admin/accounts">.*?</form>`)

var option = regexp.MustCompile(`<option value="([a-z_]+)"( selected)?>`)

// roleChoices are the roles a form offers and the one chosen first.
func roleChoices(form string) (roles []string, chosen string) {
	for _, m := range option.FindAllStringSubmatch(form, -1) {
		roles = append(roles, m[1])
		if m[2] != "" {
			chosen = m[1]
		}
	}
	return roles, chosen
}

// TestAccountFormOffersWhatOneMayGrant: the accounts page offers only the roles the person may
// give (a village admin a resident's login in its village, a town admin every role of its town
// and none of the district's), chooses a village admin first where it may, and a town admin's
// form as first shown creates the account once a village is picked.
func TestAccountFormOffersWhatOneMayGrant(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		for _, c := range []struct {
			name, phone string
			roles       []string
			chosen      string
		}{
			{"VillageAdmin", demo.PhoneVillageAdmin, []string{"resident"}, "resident"},
			{"TownAdmin", demo.PhoneTownAdmin, []string{"town_admin", "school_admin", "village_admin", "reviewer", "shopkeeper", "team_leader", "expert",
				"alliance_admin", "unit_liaison", "dispute_staff", "dept_responder", "care_team", "judge", "resident"}, "village_admin"},
		} {
			t.Run(c.name, func(t *testing.T) {
				st, page := env.Browser(c.phone).Get("/admin/accounts")
				if st != http.StatusOK {
					t.Fatalf("status %d: %.300s", st, page)
				}
				form := createForm.FindString(page)
				if form == "" {
					t.Fatalf("no create form: %.2000s", page)
				}
				roles, chosen := roleChoices(form)
				if !slices.Equal(roles, c.roles) || chosen != c.chosen {
					t.Errorf("the form offers %v with %q chosen, want %v with %q", roles, chosen, c.roles, c.chosen)
				}
				for _, never := range []string{"区级管理员", `value="district_admin"`} {
					if strings.Contains(page, never) {
						t.Errorf("the page offers %s", never)
					}
				}
				if c.phone == demo.PhoneVillageAdmin && (strings.Contains(form, "镇级管理员") || strings.Contains(form, "东堡村")) {
					t.Error("a village admin is offered a town role or another village")
				}
			})
		}
		t.Run("TownAdminCreatesWithTheDefault", func(t *testing.T) {
			admin := env.Browser(demo.PhoneTownAdmin)
			_, page := admin.Get("/admin/accounts")
			_, chosen := roleChoices(createForm.FindString(page))
			village := idOfName(t, d, "前疃村")
			st, body := admin.PostForm("/admin/accounts", url.Values{"name": {"新村官"}, "phone": {"13712340001"}, "role": {chosen},
				"village_id": {strconv.FormatInt(village, 10)}})
			if st != http.StatusOK || !strings.Contains(body, "13712340001") {
				t.Fatalf("status %d: %.500s", st, body)
			}
			var role string
			var at int64
			if err := d.Read().QueryRow(`SELECT r.role, r.village_id FROM account_roles r JOIN accounts a ON a.id = r.account_id WHERE a.phone = '13712340001'`).Scan(&role, &at); err != nil {
				t.Fatal(err)
			}
			if role != "village_admin" || at != village {
				t.Errorf("granted %s in village %d, want village_admin in %d", role, at, village)
			}
		})
	})
}

func idOfName(t *testing.T, d *db.DB, village string) int64 {
	t.Helper()
	var id int64
	if err := d.Read().QueryRow(`SELECT id FROM villages WHERE name = $1`, village).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
