package main

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/report"
	"siwei/internal/server"
)

// districtOptions is what `siwei bench district` is told.
type districtOptions struct {
	PG        string // the PostgreSQL server; a database is created on it
	Towns     int
	Residents int   // in the whole district
	Entries   int64 // ledger entries, two per transaction
	Clients   int
	Duration  time.Duration // of each measurement
	MaxLoad   time.Duration
	Keep      bool
	Seed      uint64
}

// districtKinds are what the bench measures, in the order printed, with their targets (p99).
var districtKinds = []struct {
	kind   string
	target time.Duration
}{{"town figures", 100 * time.Millisecond}, {"district page", 300 * time.Millisecond}, {"statement", 10 * time.Millisecond},
	{"top-100 households", 20 * time.Millisecond}, {"award", 30 * time.Millisecond}}

// districtResult is what a run loaded and measured.
type districtResult struct {
	Counts   map[string]int64
	Load     time.Duration
	Stopped  string
	Stats    map[string]kindStats
	Explains map[string]string // a missed target's slowest query and its plan
}

// benchDistrictCmd is `siwei bench district`: a district of towns on a fresh PostgreSQL database,
// and the dashboard's and the bank's reads and awards timed on it (issue 18).
func benchDistrictCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench district", flag.ExitOnError)
	o := districtOptions{}
	fs.StringVar(&o.PG, "pg", env("SIWEI_BENCH_POSTGRES", ""), "PostgreSQL server URL (a database is created, and dropped unless --keep)")
	fs.IntVar(&o.Towns, "towns", 100, "towns of the district")
	fs.IntVar(&o.Residents, "residents", 1_000_000, "residents in the whole district")
	fs.Int64Var(&o.Entries, "entries", 20_000_000, "ledger entries (two per transaction)")
	fs.IntVar(&o.Clients, "clients", 16, "concurrent clients of each measurement")
	seconds := fs.Float64("seconds", 20, "how long each measurement lasts")
	fs.DurationVar(&o.MaxLoad, "max-load", 40*time.Minute, "stop loading the ledger short so that the load ends within this")
	fs.BoolVar(&o.Keep, "keep", false, "keep the database")
	seed := fs.Uint64("seed", 1, "the district's seed")
	fs.Parse(args)
	o.Duration, o.Seed = time.Duration(*seconds*float64(time.Second)), *seed
	_, err := runDistrictBench(ctx, o, os.Stdout)
	return err
}

// runDistrictBench loads the district, measures it and prints the table to out.
func runDistrictBench(ctx context.Context, o districtOptions, out io.Writer) (*districtResult, error) {
	switch {
	case o.PG == "":
		return nil, errors.New("bench district: --pg is required (a PostgreSQL server)")
	case o.Towns < 1 || o.Residents < o.Towns*districtVillages:
		return nil, fmt.Errorf("bench district: %d residents are too few for %d towns of %d villages", o.Residents, o.Towns, districtVillages)
	case o.Entries < 2 || o.Clients < 1 || o.Clients > 1024:
		return nil, errors.New("bench district: --entries must be at least 2 and --clients between 1 and 1024")
	case o.Duration <= 0 || o.Duration > 10*time.Minute:
		return nil, errors.New("bench district: --seconds must be more than 0 and at most 600")
	}
	dbURL, err := createBenchDB(ctx, o.PG)
	if err != nil {
		return nil, err
	}
	if o.Keep {
		fmt.Fprintf(out, "database kept: %s\n", dbURL)
	} else {
		defer dropBenchDB(o.PG, dbURL)
	}
	d, err := db.Open(ctx, dbURL, "")
	if err != nil {
		return nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	sys, err := server.New(d, bytes.Repeat([]byte{9}, 32))
	if err != nil {
		d.Close()
		return nil, err
	}
	defer sys.Close()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())

	res := &districtResult{Counts: map[string]int64{}, Stats: map[string]kindStats{}, Explains: map[string]string{}}
	start := time.Now()
	l := &districtLoader{conn: conn, d: d, bank: sys.Bank, o: o, out: out, now: time.Now(), start: start, deadline: start.Add(o.MaxLoad),
		loc: clock.Zone(""), counts: res.Counts}
	fmt.Fprintf(out, "loading %d towns, %d residents, %d entries (--max-load %s)\n", o.Towns, o.Residents, o.Entries, o.MaxLoad)
	if err := l.run(ctx); err != nil {
		return nil, err
	}
	res.Load, res.Stopped = time.Since(start), l.stopped
	fmt.Fprintf(out, "loaded in %s: %d residents, %d transactions, %d entries, %d earnings rows\n", res.Load.Round(time.Second),
		res.Counts["residents"], res.Counts["bank_transactions"], res.Counts["bank_entries"], res.Counts["bank_earnings"])
	if res.Stopped != "" {
		fmt.Fprintln(out, "NOTE: "+res.Stopped)
	}

	m, err := newDistrictMeasure(ctx, sys, l, dbURL)
	if err != nil {
		return nil, err
	}
	defer m.timed.Close()
	var version, jit, buffers string
	if err := conn.QueryRow(ctx, `SELECT version(), current_setting('jit'), current_setting('shared_buffers')`).Scan(&version, &jit, &buffers); err == nil {
		fmt.Fprintf(out, "%.40s, jit %s, shared_buffers %s\n", version, jit, buffers)
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(out, "load average before the measurements: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	fmt.Fprintf(out, "\n%d clients, %s each\n", o.Clients, o.Duration)
	for _, k := range districtKinds {
		res.Stats[k.kind] = m.phase(ctx, k.kind, o.Clients, o.Duration)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measure\trequests\terrors\tper second\tp50 ms\tp99 ms\ttarget p99 ms\tmet\t")
	for _, k := range districtKinds {
		st := res.Stats[k.kind]
		met := "yes"
		if st.P99 > k.target || st.Errors > 0 {
			met = "NO"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.0f\t%s\t\n", k.kind, st.Requests, st.Errors, st.PerSecond(), ms(st.P50), ms(st.P99), ms(k.target), met)
	}
	tw.Flush()
	for _, k := range districtKinds {
		st := res.Stats[k.kind]
		if st.FirstErr != "" {
			fmt.Fprintf(out, "first error of %s: %s\n", k.kind, st.FirstErr)
		}
		if st.P99 <= k.target {
			continue
		}
		plan, err := m.explain(ctx, k.kind)
		if err != nil {
			plan = "EXPLAIN failed: " + err.Error()
		}
		res.Explains[k.kind] = plan
		fmt.Fprintf(out, "\n%s missed its target (p99 %.1f ms > %.0f ms); the slowest query involved:\n%s\n", k.kind, ms(st.P99), ms(k.target), plan)
	}
	return res, nil
}

// districtMeasure makes the requests the bench times.
type districtMeasure struct {
	sys    *server.System
	actor  *auth.Actor
	towns  int
	people int
	// busiest is the resident with the most entries: the longest statement.
	busiest int64
	year    string
	month   string
	run     string
	timed   *sql.DB         // the report's reads, with each query's time kept
	log     *timedQueryLog  // what timed saw
	report  *report.Service // reading through timed
}

func newDistrictMeasure(ctx context.Context, sys *server.System, l *districtLoader, dbURL string) (*districtMeasure, error) {
	now := clock.In(clock.Zone(""), time.Now)
	m := &districtMeasure{sys: sys, towns: l.o.Towns, people: len(l.residents), year: now.Month()[:4], month: now.Month(),
		run: fmt.Sprintf("%d", time.Now().UnixNano()), log: &timedQueryLog{}}
	// The district's admin reads every town's figures and awards anywhere.
	m.actor = &auth.Actor{AccountID: -1, Name: "siwei bench district", Grants: []auth.Grant{{Role: auth.DistrictAdmin}}}
	err := l.conn.QueryRow(ctx, `SELECT resident_id FROM bank_accounts WHERE kind = 'resident' ORDER BY seq DESC, id LIMIT 1`).Scan(&m.busiest)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	m.timed = sql.OpenDB(timedConnector{stdlib.GetConnector(*cfg), m.log})
	m.timed.SetMaxOpenConns(32)
	m.timed.SetMaxIdleConns(32)
	rep := *sys.Report
	rep.Read = m.timed
	m.report = &rep
	return m, nil
}

// one makes one request of a kind.
func (m *districtMeasure) one(ctx context.Context, kind string, r *rand.Rand, k int) error {
	var err error
	switch kind {
	case "town figures":
		_, err = m.report.Figures(ctx, m.actor, report.Scope{Level: report.Town, ID: int64(1 + r.IntN(m.towns))}, m.year, false)
	case "district page":
		_, err = m.report.Figures(ctx, m.actor, report.Scope{Level: report.District}, m.year, false)
	case "statement":
		_, err = m.sys.Bank.Statement(ctx, m.actor, int64(1+r.IntN(m.people)), bank.StatementFilter{})
	case "top-100 households":
		_, err = m.sys.Bank.Rankings(ctx, int64(1+r.IntN(m.towns)), "household", m.month, 100)
	case "award":
		_, err = m.sys.Bank.Award(ctx, m.actor, bank.AwardInput{ResidentID: int64(1 + r.IntN(m.people)), RuleCode: "bench", Reason: "bench district",
			IdempotencyKey: fmt.Sprintf("bench:district:%s:%d", m.run, k), ConfirmDuplicate: true})
	}
	return err
}

// phase runs n clients of one kind for d.
func (m *districtMeasure) phase(ctx context.Context, kind string, n int, d time.Duration) kindStats {
	var mu sync.Mutex
	var lat []time.Duration
	st := kindStats{}
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			var mine []time.Duration
			var errs int
			var first string
			for k := 0; time.Now().Before(stop) && ctx.Err() == nil; k++ {
				t0 := time.Now()
				err := m.one(ctx, kind, r, i<<32|k)
				mine = append(mine, time.Since(t0))
				if err != nil {
					if errs++; first == "" {
						first = err.Error()
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			st.Errors += errs
			if st.FirstErr == "" {
				st.FirstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	st.Elapsed = time.Since(start)
	st.Requests = len(lat)
	if len(lat) > 0 {
		slices.Sort(lat)
		st.P50 = lat[len(lat)/2]
		st.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return st
}

// explain finds the slowest query of one request of a kind and returns its EXPLAIN (ANALYZE,
// BUFFERS). The report's queries are caught as they run; the bank's reads are the statement's
// and the household board's queries as bank writes them; an award is a write, explained by the
// row locks its posting takes.
func (m *districtMeasure) explain(ctx context.Context, kind string) (string, error) {
	var q string
	var args []any
	var b strings.Builder
	switch kind {
	case "town figures", "district page":
		m.log.reset()
		t0 := time.Now()
		r := rand.New(rand.NewPCG(1, 2))
		if err := m.one(ctx, kind, r, 0); err != nil {
			return "", err
		}
		took := time.Since(t0)
		n, total, slow := m.log.summary()
		if len(slow) == 0 {
			return "", errors.New("no query was caught")
		}
		fmt.Fprintf(&b, "one request alone: %.1f ms, %d queries taking %.1f ms in all; the slowest:\n", ms(took), n, ms(total))
		for _, s := range slow {
			fmt.Fprintf(&b, "  %7.1f ms  %.160s\n", ms(s.took), strings.Join(strings.Fields(s.q), " "))
		}
		q, args = slow[0].q, slow[0].args
	case "statement":
		q = `SELECT e.seq, e.transaction_id, t.kind, e.amount, e.balance_after, t.rule_code, COALESCE(r.name, ''), t.reason, t.approved_by,
			COALESCE(t.reverses_id, 0), e.hash, e.created_at FROM bank_entries e JOIN bank_transactions t ON t.id = e.transaction_id
			LEFT JOIN bank_rules r ON r.id = t.rule_id WHERE e.account_id = (SELECT id FROM bank_accounts WHERE resident_id = $1) ORDER BY e.seq DESC LIMIT 50`
		args = []any{m.busiest}
	case "top-100 households":
		q = `SELECT e.id, h.number, v.name, v.id, COALESCE(hr.name, ''), COALESCE(hr.birth_date, ''), e.pts FROM (SELECT id,
			CAST(SUM(CAST(points AS DOUBLE PRECISION)) AS BIGINT) AS pts FROM (SELECT household_id AS id, points FROM bank_earnings
			WHERE town_id = $1 AND period IN ($2) ORDER BY household_id) s GROUP BY id HAVING SUM(CAST(points AS DOUBLE PRECISION)) > 0
			ORDER BY pts DESC, id LIMIT 100) e JOIN households h ON h.id = e.id JOIN villages v ON v.id = h.village_id
			LEFT JOIN residents hr ON hr.id = h.head_resident_id ORDER BY e.pts DESC, e.id`
		args = []any{int64(1), m.month}
	case "award":
		// The posting locks the resident's account and the town's issuing shard, as here (in a
		// transaction rolled back); the rest of its time is the write and the commit's flush.
		q = `SELECT id, balance, seq, head_hash FROM bank_accounts WHERE id IN ((SELECT id FROM bank_accounts WHERE resident_id = $1),
			(SELECT a.id FROM bank_accounts a JOIN residents r ON r.town_id = a.town_id WHERE r.id = $1 AND a.kind = 'issuing' AND a.shard = $1 % $2))
			ORDER BY id FOR UPDATE`
		args = []any{m.busiest, int64(bank.IssuingShards)}
	}
	if q == "" {
		return "", errors.New("no query was caught")
	}
	tx, err := m.timed.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	fmt.Fprintf(&b, "%s\nargs %v\n", strings.Join(strings.Fields(q), " "), args)
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		b.WriteString(line + "\n")
	}
	return b.String(), rows.Err()
}

// timedQueryLog keeps the queries a timedConnector ran since reset, with their times.
type timedQueryLog struct {
	mu      sync.Mutex
	queries []timedQuery
}

type timedQuery struct {
	q    string
	args []any
	took time.Duration
}

func (t *timedQueryLog) reset() {
	t.mu.Lock()
	t.queries = nil
	t.mu.Unlock()
}

func (t *timedQueryLog) note(q string, args []driver.NamedValue, took time.Duration) {
	tq := timedQuery{q: q, took: took}
	for _, a := range args {
		tq.args = append(tq.args, a.Value)
	}
	t.mu.Lock()
	t.queries = append(t.queries, tq)
	t.mu.Unlock()
}

// summary is how many queries ran, their total time and the three slowest, the slowest first.
func (t *timedQueryLog) summary() (n int, total time.Duration, slowest []timedQuery) {
	t.mu.Lock()
	defer t.mu.Unlock()
	qs := slices.Clone(t.queries)
	for _, q := range qs {
		total += q.took
	}
	slices.SortFunc(qs, func(a, b timedQuery) int { return int(b.took - a.took) })
	return len(qs), total, qs[:min(3, len(qs))]
}

// timedConnector is pgx's connector whose connections time each query to its last row, so that
// the bench can name the report's slowest query without the report knowing.
type timedConnector struct {
	driver.Connector
	log *timedQueryLog
}

func (c timedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &timedConn{Conn: conn, log: c.log}, nil
}

type timedConn struct {
	driver.Conn
	log *timedQueryLog
}

func (c *timedConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	t0 := time.Now()
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	if err != nil {
		return nil, err
	}
	return &timedRows{Rows: rows, done: func() { c.log.note(q, args, time.Since(t0)) }}, nil
}

func (c *timedConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *timedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *timedConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *timedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

type timedRows struct {
	driver.Rows
	done func()
	once sync.Once
}

func (r *timedRows) Close() error {
	r.once.Do(r.done)
	return r.Rows.Close()
}
