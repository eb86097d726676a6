// Package server assembles siwei from its parts: the database, the services and the web app with
// every pillar's routes. The binary and the end-to-end tests build the same thing through it.
package server

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"

	"siwei/internal/alliance"
	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/consult"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/honours"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/report"
	"siwei/internal/school"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// System is an opened database with its services.
type System struct {
	DB        *db.DB
	People    *people.Service
	Auth      *auth.Service
	Bank      *bank.Service
	Notify    *notify.Service
	Volunteer *volunteer.Service
	School    *school.Service
	Consult   *consult.Service
	Alliance  *alliance.Service
	Honours   *honours.Service
	Report    *report.Service
}

// Open opens and migrates the database named by url (SQLite in dataDir when empty) and loads the
// secret from dataDir or SIWEI_SECRET.
func Open(ctx context.Context, url, dataDir string) (*System, error) {
	d, err := db.Open(ctx, url, dataDir)
	if err != nil {
		return nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	secret, err := people.LoadSecret(dataDir)
	if err != nil {
		d.Close()
		return nil, err
	}
	sys, err := New(d, secret)
	if err != nil {
		d.Close()
	}
	return sys, err
}

// New builds the services on an open, migrated database.
func New(d *db.DB, secret []byte) (*System, error) {
	cipher, err := people.NewCipher(secret)
	if err != nil {
		return nil, err
	}
	cat, err := Catalog()
	if err != nil {
		return nil, err
	}
	ps := people.NewService(d, cipher)
	bs := bank.NewService(d, ps)
	ns := notify.NewService(d)
	// Outcomes are written in the default language when they happen, in the pillars' own words.
	ns.T = func(key string, args ...any) string { return cat.T(web.DefaultLang, key, args...) }
	ns.Zone = ps.Zone // the day's digest (每日汇总) is made at the town's hour
	bs.Notify = ns
	as := auth.NewService(d)
	as.DeviceKey, as.DecryptID = cipher.Derive("siwei device cookie"), cipher.Decrypt
	vs := volunteer.NewService(d, ps, bs, ns)
	hs := honours.NewService(d, ps, bs, ns)
	hs.T = ns.T
	sys := &System{DB: d, People: ps, Auth: as, Bank: bs, Notify: ns, Volunteer: vs,
		School: school.NewService(d, ps, bs, ns), Consult: consult.NewService(d, ps, bs, ns, vs), Alliance: alliance.NewService(d, ps, bs, ns, vs), Honours: hs,
		Report: report.NewService(d, ps)}
	sys.Report.Consult = sys.Consult
	return sys, nil
}

// Pillars are the parts the app is built of, the registry first. A new pillar is added here, and
// its demo step to DemoSteps.
func (s *System) Pillars() []web.Pillar {
	return []web.Pillar{
		people.Pillar(s.People, s.Auth),
		bank.Pillar(s.Bank),
		notify.Pillar(s.Notify),
		volunteer.Pillar(s.Volunteer),
		school.Pillar(s.School),
		consult.Pillar(s.Consult),
		alliance.Pillar(s.Alliance),
		honours.Pillar(s.Honours),
		report.Pillar(s.Report),
	}
}

// DemoSteps give the demo town each pillar's data, in order: the bank first, whose rule sets the
// other pillars pay under; 微协商 after 微志愿, whose needs its care visits file; the public side's
// flags and 文明大户 lists last, over the points, hours and lessons every other step left.
var DemoSteps = []demo.Step{demo.Bank, demo.Volunteer, demo.School, demo.Consult, demo.AllianceUnits, demo.AllianceLists, demo.AllianceActivities, demo.AllianceDonations, demo.AllianceDisputes, demo.HonoursWall, demo.HonoursRounds, demo.HonoursActions, demo.HonoursContests, demo.HonoursFlags}

// Demo builds the demo town with o, unless it exists, and runs every pillar's demo step on it.
func (s *System) Demo(ctx context.Context, o demo.Options) (demo.Info, error) {
	info, err := demo.Ensure(ctx, s.DB, s.People, s.Auth, o)
	if err != nil {
		return info, err
	}
	for _, step := range DemoSteps {
		if err := step(ctx, s.DB, s.People, info, o.Seed); err != nil {
			return info, err
		}
	}
	// The logins the steps made, for the list the demo prints.
	for _, a := range demo.StepAccounts() {
		var n int
		if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE phone = $1`, a.Phone).Scan(&n); err != nil {
			return info, err
		}
		if n > 0 && !slices.ContainsFunc(info.Accounts, func(b demo.Account) bool { return b.Phone == a.Phone }) {
			info.Accounts = append(info.Accounts, a)
		}
	}
	return info, s.DB.Analyze(ctx)
}

// Catalog is the message catalog of web and every pillar, for what reads messages without an app
// (the command line).
func Catalog() (web.Catalog, error) { return catalog((&System{}).Pillars()) }

func catalog(pillars []web.Pillar) (web.Catalog, error) {
	var messages []fs.FS
	for _, p := range pillars {
		messages = append(messages, p.Messages)
	}
	return web.LoadCatalog(messages...)
}

// Close closes the database.
func (s *System) Close() error { return s.DB.Close() }

// App builds the web application with every route registered.
func (s *System) App(log *slog.Logger) (*web.App, error) {
	pillars := s.Pillars()
	cat, err := catalog(pillars)
	if err != nil {
		return nil, err
	}
	app := web.New(cat, s.Auth, log)
	app.Zone = s.People.Zone
	app.SetOps(web.Ops{Ping: func(ctx context.Context) error { return s.DB.Read().PingContext(ctx) }, DBStats: s.DB.Stats})
	app.RegisterSession()
	for _, p := range pillars {
		app.Plug(p)
	}
	return app, nil
}

// Handler is App(log).Handler(), for tests.
func (s *System) Handler(log *slog.Logger) (http.Handler, error) {
	app, err := s.App(log)
	if err != nil {
		return nil, err
	}
	return app.Handler(), nil
}
