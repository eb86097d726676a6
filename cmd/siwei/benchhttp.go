package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server"
)

// httpBenchOptions is what `siwei bench http` is told.
type httpBenchOptions struct {
	URL       string        // a running server; empty: start one on a fresh demo town
	PG        string        // with no URL: a PostgreSQL server to create the demo database on
	Clients   int           // concurrent clients
	Duration  time.Duration // of each phase
	Phases    []string      // award, statement, ranking, page, mixed
	Residents int           // demo town size when the bench starts its own server
	Phone     string        // the staff login that awards and reads
	Password  string
	Rule      string // an award rule without public notice or a cap that would refuse
}

// httpKinds are the kinds of request the bench makes, in the order they are printed.
var httpKinds = []string{"award", "statement", "ranking", "page"}

// kindStats is what one kind of request did in one phase.
type kindStats struct {
	Requests int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
	FirstErr string
}

// PerSecond is the throughput of the phase.
func (k kindStats) PerSecond() float64 {
	if k.Elapsed <= 0 {
		return 0
	}
	return float64(k.Requests) / k.Elapsed.Seconds()
}

// httpBenchResult is every phase's figures by kind: "award" for the awards-only phase,
// "mixed/award" for the awards of the mixed phase.
type httpBenchResult map[string]kindStats

// benchHTTPCmd is `siwei bench http`: a bounded load generator over HTTP on loopback.
func benchHTTPCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench http", flag.ExitOnError)
	o := httpBenchOptions{}
	fs.StringVar(&o.URL, "url", "", "a running siwei server (loopback only); empty: start one in-process on a fresh demo town")
	fs.StringVar(&o.PG, "pg", env("SIWEI_BENCH_POSTGRES", ""), "without --url: PostgreSQL server URL on which a bench database is created and dropped; empty: SQLite in a temporary folder")
	fs.IntVar(&o.Clients, "clients", 16, "concurrent clients")
	seconds := fs.Float64("seconds", 10, "how long each phase lasts")
	phases := fs.String("phases", "award,statement,ranking,page,mixed", "phases to run, comma-separated: award, statement, ranking, page, mixed (all four kinds at once)")
	fs.IntVar(&o.Residents, "residents", 2000, "without --url: residents of the demo town")
	fs.StringVar(&o.Phone, "phone", demo.PhoneTownAdmin, "staff login for awards and reads")
	fs.StringVar(&o.Password, "password", env("SIWEI_BENCH_PASSWORD", demo.DemoPassword), "its password")
	fs.StringVar(&o.Rule, "rule", "volunteer", "rule code to award under (no public notice, no cap)")
	cpuprofile := fs.String("cpuprofile", "", "without --url: write a CPU profile of the phases (server and clients) to this file")
	fs.Parse(args)
	o.Duration = time.Duration(*seconds * float64(time.Second))
	for _, p := range strings.Split(*phases, ",") {
		o.Phases = append(o.Phases, strings.TrimSpace(p))
	}
	var prof *os.File
	if *cpuprofile != "" {
		if o.URL != "" {
			return errors.New("--cpuprofile profiles the in-process server: not with --url")
		}
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		prof = f
	}
	_, err := runHTTPBench(ctx, o, os.Stdout, prof)
	return err
}

// runHTTPBench runs the phases and prints their table to out. With prof set, the phases (not the
// set-up) are CPU-profiled into it.
func runHTTPBench(ctx context.Context, o httpBenchOptions, out io.Writer, prof io.Writer) (httpBenchResult, error) {
	if o.Clients < 1 || o.Clients > 1024 {
		return nil, fmt.Errorf("--clients must be between 1 and 1024, not %d", o.Clients)
	}
	if o.Duration <= 0 || o.Duration > 10*time.Minute {
		return nil, errors.New("--seconds must be more than 0 and at most 600")
	}
	for _, p := range o.Phases {
		if p != "mixed" && !slices.Contains(httpKinds, p) {
			return nil, fmt.Errorf("--phases: unknown phase %q", p)
		}
	}
	base := o.URL
	var verify func() (string, error)
	if base == "" {
		srv, err := startBenchServer(ctx, o, out)
		if err != nil {
			return nil, err
		}
		defer srv.close()
		base, verify = srv.url, srv.verify
	} else if err := loopbackOnly(base); err != nil {
		return nil, err
	}
	base = strings.TrimSuffix(base, "/")

	cl, err := newBenchClient(ctx, base, o)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "%s, %d clients, %s a phase, %d residents to award to\n\n", base, o.Clients, o.Duration, len(cl.residents))
	if prof != nil {
		if err := pprof.StartCPUProfile(prof); err != nil {
			return nil, err
		}
	}
	res := httpBenchResult{}
	for _, p := range o.Phases {
		kinds := []string{p}
		if p == "mixed" {
			kinds = httpKinds
		}
		for k, st := range cl.phase(ctx, kinds, o.Clients, o.Duration) {
			name := k
			if p == "mixed" {
				name = "mixed/" + k
			}
			res[name] = st
		}
		if ctx.Err() != nil {
			break
		}
	}
	if prof != nil {
		pprof.StopCPUProfile()
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\trequests\terrors\tper second\tp50 ms\tp99 ms\t")
	for _, p := range o.Phases {
		kinds := []string{p}
		if p == "mixed" {
			kinds = httpKinds
		}
		for _, k := range kinds {
			name := k
			if p == "mixed" {
				name = "mixed/" + k
			}
			st, ok := res[name]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t\n", name, st.Requests, st.Errors, st.PerSecond(), ms(st.P50), ms(st.P99))
		}
	}
	tw.Flush()
	for _, name := range slices.Sorted(maps.Keys(res)) {
		if e := res[name].FirstErr; e != "" {
			fmt.Fprintf(out, "first error of %s: %s\n", name, e)
		}
	}
	if verify != nil {
		line, err := verify()
		if err != nil {
			return res, err
		}
		fmt.Fprintln(out, "\n"+line)
	}
	return res, ctx.Err()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// loopbackOnly refuses a --url that is not on this machine: the bench is a load generator and is
// not meant to be pointed at somebody else's server.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--url %q is not a URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--url %q: the bench runs against loopback addresses only", raw)
}

// benchServer is the bench's own server on a fresh demo town.
type benchServer struct {
	url    string
	sys    *server.System
	srv    *http.Server
	dir    string
	pg     string // the server, to drop the database
	pgDB   string
	verify func() (string, error)
}

func startBenchServer(ctx context.Context, o httpBenchOptions, out io.Writer) (*benchServer, error) {
	dir, err := os.MkdirTemp("", "siwei-bench-http-")
	if err != nil {
		return nil, err
	}
	b := &benchServer{dir: dir}
	dbURL := filepath.Join(dir, "bench.db")
	if o.PG != "" {
		if dbURL, err = createBenchDB(ctx, o.PG); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		b.pg, b.pgDB = o.PG, dbURL
	}
	fail := func(err error) (*benchServer, error) {
		b.close()
		return nil, err
	}
	start := time.Now()
	d, err := db.Open(ctx, dbURL, dir)
	if err != nil {
		return fail(err)
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return fail(err)
	}
	secret := make([]byte, 32)
	crand.Read(secret)
	if b.sys, err = server.New(d, secret); err != nil {
		d.Close()
		return fail(err)
	}
	info, err := demo.Ensure(ctx, d, b.sys.People, b.sys.Auth, demo.Options{Seed: 1, Residents: o.Residents})
	if err != nil {
		return fail(err)
	}
	if err := demo.Bank(ctx, d, b.sys.People, info, 1); err != nil {
		return fail(err)
	}
	if err := d.Analyze(ctx); err != nil {
		return fail(err)
	}
	app, err := b.sys.App(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	b.srv = &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go b.srv.Serve(ln)
	b.url = "http://" + ln.Addr().String()
	b.verify = func() (string, error) {
		rep, err := b.sys.Bank.Verify(context.Background())
		if err != nil {
			return "", err
		}
		if !rep.OK() {
			return "", fmt.Errorf("bench: siwei verify fails after the run: %+v", rep)
		}
		return fmt.Sprintf("verify %s: %d transactions, %d entries, ok", d.Engine, rep.Transactions, rep.Entries), nil
	}
	fmt.Fprintf(out, "demo town of %d residents on %s, ready in %s\n", info.Residents, d.Engine, time.Since(start).Round(time.Millisecond))
	return b, nil
}

func (b *benchServer) close() {
	if b.srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		b.srv.Shutdown(sctx)
		cancel()
	}
	if b.sys != nil {
		b.sys.Close()
	}
	if b.pgDB != "" {
		dropBenchDB(b.pg, b.pgDB)
	}
	os.RemoveAll(b.dir)
}

// benchClient holds the logins and the residents the requests are about.
type benchClient struct {
	base      string
	http      *http.Client
	token     string // bearer token for the API
	cookie    string // session cookie for the pages
	residents []int64
	rule      string
	period    string
	run       string // names this run's idempotency keys
	seq       atomic.Int64
}

func newBenchClient(ctx context.Context, base string, o httpBenchOptions) (*benchClient, error) {
	tr := &http.Transport{MaxIdleConns: o.Clients * 2, MaxIdleConnsPerHost: o.Clients * 2, IdleConnTimeout: time.Minute}
	c := &benchClient{base: base, rule: o.Rule, http: &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	runID := make([]byte, 6)
	crand.Read(runID)
	c.run = hex.EncodeToString(runID)
	c.period = clock.In(clock.Zone(""), time.Now).Month()

	// API login for the token; form login for the page cookie.
	body, _ := json.Marshal(map[string]string{"phone": o.Phone, "password": o.Password})
	st, resp, _, err := c.do(ctx, "POST", "/api/v1/auth/login", "application/json", body, false)
	if err != nil {
		return nil, err
	}
	var login struct{ Token string }
	if json.Unmarshal(resp, &login); st != http.StatusOK || login.Token == "" {
		return nil, fmt.Errorf("bench: API login as %s: %d %.200s", o.Phone, st, resp)
	}
	c.token = login.Token
	form := url.Values{"phone": {o.Phone}, "password": {o.Password}}.Encode()
	st, resp, h, err := c.do(ctx, "POST", "/login", "application/x-www-form-urlencoded", []byte(form), false)
	if err != nil {
		return nil, err
	}
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == "siwei_session" {
			c.cookie = ck.Name + "=" + ck.Value
		}
	}
	if st != http.StatusSeeOther || c.cookie == "" {
		return nil, fmt.Errorf("bench: page login as %s: %d %.200s", o.Phone, st, resp)
	}

	// The active residents the staff login may award to, through the API as any client would.
	for page := 1; page <= 400 && len(c.residents) < 20_000; page++ {
		st, resp, _, err := c.do(ctx, "GET", fmt.Sprintf("/api/v1/residents?status=active&page=%d", page), "", nil, true)
		if err != nil {
			return nil, err
		}
		var list people.ResidentList
		if err := json.Unmarshal(resp, &list); st != http.StatusOK || err != nil {
			return nil, fmt.Errorf("bench: residents page %d: %d %.200s", page, st, resp)
		}
		for _, r := range list.Items {
			c.residents = append(c.residents, r.ID)
		}
		if len(list.Items) == 0 || page >= list.Pages {
			break
		}
	}
	if len(c.residents) == 0 {
		return nil, errors.New("bench: the login sees no active residents")
	}
	return c, nil
}

// do sends one request; api requests carry the bearer token, others the session cookie.
func (c *benchClient) do(ctx context.Context, method, path, ctype string, body []byte, api bool) (int, []byte, http.Header, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if api && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

// benchPages are the pages a staff member opens most.
var benchPages = []string{"/admin", "/admin/bank", "/admin/residents", "/bank/rankings"}

// one makes one request of a kind and reports whether it answered as it should.
func (c *benchClient) one(ctx context.Context, kind string, r *rand.Rand) error {
	var st, want int
	var resp []byte
	var err error
	switch kind {
	case "award":
		k := c.seq.Add(1)
		// The same people again and again: each award confirmed as no duplicate.
		body := fmt.Appendf(nil, `{"resident_id":%d,"rule_code":%q,"reason":"bench http","idempotency_key":"bench:http:%s:%d","confirm_duplicate":true}`,
			c.residents[r.IntN(len(c.residents))], c.rule, c.run, k)
		st, resp, _, err = c.do(ctx, "POST", "/api/v1/bank/awards", "application/json", body, true)
		want = http.StatusCreated
	case "statement":
		st, resp, _, err = c.do(ctx, "GET", fmt.Sprintf("/api/v1/bank/accounts/%d/entries", c.residents[r.IntN(len(c.residents))]), "", nil, true)
		want = http.StatusOK
	case "ranking":
		st, resp, _, err = c.do(ctx, "GET", "/api/v1/bank/rankings?by=household&period="+c.period, "", nil, true)
		want = http.StatusOK
	case "page":
		st, resp, _, err = c.do(ctx, "GET", benchPages[r.IntN(len(benchPages))], "", nil, false)
		want = http.StatusOK
	}
	if err != nil {
		return err
	}
	if st != want {
		return fmt.Errorf("%s: status %d, want %d: %.200s", kind, st, want, resp)
	}
	return nil
}

// phase runs n clients for d; client i makes requests of kinds[i % len(kinds)].
func (c *benchClient) phase(ctx context.Context, kinds []string, n int, d time.Duration) map[string]kindStats {
	type sample struct {
		lat  []time.Duration
		errs int
		err  string
	}
	samples := make([]sample, n)
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	pctx, cancel := context.WithDeadline(ctx, stop.Add(30*time.Second))
	defer cancel()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kind := kinds[i%len(kinds)]
			r := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			s := &samples[i]
			for time.Now().Before(stop) && pctx.Err() == nil {
				t0 := time.Now()
				err := c.one(pctx, kind, r)
				s.lat = append(s.lat, time.Since(t0))
				if err != nil {
					s.errs++
					if s.err == "" {
						s.err = err.Error()
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	out := map[string]kindStats{}
	for _, kind := range kinds {
		var lat []time.Duration
		st := kindStats{Elapsed: elapsed}
		for i := range n {
			if kinds[i%len(kinds)] != kind {
				continue
			}
			lat = append(lat, samples[i].lat...)
			st.Errors += samples[i].errs
			if st.FirstErr == "" {
				st.FirstErr = samples[i].err
			}
		}
		st.Requests = len(lat)
		if len(lat) > 0 {
			slices.Sort(lat)
			st.P50 = lat[len(lat)/2]
			st.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
		}
		out[kind] = st
	}
	return out
}
