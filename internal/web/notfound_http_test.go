package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// TestUnknownAddresses: a path no route serves answers 404 with the Chinese error page in the
// layout and a way home that fits who asks (/login logged out, / for a resident, /admin for
// staff); under /api/ it answers problem+json. A known path asked with another method keeps 405.
func TestUnknownAddresses(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		for _, c := range []struct {
			name, who, path string
			home, notHome   string
		}{
			{"LoggedOut", "", "/no/such/page", `<p><a href="/login">`, `<p><a href="/">`},
			{"Resident", demo.PhoneResident, "/bank/nothing-here", `<p><a href="/">`, `<p><a href="/admin">`},
			{"Staff", demo.PhoneVillageAdmin, "/admin/nothing-here", `<p><a href="/admin">`, `<p><a href="/">`},
		} {
			t.Run(c.name, func(t *testing.T) {
				cl := env.Anonymous()
				if c.who != "" {
					cl = env.Browser(c.who)
				}
				st, body := cl.Get(c.path)
				if st != http.StatusNotFound {
					t.Fatalf("status %d, want 404: %.300s", st, body)
				}
				for _, want := range []string{"找不到这个页面", "<html", c.home} {
					if !strings.Contains(body, want) {
						t.Errorf("the page lacks %q: %.600s", want, body)
					}
				}
				if strings.Contains(body, "404 page not found") {
					t.Error("the mux's English answer is shown")
				}
				if strings.Contains(body, c.notHome) {
					t.Errorf("the way home is %s, not for this person", c.notHome)
				}
			})
		}
		t.Run("API", func(t *testing.T) {
			st, body := env.API(demo.PhoneResident).Get("/api/v1/no-such-thing")
			if st != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", st, body)
			}
			var p struct {
				Status int
				Code   string
			}
			if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != 404 || p.Code != "not_found" {
				t.Errorf("not problem+json: %v %s", err, body)
			}
		})
		t.Run("OtherMethod", func(t *testing.T) {
			req, _ := http.NewRequest("DELETE", env.URL+"/login", nil)
			if st, body := env.Anonymous().Do(req); st != http.StatusMethodNotAllowed {
				t.Errorf("status %d, want 405: %s", st, body)
			}
		})
	})
}
