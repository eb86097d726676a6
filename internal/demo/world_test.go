package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server"
)

// secret is the key of every system these tests start.
var secret = bytes.Repeat([]byte{5}, 32)

// eachTown runs fn as the subtests "sqlite" and "postgres", each on a fresh copy of the demo town
// built with o and then by build (a pillar's step, say), made once per test binary and engine:
// several tests read the same town without building it again.
func eachTown(t *testing.T, name string, o demo.Options, build func(ctx context.Context, d *db.DB, sys *server.System, info demo.Info) error,
	fn func(t *testing.T, d *db.DB, sys *server.System, info demo.Info)) {
	t.Helper()
	w := dbtest.World{Name: fmt.Sprintf("demo_test %s %+v", name, o), Build: func(ctx context.Context, d *db.DB) error {
		sys, err := server.New(d, secret)
		if err != nil {
			return err
		}
		info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, o)
		if err != nil {
			return err
		}
		return build(ctx, d, sys, info)
	}}
	for _, engine := range []db.Engine{db.SQLite, db.Postgres} {
		t.Run(string(engine), func(t *testing.T) {
			d := dbtest.From(t, engine, w)
			sys, err := server.New(d, secret)
			if err != nil {
				t.Fatal(err)
			}
			info, err := demo.Ensure(context.Background(), d, sys.People, sys.Auth, o)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, d, sys, info)
		})
	}
}

// schoolOnce is the demo town of 100 residents with the 微党校 step run once: the school tests run
// it a second time, which must add nothing.
func schoolOnce(ctx context.Context, d *db.DB, sys *server.System, info demo.Info) error {
	return demo.School(ctx, d, sys.People, info, 3)
}
