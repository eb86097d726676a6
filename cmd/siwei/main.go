// Command siwei is the one binary of the 四微一行 platform: serve, demo, migrate, import, export,
// version. Wiring lives here and nowhere else.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // Asia/Shanghai on machines without a zoneinfo database

	"golang.org/x/term"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server"
	"siwei/internal/web"
)

const usage = `siwei — 四微一行 基层治理平台

usage:
  siwei serve   [--addr A] [--data DIR] [--db URL] [--init-admin PHONE --town NAME --town-code CODE]
                [--notice-period 72h] [--scheduler-every 1m] [--secure] [--metrics-addr A]
  siwei demo    [--addr A] [--data DIR] [--db URL] [--residents N] [--seed S] [--fresh]
  siwei migrate [--data DIR] [--db URL]
  siwei import residents [--town NAME] FILE.xlsx
  siwei export residents --village NAME [--town NAME] FILE.xlsx
  siwei verify  [--data DIR] [--db URL]
  siwei report monthly --period 2026-11 [--town NAME] [--db URL] [--db-read URL] FILE.xlsx
  siwei bench ledger [--seconds S] [--clients 1,4,16,64] [--pg postgres://…]
  siwei bench http   [--url U | --pg postgres://…] [--clients 16] [--seconds 10]
  siwei bench attack [--phases photos,xlsx,logins,logins-many] [--residents 200]
  siwei bench district --pg postgres://… [--towns 100] [--residents 1000000] [--entries 20000000] [--max-load 40m]
  siwei version

Every flag has a SIWEI_* environment equivalent (SIWEI_ADDR, SIWEI_DATA, SIWEI_DB, …).
Go's GOGC (300 unless set) and GOMEMLIMIT tune the memory kept between garbage collections.
`

// gcPercent is the collector's GOGC unless the environment sets one. The server's live heap is a
// few tens of MiB, so letting it grow to four times that before a collection costs little memory
// and a tenth of the CPU an award over HTTP took at Go's default of 100 (bench http, 16 clients:
// 2,680 → 3,020 awards/s on SQLite, three alternating runs each).
const gcPercent = 300

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:], false)
	case "demo":
		err = serve(ctx, os.Args[2:], true)
	case "migrate":
		err = migrate(ctx, os.Args[2:])
	case "import":
		err = importCmd(ctx, os.Args[2:])
	case "export":
		err = exportCmd(ctx, os.Args[2:])
	case "verify":
		err = verifyCmd(ctx, os.Args[2:])
	case "bench":
		err = benchCmd(ctx, os.Args[2:])
	case "report":
		err = reportCmd(ctx, os.Args[2:])
	case "version":
		fmt.Println(version())
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "siwei:", err)
		os.Exit(1)
	}
}

func version() string {
	v := "siwei (devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v += " " + s.Value
			}
		}
		v += " " + bi.GoVersion
	}
	return v
}

// config is what every subcommand needs to open the system.
type config struct {
	addr, data, db, dbRead string
}

// common registers the flags shared by serve, demo and the jobs; the environment gives defaults.
func common(fs *flag.FlagSet) *config {
	c := &config{}
	fs.StringVar(&c.addr, "addr", env("SIWEI_ADDR", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&c.data, "data", env("SIWEI_DATA", "./siwei-data"), "data folder: SQLite file, key")
	fs.StringVar(&c.db, "db", env("SIWEI_DB", ""), "database URL (default SQLite in --data; postgres://… for PostgreSQL)")
	fs.StringVar(&c.dbRead, "db-read", env("SIWEI_DB_READ", ""), "a read-only PostgreSQL connection (a streaming replica) for the dashboard and the reports, so that they never load the primary")
	return c
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// envDuration reads a duration such as 72h from the environment; unset or unreadable gives def.
func envDuration(k string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(k)); err == nil && d > 0 {
		return d
	}
	return def
}

func open(ctx context.Context, c *config) (*server.System, error) {
	sys, err := server.Open(ctx, c.db, c.data)
	if err != nil || c.dbRead == "" {
		return sys, err
	}
	if sys.Report.Read, err = db.OpenReplica(ctx, c.dbRead); err != nil {
		sys.DB.Close()
		return nil, err
	}
	return sys, nil
}

func serve(ctx context.Context, args []string, isDemo bool) error {
	name := "serve"
	if isDemo {
		name = "demo"
	}
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	c := common(fs)
	// Each command shows only its own flags in --help: the demo town's for demo, the first admin's
	// for serve.
	var residents, seed, fresh = new(int), new(int64), new(bool)
	var initAdmin, townName, townCode = new(string), new(string), new(string)
	if isDemo {
		residents = fs.Int("residents", demo.DefaultResidents, fmt.Sprintf("number of residents of the demo town (%d to %d); 20000 takes about half a minute", demo.MinResidents, demo.MaxResidents))
		seed = fs.Int64("seed", demo.DefaultSeed, "random seed: another number gives another deterministic town")
		fresh = fs.Bool("fresh", false, "delete the data folder (--data) first and build the demo town anew; refused unless the folder holds only a siwei database")
	} else {
		initAdmin = fs.String("init-admin", env("SIWEI_INIT_ADMIN", ""), "create the first admin with this phone (password from SIWEI_ADMIN_PASSWORD or a prompt)")
		townName = fs.String("town", env("SIWEI_TOWN", ""), "with --init-admin: the admin's town (created if new)")
		townCode = fs.String("town-code", env("SIWEI_TOWN_CODE", ""), "with --init-admin: code of a new town (6–12 digits)")
	}
	debugLog := fs.Bool("debug", os.Getenv("SIWEI_DEBUG") != "", "log every request")
	notice := fs.Duration("notice-period", envDuration("SIWEI_NOTICE_PERIOD", bank.NoticePeriod), "how long an approved claim stays on public notice (公示)")
	every := fs.Duration("scheduler-every", envDuration("SIWEI_SCHEDULER_EVERY", time.Minute), "how often claims whose notice ended are posted and the day's message digests (每日汇总) are made")
	secure := fs.Bool("secure", os.Getenv("SIWEI_SECURE") != "", "clients reach siwei over HTTPS (a proxy in front ends TLS): cookies are Secure and HSTS is sent on every answer")
	reportCache := fs.Duration("report-cache", envDuration("SIWEI_REPORT_CACHE", time.Minute), "how long the 驾驶舱's figures of a scope and period are served again as they are (the big screen refreshes every minute); until ten times as old they are served at once while new ones are computed; the pages say when they were computed")
	metricsAddr := fs.String("metrics-addr", env("SIWEI_METRICS_ADDR", ""), "serve Prometheus /metrics on this address (off when empty; keep it private)")
	fs.Parse(args)
	bank.NoticePeriod = *notice
	web.TrustProxy = os.Getenv("SIWEI_TRUST_PROXY") != ""

	level := slog.LevelInfo
	if *debugLog {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log) // for the warnings of packages that take no logger (a readable secret.key)
	start := time.Now()
	if *fresh {
		if c.db != "" {
			return errors.New("--fresh removes a SQLite data folder; with --db, drop and create the database yourself")
		}
		if err := removeDemoData(c.data); err != nil {
			return err
		}
		log.Info("removed the demo data folder", "data", c.data)
	}
	sys, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer sys.DB.Close()
	sys.Report.KeepFor(*reportCache)

	var info demo.Info
	if isDemo {
		tty := term.IsTerminal(int(os.Stderr.Fd()))
		stop := watchDemo(ctx, sys.DB, *residents, os.Stderr, tty, time.Second)
		info, err = sys.Demo(ctx, demo.Options{Seed: *seed, Residents: *residents})
		stop()
		if err != nil {
			return err
		}
	} else if *initAdmin != "" {
		if err := createAdmin(ctx, sys, *initAdmin, *townName, *townCode); err != nil {
			return err
		}
	} else if n, err := countAccounts(ctx, sys.DB); err != nil {
		return err
	} else if n == 0 {
		return errors.New("the database has no accounts yet: start once with --init-admin PHONE --town NAME --town-code CODE (or run `siwei demo`)")
	}

	app, err := sys.App(log)
	if err != nil {
		return err
	}
	app.Secure = *secure

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		msrv := &http.Server{Handler: app.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute}
		go msrv.Serve(mln)
		defer msrv.Close()
		log.Info("metrics listening", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	go housekeeping(ctx, sys, log)
	go sys.Bank.RunScheduler(ctx, *every, log)
	go sys.Notify.RunDigests(ctx, *every, log)

	url := "http://" + ln.Addr().String()
	log.Info("siwei listening", "url", url, "db", string(sys.DB.Engine), "startup", time.Since(start).Round(time.Millisecond))
	if isDemo {
		fmt.Printf("\n%s 演示镇已就绪：%d 个村，%d 位居民。打开 %s\n演示账号（密码均为 %s）：\n", info.Town, info.Villages, info.Residents, url, demo.DemoPassword)
		for _, a := range info.Accounts {
			fmt.Printf("  %s  %s\n", a.Phone, a.Who)
		}
		fmt.Println()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// housekeeping prunes old login attempts hourly, and every five minutes escalates the referrals
// of 微协商 that passed a deadline (a bounded batch each time).
func housekeeping(ctx context.Context, sys *server.System, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	esc := time.NewTicker(5 * time.Minute)
	defer esc.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := sys.Auth.PruneLoginAttempts(ctx); err != nil {
				log.Warn("prune login attempts", "err", err)
			}
		case <-esc.C:
			if n, err := sys.Consult.Escalate(ctx); err != nil {
				log.Warn("escalate referrals", "err", err)
			} else if n > 0 {
				log.Info("escalated referrals", "count", n)
			}
		}
	}
}

func mustCatalog() web.Catalog {
	c, err := server.Catalog()
	if err != nil {
		panic(err)
	}
	return c
}

func countAccounts(ctx context.Context, d *db.DB) (int, error) {
	var n int
	err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n)
	return n, err
}

// createAdmin creates the first admin: a district admin who is also town admin of the town.
func createAdmin(ctx context.Context, sys *server.System, phone, townName, townCode string) error {
	if !auth.ValidPhone(phone) {
		return fmt.Errorf("--init-admin %q is not a mainland mobile number", phone)
	}
	if townName == "" {
		return errors.New("--init-admin needs --town NAME")
	}
	pw := os.Getenv("SIWEI_ADMIN_PASSWORD")
	if pw == "" {
		var err error
		if pw, err = prompt("新管理员密码 / admin password: "); err != nil {
			return err
		}
	}
	if err := auth.ValidatePassword(pw); err != nil {
		return errors.New("the admin password must have at least 8 characters")
	}
	hash := auth.HashPassword(pw)
	return sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		var townID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM towns WHERE name = $1`, townName).Scan(&townID)
		if db.IsNoRows(err) {
			t, err := sys.People.InsertTown(ctx, tx, people.TownInput{Name: townName, Code: townCode})
			if err != nil {
				return fmt.Errorf("create town %s (give --town-code, 6–12 digits): %w", townName, err)
			}
			townID = t.ID
		} else if err != nil {
			return err
		}
		id, err := sys.Auth.InsertAccount(ctx, tx, phone, "管理员", 0, hash, false)
		if db.IsUnique(err) {
			return fmt.Errorf("an account with phone %s exists already", phone)
		}
		if err != nil {
			return err
		}
		for _, g := range []auth.Grant{{Role: auth.DistrictAdmin}, {Role: auth.TownAdmin, TownID: townID}} {
			if err := sys.Auth.InsertGrant(ctx, tx, id, g); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, auth.System("siwei serve --init-admin"), auth.AuditEntry{Action: "account.create", Entity: "account", EntityID: id, TownID: townID})
	})
}

func prompt(label string) (string, error) {
	fmt.Fprint(os.Stderr, label)
	if term.IsTerminal(int(os.Stdin.Fd())) {
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

func migrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ExitOnError)
	c := common(fs)
	fs.Parse(args)
	d, err := db.Open(ctx, c.db, c.data)
	if err != nil {
		return err
	}
	defer d.Close()
	n, err := d.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("applied %d migrations (%s)\n", n, d.Engine)
	return nil
}

// verifyCmd audits the ledger and exits non-zero naming the first broken entry of each check.
func verifyCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	c := common(fs)
	fs.Parse(args)
	sys, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer sys.Close()
	// A line on stderr as each check starts: on a district's ledger a check reads millions of rows.
	cat := mustCatalog()
	names := map[string]string{"sum": "bank.verify.sum", "balance": "bank.verify.balance", "negative": "bank.verify.negative",
		"orphan": "bank.verify.orphan", "amount": "bank.verify.amount", "chain": "bank.verify.chain"}
	start := time.Now()
	rep, err := bank.NewService(sys.DB, sys.People).VerifySteps(ctx, func(check string) {
		fmt.Fprintln(os.Stderr, cat.T(web.DefaultLang, "bank.verify.step", cat.T(web.DefaultLang, names[check]), time.Since(start).Round(time.Second)))
	})
	if err != nil {
		return err
	}
	fmt.Printf("checked %d transactions, %d entries, %d accounts\n", rep.Transactions, rep.Entries, rep.Accounts)
	for _, p := range rep.Problems {
		fmt.Printf("BROKEN %s: %s\n", p.Check, p.Detail)
	}
	if !rep.OK() {
		return fmt.Errorf("the ledger failed %d checks", len(rep.Problems))
	}
	fmt.Println("ok")
	return nil
}
