// Package server assembles siwei from its parts: the database, the services and the web app with
// every pillar's routes. The binary and the end-to-end tests build the same thing through it.
package server

import (
	"context"
	"log/slog"
	"net/http"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/notify"
	"siwei/internal/people"
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
	ps := people.NewService(d, cipher)
	bs := bank.NewService(d, ps)
	ns := notify.NewService(d)
	as := auth.NewService(d)
	as.DeviceKey, as.DecryptID = cipher.Derive("siwei device cookie"), cipher.Decrypt
	return &System{DB: d, People: ps, Auth: as, Bank: bs, Notify: ns, Volunteer: volunteer.NewService(d, ps, bs, ns)}, nil
}

// Close closes the database.
func (s *System) Close() error { return s.DB.Close() }

// App builds the web application with every route registered.
func (s *System) App(log *slog.Logger) (*web.App, error) {
	cat, err := web.LoadCatalog(people.Messages, bank.Messages, notify.Messages, volunteer.Messages)
	if err != nil {
		return nil, err
	}
	app := web.New(cat, s.Auth, log)
	app.Zone = s.People.Zone
	app.SetOps(web.Ops{Ping: func(ctx context.Context) error { return s.DB.Read().PingContext(ctx) }, DBStats: s.DB.Stats})
	app.RegisterSession()
	(&people.Handlers{S: s.People, Auth: s.Auth, App: app, Unread: s.Notify.Unread}).Register()
	(&bank.Handlers{S: s.Bank, App: app}).Register()
	(&notify.Handlers{S: s.Notify, App: app}).Register()
	(&volunteer.Handlers{S: s.Volunteer, App: app}).Register()
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
