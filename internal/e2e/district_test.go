package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/web"
)

// TestDistrict runs a district the way the README describes it: two app servers on one
// PostgreSQL database with one SIWEI_SECRET. A login made on one works on the other; concurrent
// awards, awards on public notice, redemptions and volunteer sign-ups go through both at once;
// both schedulers post claims whose notice ended, and each claim is posted exactly once; the
// balances move by exactly what was acknowledged; and the ledger verifies.
func TestDistrict(t *testing.T) {
	needE2E(t)
	dbURL := dbtest.PostgresURL(t)
	key := make([]byte, 32)
	rand.Read(key)
	env := []string{"SIWEI_SECRET=" + hex.EncodeToString(key), "SIWEI_NOTICE_PERIOD=2s", "SIWEI_SCHEDULER_EVERY=100ms"}
	started := time.Now()
	a := startServer(t, serverOpts{Demo: true, DB: dbURL, Env: env, Name: "server A"})
	b := startServer(t, serverOpts{DB: dbURL, Env: env, Name: "server B"})
	pg, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()

	// A bearer token from A works on B…
	r1 := login(t, a, demo.PhoneResident)
	m1 := whoami(t, r1)
	if m := whoami(t, r1.on(b)); m != m1 {
		t.Fatalf("the same token: %+v on A, %+v on B", m1, m)
	}
	// …a session cookie from B's login form works on A's pages…
	page := pageWithCookie(t, a, "/bank", formLogin(t, b, demo.PhoneResident))
	if !strings.Contains(page, m1.Name) || !strings.Contains(page, m1.Village) {
		t.Fatalf("A's /bank with B's cookie does not show %s of %s:\n%.2000s", m1.Name, m1.Village, page)
	}
	// …and logging out on B ends the session on A too.
	gone := login(t, b, demo.PhoneResident)
	gone.must(t, http.StatusNoContent, "POST", "/api/v1/auth/logout", nil, nil)
	gone.on(a).must(t, http.StatusUnauthorized, "GET", "/api/v1/me", nil, nil)

	// The demo's own claims were put on notice with the 2s period: let them be posted first, so
	// that the balances below move by this test's writes only.
	waitUntil(t, 30*time.Second, "the demo's claims are posted", func() bool {
		return count(t, pg, `SELECT COUNT(*) FROM bank_claims c WHERE c.status = 'notice'
			AND NOT EXISTS (SELECT 1 FROM bank_objections o WHERE o.claim_id = c.id AND o.status IN ('open', 'upheld'))`) == 0
	})

	staffA := login(t, a, demo.PhoneVillageAdmin)
	staffs := []*client{staffA, staffA.on(b)}
	r2 := login(t, b, demo.PhonePartyMember)
	m2 := whoami(t, r2)
	towel := goods(t, r1, "毛巾")
	rs := residentsOf(t, staffA, m1.VillageID)
	before := map[int64]int64{}
	for _, r := range rs {
		before[r.ID] = balance(t, staffs[1], r.ID)
	}
	var feed []resident
	for _, r := range rs {
		if r.ID == m1.ID || r.ID == m2.ID {
			feed = append(feed, r)
		}
	}
	volunteers, helpers := append(under(rs, "volunteer"), feed...), under(rs, "help")
	post, shifts := volunteerShifts(t, staffA, m1.VillageID, 400, r1, r2)

	l := newLoad()
	workers := []worker{
		l.redeemer([]*client{r1, r1.on(b)}, 0, m1.ID, towel.ID),
		l.redeemer([]*client{r2.on(a), r2}, 1, m2.ID, towel.ID),
		l.signer([]*client{r1, r1.on(b)}, 0, m1.ID, shifts),
		l.signer([]*client{r2.on(a), r2}, 1, m2.ID, shifts),
		l.awarder(staffs, 0, "help", helpers),
		l.awarder(staffs, 1, "help", helpers),
	}
	for w := range 6 {
		workers = append(workers, l.awarder(staffs, w, "volunteer", volunteers))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	l.drive(ctx, t, workers...)
	t.Logf("through two servers in 3s: %d awards, %d on notice, %d redemptions, %d sign-ups; %d refused (409)",
		l.count("award"), l.count("claim"), l.count("redeem"), l.count("signup"), l.refused.Load())
	if l.count("award") < 10 || l.count("claim") < 2 || l.count("redeem") < 1 || l.count("signup") < 2 {
		t.Fatal("too little load to prove anything")
	}
	if t.Failed() {
		return
	}

	// Each shift has one place: whichever server took a sign-up, one got it and the other waits.
	l.checkShifts(t, staffs[1], post, true)

	// Every claim put on notice is posted once its notice ends, by one server or the other.
	var claims []string
	for _, x := range l.acks {
		if x.Kind == "claim" {
			claims = append(claims, strconv.FormatInt(x.ID, 10))
		}
	}
	in := "(" + strings.Join(claims, ",") + ")"
	waitUntil(t, 60*time.Second, "every claim is posted", func() bool {
		return count(t, pg, `SELECT COUNT(*) FROM bank_claims WHERE status = 'posted' AND id IN `+in) == len(claims)
	})
	for _, x := range l.acks {
		if x.Kind != "claim" {
			continue
		}
		var key string
		var amount, resident int64
		err := pg.QueryRow(`SELECT t.idem_key, t.amount, t.resident_id FROM bank_claims c JOIN bank_transactions t ON t.id = c.transaction_id
			WHERE c.id = $1`, x.ID).Scan(&key, &amount, &resident)
		if err != nil || key != fmt.Sprintf("claim:%d", x.ID) || amount != x.Points || resident != x.Resident {
			t.Errorf("claim %d posted as %q, %d points to resident %d (%v); want %d points to %d", x.ID, key, amount, resident, err, x.Points, x.Resident)
		}
	}
	// Exactly once: the postings the two schedulers report add up to the claim transactions made
	// since the servers started, and neither logged an error.
	var reported [2]int
	for i, s := range []*server{a, b} {
		log := s.log.String()
		reported[i] = postedCount(log)
		if strings.Contains(log, "level=ERROR") {
			t.Errorf("%s logged an error:\n%s", s.opts.Name, tail(log, 3000))
		}
	}
	made := count(t, pg, `SELECT COUNT(*) FROM bank_transactions WHERE kind = 'claim' AND created_at >= $1`, started)
	t.Logf("claims posted: %d by server A, %d by server B; %d claim transactions", reported[0], reported[1], made)
	if reported[0]+reported[1] != made || made < len(claims) {
		t.Errorf("schedulers report %d + %d postings, the ledger has %d claim transactions since the start, this test made %d claims",
			reported[0], reported[1], made, len(claims))
	}

	// Balances moved by exactly what was acknowledged.
	want := map[int64]int64{}
	for _, x := range l.acks {
		want[x.Resident] += x.Points
	}
	for _, r := range rs {
		if got := balance(t, staffs[0], r.ID) - before[r.ID]; got != want[r.ID] {
			t.Errorf("resident %d: balance moved by %d, the acknowledged writes add up to %d", r.ID, got, want[r.ID])
		}
	}

	a.stop()
	b.stop()
	verify(t, a.opts.Data, dbURL, env...)
}

// count runs a COUNT query.
func count(t testing.TB, pg *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := pg.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitUntil polls cond every 100ms and fails the test if it is still false after d.
func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not within %v: %s", d, what)
		}
	}
}

var postedLine = regexp.MustCompile(`msg="bank: claims posted" count=(\d+)`)

// postedCount adds up the claims a server's scheduler says it posted.
func postedCount(log string) int {
	n := 0
	for _, m := range postedLine.FindAllStringSubmatch(log, -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}

// formLogin logs in through the login form and returns the session cookie.
func formLogin(t testing.TB, s *server, phone string) *http.Cookie {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.PostForm(s.URL+"/login", url.Values{"phone": {phone}, "password": {demo.DemoPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookie && c.Value != "" {
			return c
		}
	}
	t.Fatalf("login form on %s: status %d, no session cookie", s.opts.Name, resp.StatusCode)
	return nil
}

// pageWithCookie fetches a page with a session cookie and returns its HTML; it must answer 200.
func pageWithCookie(t testing.TB, s *server, path string, c *http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.AddCookie(c)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s on %s: status %d: %.300s", path, s.opts.Name, resp.StatusCode, b)
	}
	return string(b)
}
