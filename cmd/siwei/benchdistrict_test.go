package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/people"
)

// TestBenchDistrict loads a tiny district and measures it: the residents and entries asked for
// are there, every transaction's entries sum to zero, the earnings agree with the entries, the
// chains verify as the bank checks them, and every measurement answers without an error.
func TestBenchDistrict(t *testing.T) {
	server := os.Getenv(dbtest.EnvPostgres)
	if server == "" {
		t.Skipf("set %s to run the district bench on PostgreSQL", dbtest.EnvPostgres)
	}
	var out strings.Builder
	o := districtOptions{PG: server, Towns: 2, Residents: 2000, Entries: 20_000, Clients: 2, Duration: time.Second, MaxLoad: 10 * time.Minute, Keep: true, Seed: 7}
	res, err := runDistrictBench(context.Background(), o, &out)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	var dbURL string
	for _, line := range strings.Split(out.String(), "\n") {
		if u, ok := strings.CutPrefix(line, "database kept: "); ok {
			dbURL = u
		}
	}
	if dbURL == "" {
		t.Fatalf("no database kept:\n%s", out.String())
	}
	defer dropBenchDB(server, dbURL)
	if res.Counts["residents"] != 2000 || res.Counts["bank_entries"] != 20_000 || res.Counts["bank_transactions"] != 10_000 {
		t.Errorf("loaded %v", res.Counts)
	}
	for _, k := range districtKinds {
		st := res.Stats[k.kind]
		if st.Requests == 0 || st.Errors != 0 || st.P50 <= 0 || st.P99 < st.P50 {
			t.Errorf("%s: %+v", k.kind, st)
		}
	}

	d, err := db.Open(context.Background(), dbURL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	q := d.Read()
	count := func(name, query string) int64 {
		t.Helper()
		var n int64
		if err := q.QueryRow(query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return n
	}
	if n := count("residents", `SELECT COUNT(*) FROM residents`); n != 2000 {
		t.Errorf("%d residents", n)
	}
	if n := count("unbalanced", `SELECT COUNT(*) FROM (SELECT transaction_id FROM bank_entries GROUP BY transaction_id HAVING SUM(amount) <> 0 OR COUNT(*) <> 2) x`); n != 0 {
		t.Errorf("%d transactions do not sum to zero in two entries", n)
	}
	// The awards of the measurement are in both; the earnings of each resident and month are the
	// resident's entries of the month.
	if n := count("earnings", `SELECT COUNT(*) FROM (SELECT e.resident_id, e.period, e.points, COALESCE(x.pts, 0) AS pts FROM bank_earnings e
		FULL JOIN (SELECT t.resident_id, t.period, SUM(n.amount) AS pts FROM bank_entries n JOIN bank_accounts a ON a.id = n.account_id AND a.kind = 'resident'
			JOIN bank_transactions t ON t.id = n.transaction_id GROUP BY t.resident_id, t.period) x ON x.resident_id = e.resident_id AND x.period = e.period
		WHERE e.points IS DISTINCT FROM x.pts) y`); n != 0 {
		t.Errorf("%d earnings rows disagree with the entries", n)
	}
	for _, table := range []string{"volunteer_shifts", "volunteer_signups", "school_lessons", "attend_months", "consult_meetings", "consult_topics",
		"consult_referrals", "alliance_units", "alliance_activities", "dispute_cases", "honours_wall", "accounts", "bank_cards"} {
		if n := count(table, `SELECT COUNT(*) FROM `+table); n == 0 {
			t.Errorf("%s is empty", table)
		}
	}
	// Who was active in each month is in active_periods, filled after the load without triggers.
	if n := count("active months", `SELECT COUNT(*) FROM (SELECT resident_id, period, TRUE AS earned FROM bank_earnings WHERE points > 0
		UNION SELECT resident_id, month, FALSE FROM attend_months) x
		WHERE NOT EXISTS (SELECT 1 FROM active_periods a WHERE a.resident_id = x.resident_id AND a.period = x.period AND (a.earned OR NOT x.earned))`); n != 0 {
		t.Errorf("%d active months are missing from active_periods", n)
	}
	ps := people.NewService(d, nil)
	rep, err := bank.NewService(d, ps).Verify(context.Background())
	if err != nil || !rep.OK() {
		t.Errorf("verify: %v %+v", err, rep)
	}
}
