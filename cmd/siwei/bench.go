package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server"
)

// benchCmd measures the bank. `siwei bench ledger` posts awards through the bank's own entry
// point from 1, 4, 16 and 64 concurrent clients on a fresh SQLite file (durable) and, when a
// PostgreSQL server is given, on a fresh PostgreSQL database next to pgbench's tpcb-like run.
func benchCmd(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "http" {
		return benchHTTPCmd(ctx, args[1:])
	}
	if len(args) > 0 && args[0] == "district" {
		return benchDistrictCmd(ctx, args[1:])
	}
	if len(args) > 0 && args[0] == "attack" {
		return benchAttackCmd(ctx, args[1:])
	}
	if len(args) == 0 || args[0] != "ledger" {
		return errors.New("usage: siwei bench ledger [--seconds S] [--clients 1,4,16,64] [--pg postgres://…/postgres]\n       siwei bench http [--url U | --pg postgres://…/postgres] [--clients 16] [--seconds 10] [--phases award,statement,ranking,page,mixed]\n       siwei bench attack [--phases photos,xlsx,logins,logins-many] [--residents 200]\n       siwei bench district --pg postgres://…/postgres [--towns 100] [--residents 1000000] [--entries 20000000] [--clients 16] [--seconds 20] [--max-load 40m] [--keep]")
	}
	fs := flag.NewFlagSet("bench ledger", flag.ExitOnError)
	seconds := fs.Float64("seconds", 5, "how long each run lasts")
	clients := fs.String("clients", "1,4,16,64", "concurrent clients, comma-separated")
	pg := fs.String("pg", env("SIWEI_BENCH_POSTGRES", ""), "PostgreSQL server URL (a database is created and dropped); empty: SQLite only")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the runs to this file")
	fs.Parse(args[1:])
	var ns []int
	for _, s := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 1024 {
			return fmt.Errorf("--clients: %q is not a number of clients", s)
		}
		ns = append(ns, n)
	}
	dur := time.Duration(*seconds * float64(time.Second))
	if dur <= 0 || dur > 10*time.Minute {
		return errors.New("--seconds must be between 0 and 600")
	}

	dir, err := os.MkdirTemp("", "siwei-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lite, err := benchSystem(ctx, filepath.Join(dir, "bench.db"), dir)
	if err != nil {
		return err
	}
	defer lite.sys.Close()
	var pgb *benchFixture
	var pgURL string
	if *pg != "" {
		if pgURL, err = createBenchDB(ctx, *pg); err != nil {
			return err
		}
		defer dropBenchDB(*pg, pgURL)
		if pgb, err = benchSystem(ctx, pgURL, dir); err != nil {
			return err
		}
		defer pgb.sys.Close()
	}
	// The profile covers the runs, not the building of the towns.
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average before the runs: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	fmt.Printf("awards/s through bank.Award, %s a run, a 2,000-resident town\n\n", dur)
	fmt.Printf("%-8s %12s %12s %12s %12s\n", "clients", "sqlite", "postgres", "pgbench", "pg/pgbench")
	for _, n := range ns {
		l, err := lite.run(ctx, n, dur)
		if err != nil {
			return err
		}
		row := fmt.Sprintf("%-8d %12.0f", n, l)
		if pgb != nil {
			p, tps, err := pgPair(ctx, pgb, pgURL, n, dur)
			if err != nil {
				row += fmt.Sprintf(" %12.0f %12s", p, "n/a: "+err.Error())
			} else {
				row += fmt.Sprintf(" %12.0f %12.0f %12.2f", p, tps, p/tps)
			}
		}
		fmt.Println(row)
	}
	for _, f := range []*benchFixture{lite, pgb} {
		if f == nil {
			continue
		}
		rep, err := f.bank.Verify(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("\nverify %s: %d transactions, %d entries, ok=%v\n", f.sys.DB.Engine, rep.Transactions, rep.Entries, rep.OK())
	}
	return nil
}

type benchFixture struct {
	sys       *server.System
	bank      *bank.Service
	actor     *auth.Actor
	residents []int64
	seq       atomic.Int64
}

// benchSystem builds the demo town with one uncapped rule for every class.
func benchSystem(ctx context.Context, url, dir string) (*benchFixture, error) {
	d, err := db.Open(ctx, url, dir)
	if err != nil {
		return nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		return nil, err
	}
	sys, err := server.New(d, bytes.Repeat([]byte{9}, 32))
	if err != nil {
		return nil, err
	}
	info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, demo.Options{Seed: 1, Residents: 2000})
	if err != nil {
		return nil, err
	}
	bs := bank.NewService(d, sys.People)
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		for _, c := range []people.MemberClass{people.Villager, people.PartyMember, people.Minor} {
			if _, err := bs.InsertVersion(ctx, tx, bank.VersionInput{TownID: info.TownID, Class: c, AdoptedBy: "村民代表大会", AdoptedOn: "2026-01-01",
				EffectiveFrom: "2026-01-01", Rules: []bank.RuleInput{{Code: "bench", Name: "压力测试", Points: 1}}}, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f := &benchFixture{sys: sys, bank: bs, actor: auth.System("siwei bench")}
	rows, err := d.Read().QueryContext(ctx, `SELECT id FROM residents WHERE status = 'active' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		f.residents = append(f.residents, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Warm up: one award each opens every account (as card issuance does in a real town), so the
	// runs measure steady-state postings.
	for f.seq.Load() < int64(len(f.residents)) {
		if _, err := f.run(ctx, 16, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// run posts awards from n clients for dur and returns awards per second.
func (f *benchFixture) run(ctx context.Context, n int, dur time.Duration) (float64, error) {
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(dur)
	for c := 0; c < n; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				k := f.seq.Add(1)
				_, err := f.bank.Award(ctx, f.actor, bank.AwardInput{ResidentID: f.residents[int(k)%len(f.residents)], RuleCode: "bench",
					Reason: "bench", IdempotencyKey: fmt.Sprintf("bench:%d", k), ConfirmDuplicate: true}) // the same people again and again
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds(), firstErr
}

// pgPair measures the bank on PostgreSQL and pgbench's tpcb-like run in turns, two slices of half
// the time each, so that a change in the machine's load during the runs (it is shared) weighs on
// both figures alike. It returns awards/s and pgbench's tps; err is pgbench's failure, if any, and
// a failure of the bank's run ends the command.
func pgPair(ctx context.Context, f *benchFixture, dbURL string, n int, dur time.Duration) (awards, tps float64, err error) {
	secs := max(1, int(dur.Seconds()/2))
	slice := time.Duration(secs) * time.Second
	if _, err := exec.LookPath("pgbench"); err != nil {
		a, rerr := f.run(ctx, n, dur)
		if rerr != nil {
			return 0, 0, rerr
		}
		return a, 0, errors.New("pgbench not installed")
	}
	if out, err := exec.CommandContext(ctx, "pgbench", "-i", "-q", "-s", "1", dbURL).CombinedOutput(); err != nil {
		a, rerr := f.run(ctx, n, dur)
		if rerr != nil {
			return 0, 0, rerr
		}
		return a, 0, fmt.Errorf("pgbench -i: %v: %s", err, out)
	}
	var sumA, sumT float64
	for round := 0; round < 2; round++ {
		a, rerr := f.run(ctx, n, slice)
		if rerr != nil {
			return 0, 0, rerr
		}
		t, perr := pgbench(ctx, dbURL, n, secs)
		if perr != nil {
			err = perr
		}
		sumA, sumT = sumA+a, sumT+t
	}
	return sumA / 2, sumT / 2, err
}

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+)`)

// pgbench runs PostgreSQL's own tpcb-like benchmark (initialised by pgPair) on the same server
// with n clients for secs seconds.
func pgbench(ctx context.Context, dbURL string, n, secs int) (float64, error) {
	out, err := exec.CommandContext(ctx, "pgbench", "-c", strconv.Itoa(n), "-j", strconv.Itoa(min(n, 8)), "-T", strconv.Itoa(secs), "-b", "tpcb-like", dbURL).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v: %s", err, out)
	}
	m := tpsRE.FindAllSubmatch(out, -1)
	if m == nil {
		return 0, fmt.Errorf("pgbench printed no tps")
	}
	return strconv.ParseFloat(string(m[len(m)-1][1]), 64)
}

func createBenchDB(ctx context.Context, server string) (string, error) {
	admin, err := sql.Open("pgx", server)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	name := fmt.Sprintf("siwei_bench_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create bench database: %w", err)
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropBenchDB(server, dbURL string) {
	admin, err := sql.Open("pgx", server)
	if err != nil {
		return
	}
	defer admin.Close()
	u, _ := url.Parse(dbURL)
	admin.Exec("DROP DATABASE IF EXISTS " + strings.TrimPrefix(u.Path, "/") + " WITH (FORCE)")
}
