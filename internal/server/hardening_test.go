package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
	"siwei/internal/web"
)

// Tests of issue 11's findings 7, 9, 13 and 15: what an outside probe saw of the web layer.

// rawClient is a browser that keeps cookies and shows every answer, redirects included.
func rawClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// send makes a request and returns the answer with its body read.
func send(t *testing.T, c *http.Client, method, u string, body io.Reader, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// loginForm posts the login form with the demo password and a next target.
func loginForm(t *testing.T, env *servertest.Env, c *http.Client, phone, next string, header map[string]string) *http.Response {
	t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range header {
		h[k] = v
	}
	form := url.Values{"phone": {phone}, "password": {demo.DemoPassword}}
	if next != "" {
		form.Set("next", next)
	}
	resp, body := send(t, c, "POST", env.URL+"/login", strings.NewReader(form.Encode()), h)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %d %.300s", phone, resp.StatusCode, body)
	}
	return resp
}

// Finding 7: after logging in, and after choosing a language, the browser goes back to a page of
// this site, never to the host a crafted next or Referer names.
func TestRedirectsStayOnTheSite(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		for _, c := range []struct{ next, want string }{
			{`/\evil.com`, "/"},   // /login?next=/%5Cevil.com
			{"/\t/evil.com", "/"}, // /login?next=/%09/evil.com
			{"//evil.com", "/"},
			{"/bank/shop?page=2", "/bank/shop?page=2"},
		} {
			resp := loginForm(t, env, rawClient(), demo.PhoneResident, c.next, nil)
			if loc := resp.Header.Get("Location"); loc != c.want {
				t.Errorf("login with next=%q: Location %q, want %q", c.next, loc, c.want)
			}
		}
		for _, c := range []struct{ referer, want string }{
			{`/\evil.com`, "/"},
			{"/\t/evil.com", "/"},
			{env.URL + `/\evil.com`, "/%5Cevil.com"}, // escaped, the backslash is a page name of this site
			{env.URL + "//evil.com/x", "/"},
			{env.URL + "/bank/shop?page=2", "/bank/shop?page=2"},
			{"", "/"},
		} {
			resp, body := send(t, rawClient(), "POST", env.URL+"/lang", strings.NewReader("lang=en"),
				map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Referer": c.referer})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("lang: %d %.200s", resp.StatusCode, body)
			}
			if loc := resp.Header.Get("Location"); loc != c.want {
				t.Errorf("lang with Referer %q: Location %q, want %q", c.referer, loc, c.want)
			}
		}
	})
}

// Finding 9: over HTTPS (here a trusted proxy's X-Forwarded-Proto, as with SIWEI_TRUST_PROXY)
// the session cookie is Secure and HSTS is sent; over plain HTTP, or when the proxy is not
// trusted, neither.
func TestHTTPSMakesCookiesSecureAndSendsHSTS(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		old := web.TrustProxy
		t.Cleanup(func() { web.TrustProxy = old })
		const hsts = "max-age=31536000; includeSubDomains"
		for _, c := range []struct {
			name   string
			trust  bool
			header map[string]string
			https  bool
		}{
			{"trusted proxy, https", true, map[string]string{"X-Forwarded-Proto": "https"}, true},
			{"trusted proxy, http", true, map[string]string{"X-Forwarded-Proto": "http"}, false},
			{"trusted proxy, no header", true, nil, false},
			{"untrusted proxy says https", false, map[string]string{"X-Forwarded-Proto": "https"}, false},
		} {
			web.TrustProxy = c.trust
			resp := loginForm(t, env, rawClient(), demo.PhoneResident, "", c.header)
			var session *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == web.SessionCookie {
					session = ck
				}
			}
			if session == nil {
				t.Fatalf("%s: no session cookie", c.name)
			}
			if session.Secure != c.https {
				t.Errorf("%s: session cookie Secure=%v, want %v", c.name, session.Secure, c.https)
			}
			want := ""
			if c.https {
				want = hsts
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got != want {
				t.Errorf("%s: login answered Strict-Transport-Security %q, want %q", c.name, got, want)
			}
			page, _ := send(t, rawClient(), "GET", env.URL+"/login", nil, c.header)
			if got := page.Header.Get("Strict-Transport-Security"); got != want {
				t.Errorf("%s: login page answered Strict-Transport-Security %q, want %q", c.name, got, want)
			}
		}
	})
}

// Finding 13: an account whose password is one-time gets nothing from the API but the password
// change and logout, until it has changed the password.
func TestOneTimePasswordBlocksTheAPI(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		if _, err := d.Write().ExecContext(context.Background(), `UPDATE accounts SET must_change_password = TRUE WHERE phone = $1`, demo.PhoneResident); err != nil {
			t.Fatal(err)
		}
		api := env.API(demo.PhoneResident)
		for _, p := range []struct{ method, path string }{
			{"GET", "/api/v1/me"},
			{"GET", "/api/v1/notifications"},
			{"GET", "/api/v1/bank/claims"},
			{"GET", "/api/v1/volunteer/me"},
			{"POST", "/api/v1/bank/claims"},
		} {
			st, body := api.JSON(p.method, p.path, nil, nil)
			var pr web.Problem
			json.Unmarshal([]byte(body), &pr)
			if st != http.StatusForbidden || pr.Code != "password_change_required" || pr.Detail == "" || pr.Detail == "error.password_change_required" {
				t.Errorf("%s %s with a one-time password: %d %s, want 403 password_change_required", p.method, p.path, st, body)
			}
		}
		// Pages send it to the password form, as before; logging out is allowed.
		browser := env.Browser(demo.PhoneResident)
		if st, _ := browser.Get("/"); st != http.StatusSeeOther {
			t.Errorf("home page with a one-time password: %d, want 303 to /password", st)
		}
		if st, body := env.API(demo.PhoneResident).JSON("POST", "/api/v1/auth/logout", nil, nil); st != http.StatusNoContent {
			t.Errorf("API logout with a one-time password: %d %s", st, body)
		}
		if st, body := env.Browser(demo.PhoneResident).PostForm("/logout", nil); st != http.StatusSeeOther {
			t.Errorf("logout with a one-time password: %d %s", st, body)
		}

		st, body := api.JSON("POST", "/api/v1/auth/password", map[string]string{"old_password": "wrong-one", "new_password": "Qiantuan-Lucheng-2026"}, nil)
		if st != http.StatusUnprocessableEntity || !strings.Contains(body, "old_password") {
			t.Errorf("change with a wrong old password: %d %s", st, body)
		}
		if st, body := api.JSON("GET", "/api/v1/me", nil, nil); st != http.StatusForbidden {
			t.Errorf("me after a refused change: %d %s", st, body)
		}
		st, body = api.JSON("POST", "/api/v1/auth/password", map[string]string{"old_password": demo.DemoPassword, "new_password": "Qiantuan-Lucheng-2026"}, nil)
		if st != http.StatusNoContent {
			t.Fatalf("change the one-time password: %d %s", st, body)
		}
		if st, body := api.JSON("GET", "/api/v1/me", nil, nil); st != http.StatusOK {
			t.Errorf("me after the change: %d %s", st, body)
		}
	})
}

// Finding 15: metrics are not on the public listener, the static folder is not listed, and
// nothing personal is kept by a cache; static assets still are cached.
func TestOperatorSurfacesAndCaching(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		anon := rawClient()
		for _, p := range []string{"/metrics", "/static/"} {
			if resp, body := send(t, anon, "GET", env.URL+p, nil, nil); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404: %.200s", p, resp.StatusCode, body)
			}
		}
		resp, _ := send(t, anon, "GET", env.URL+"/static/app.css", nil, nil)
		if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != 200 || cc != "public, max-age=86400" {
			t.Errorf("static asset: %d, Cache-Control %q", resp.StatusCode, cc)
		}

		browser := rawClient()
		loginForm(t, env, browser, demo.PhoneVillageAdmin, "", nil)
		for _, p := range []string{"/", "/admin", "/admin/residents", "/admin/accounts"} {
			resp, _ := send(t, browser, "GET", env.URL+p, nil, nil)
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("GET %s (%d): Cache-Control %q, want no-store", p, resp.StatusCode, cc)
			}
		}
		var login web.LoginResponse
		resp, body := send(t, rawClient(), "POST", env.URL+"/api/v1/auth/login",
			strings.NewReader(fmt.Sprintf(`{"phone":%q,"password":%q}`, demo.PhoneResident, demo.DemoPassword)), map[string]string{"Content-Type": "application/json"})
		if err := json.Unmarshal([]byte(body), &login); err != nil || login.Token == "" {
			t.Fatalf("api login: %d %s", resp.StatusCode, body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("API login (a bearer token): Cache-Control %q, want no-store", cc)
		}
		resp, _ = send(t, rawClient(), "GET", env.URL+"/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + login.Token})
		if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != 200 || cc != "no-store" {
			t.Errorf("GET /api/v1/me: %d, Cache-Control %q, want no-store", resp.StatusCode, cc)
		}

		// The metrics are served by their own handler, for --metrics-addr.
		app, err := env.Sys.App(slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		app.MetricsHandler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		if w.Code != 200 || !strings.Contains(w.Body.String(), "# TYPE siwei_http_requests_total counter") {
			t.Errorf("metrics handler: %d %.300s", w.Code, w.Body.String())
		}
	})
}
