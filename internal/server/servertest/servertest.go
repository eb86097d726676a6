// Package servertest runs the whole server over HTTP on a small demo town, for tests that act the
// way a user, a village's staff or an attacker would.
package servertest

import (
	"bytes"
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

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server"
)

// Env is a running server on a demo town of 80 residents.
type Env struct {
	T    testing.TB
	Sys  *server.System
	URL  string
	Info demo.Info
}

// New starts a server on d with the demo town loaded.
func New(t testing.TB, d *db.DB) *Env {
	t.Helper()
	return NewWith(t, d, demo.Options{Seed: 1, Residents: 80})
}

// NewWith starts a server on d with the demo town built with o; o.SecondTown adds 西集镇 and a
// district admin.
func NewWith(t testing.TB, d *db.DB, o demo.Options) *Env {
	t.Helper()
	sys, err := server.New(d, secret)
	if err != nil {
		t.Fatal(err)
	}
	info, err := demo.Ensure(context.Background(), d, sys.People, sys.Auth, o)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := sys.Handler(log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Env{T: t, Sys: sys, URL: srv.URL, Info: info}
}

// secret is the servers' key in tests: one for all, so that a world made once (Each) opens with it.
var secret = bytes.Repeat([]byte{7}, 32)

// Each runs fn as the subtests "sqlite" and "postgres", each on a server of its own over a fresh
// copy of the demo town of 80 residents (New's), made once per test binary and engine.
func Each(t *testing.T, fn func(t *testing.T, env *Env)) {
	t.Helper()
	EachWith(t, demo.Options{Seed: 1, Residents: 80}, false, fn)
}

// EachWith is Each on the demo town built with o and, when steps is true, every pillar's demo
// step (server.DemoSteps, seed 1) after it.
func EachWith(t *testing.T, o demo.Options, steps bool, fn func(t *testing.T, env *Env)) {
	t.Helper()
	w := World(o, steps)
	for _, engine := range []db.Engine{db.SQLite, db.Postgres} {
		t.Run(string(engine), func(t *testing.T) {
			fn(t, NewWith(t, dbtest.From(t, engine, w), o))
		})
	}
}

// World is the demo town built with o (and every pillar's demo step when steps is true), as a
// template dbtest copies for each test.
func World(o demo.Options, steps bool) dbtest.World {
	return dbtest.World{Name: fmt.Sprintf("servertest %+v steps=%v", o, steps), Build: func(ctx context.Context, d *db.DB) error {
		sys, err := server.New(d, secret)
		if err != nil {
			return err
		}
		info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, o)
		if err != nil {
			return err
		}
		for _, step := range server.DemoSteps {
			if !steps {
				break
			}
			if err := step(ctx, d, sys.People, info, 1); err != nil {
				return err
			}
		}
		// As siwei demo does: PostgreSQL plans the copies' queries with the town's statistics,
		// not with those of empty tables (which chose nested loops over 20,000 rows).
		return d.Analyze(ctx)
	}}
}

// Client is a browser (cookie jar, no redirects followed) or an API client (bearer token).
type Client struct {
	env   *Env
	http  *http.Client
	Token string
}

// Anonymous is a client that has not logged in.
func (e *Env) Anonymous() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{env: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Browser logs in through the login form with the demo password.
func (e *Env) Browser(phone string) *Client {
	e.T.Helper()
	c := e.Anonymous()
	st, body := c.PostForm("/login", url.Values{"phone": {phone}, "password": {demo.DemoPassword}})
	if st != http.StatusSeeOther {
		e.T.Fatalf("login %s: status %d: %.300s", phone, st, body)
	}
	return c
}

// API logs in through the API and keeps the bearer token.
func (e *Env) API(phone string) *Client {
	e.T.Helper()
	c := e.Anonymous()
	var out struct{ Token string }
	st, body := c.JSON("POST", "/api/v1/auth/login", map[string]string{"phone": phone, "password": demo.DemoPassword}, &out)
	if st != http.StatusOK || out.Token == "" {
		e.T.Fatalf("api login %s: status %d: %s", phone, st, body)
	}
	c.Token = out.Token
	return c
}

// Do sends a request and returns the status and body.
func (c *Client) Do(req *http.Request) (int, string) {
	c.env.T.Helper()
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.env.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Get fetches a path.
func (c *Client) Get(path string) (int, string) {
	c.env.T.Helper()
	req, _ := http.NewRequest("GET", c.env.URL+path, nil)
	return c.Do(req)
}

// PostForm posts a form.
func (c *Client) PostForm(path string, form url.Values) (int, string) {
	c.env.T.Helper()
	req, _ := http.NewRequest("POST", c.env.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// Submit posts a form as PostForm does and returns the status and where it redirects the browser
// (the Location header), to follow it the way a browser would: the page a form lands on.
func (c *Client) Submit(path string, form url.Values) (int, string) {
	c.env.T.Helper()
	req, _ := http.NewRequest("POST", c.env.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.env.T.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Location")
}

// JSON sends a JSON body (nil for none) and decodes a 2xx response into out when out is not nil.
func (c *Client) JSON(method, path string, body, out any) (int, string) {
	c.env.T.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.env.T.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.env.URL+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	st, s := c.Do(req)
	if out != nil && st < 300 {
		if err := json.Unmarshal([]byte(s), out); err != nil {
			c.env.T.Fatalf("%s %s: decode %q: %v", method, path, s, err)
		}
	}
	return st, s
}
