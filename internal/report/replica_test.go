package report_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/report"
	"siwei/internal/server/servertest"
)

// TestReadOnlyConnection: with a read-only connection (--db-read) as a role that may only SELECT,
// the dashboard's figures are read through it and equal those read from the primary; the
// connection cannot write, so the command centre's screens never touch the primary's data.
func TestReadOnlyConnection(t *testing.T) {
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skipf("set %s to run it", dbtest.EnvPostgres)
	}
	w := servertest.World(demo.Options{Seed: 1, Residents: 80}, false)
	env := servertest.NewWith(t, dbtest.From(t, db.Postgres, w), demo.Options{Seed: 1, Residents: 80})
	ctx, d := context.Background(), env.Sys.DB
	b := make([]byte, 6)
	rand.Read(b)
	role := "siwei_reader_" + hex.EncodeToString(b)
	for _, q := range []string{`CREATE ROLE ` + role + ` LOGIN`, `GRANT USAGE ON SCHEMA public TO ` + role, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ` + role} {
		if _, err := d.Write().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		d.Write().ExecContext(ctx, `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM `+role)
		d.Write().ExecContext(ctx, `REVOKE ALL ON SCHEMA public FROM `+role)
		d.Write().ExecContext(ctx, `DROP OWNED BY `+role)
		d.Write().ExecContext(ctx, `DROP ROLE `+role)
	})
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	ro, err := db.OpenReplica(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.ExecContext(ctx, `UPDATE towns SET name = name`); err == nil || !strings.Contains(err.Error(), "read-only") && !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("the read-only connection wrote: %v", err)
	}
	sc := report.Scope{Level: report.Town, ID: env.Info.TownID}
	primary, err := env.Sys.Report.Figures(ctx, districtAdmin(), sc, report.ToDate, true)
	if err != nil {
		t.Fatal(err)
	}
	env.Sys.Report.Read = ro
	replica, err := env.Sys.Report.Figures(ctx, districtAdmin(), sc, report.ToDate, true)
	if err != nil {
		t.Fatalf("the figures through the read-only connection: %v", err)
	}
	for _, f := range primary.Figures {
		if g, _ := replica.Figure(f.Key); g.Value != f.Value {
			t.Errorf("%s: %v through the read-only connection, %v from the primary", f.Key, g.Value, f.Value)
		}
	}
	// The pages read through it too: the town's dashboard answers for its admin.
	if status, body := env.Browser(demo.PhoneTownAdmin).Get("/admin/report"); status != 200 || !strings.Contains(body, "开卡数") {
		t.Errorf("the dashboard on the read-only connection: %d", status)
	}
}
