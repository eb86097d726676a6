package bank_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
)

// TestWritersWriteTheSamePostings posts the same transactions through each of the ledger's
// writers — post (group commit), postStatement (one statement, PostgreSQL only) and postMany (the
// bulk award's chunk) — each into a fresh database with the clock fixed, and checks that every
// row they write is the same, column for column: transactions, entries with their hashes,
// account heads and earnings. Awards go through every writer; debits, a reversal and an award
// that leaves its village and household to be looked up go through post and postStatement only,
// as postMany takes awards alone (its database gets them through post).
func TestWritersWriteTheSamePostings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		writers := []string{"post", "many"}
		if d.Engine == db.Postgres {
			writers = append(writers, "statement")
		}
		fresh := func() *db.DB {
			if d.Engine == db.Postgres {
				return dbtest.Postgres(t)
			}
			return dbtest.SQLite(t)
		}
		var want string
		for i, w := range writers {
			dd := d
			if i > 0 {
				dd = fresh()
			}
			got := postThrough(t, dd, w)
			if i == 0 {
				want = got
				continue
			}
			if got != want {
				t.Errorf("%s wrote other rows than %s:\n%s", w, writers[0], diff(want, got))
			}
		}
	})
}

// postThrough posts the test's transactions through writer w on a fresh demo town in d, verifies
// the ledger, and returns every row the postings wrote, one line each.
func postThrough(t *testing.T, d *db.DB, w string) string {
	t.Helper()
	ctx := context.Background()
	cipher, err := people.NewCipher(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ps := people.NewService(d, cipher)
	info, err := demo.Ensure(ctx, d, ps, auth.NewService(d), demo.Options{Residents: 60})
	if err != nil {
		t.Fatal(err)
	}
	bs := bank.NewService(d, ps)
	clock := time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)
	bs.Now = func() time.Time { return clock }

	// Residents drawn on one issuing sub-account, as postMany needs.
	type res struct{ id, village, household int64 }
	var rs []res
	rows, err := d.Read().QueryContext(ctx, `SELECT id, village_id, household_id FROM residents WHERE town_id = $1 AND status = 'active' ORDER BY id`, info.TownID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r res
		if err := rows.Scan(&r.id, &r.village, &r.household); err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 || r.id%bank.IssuingShards == rs[0].id%bank.IssuingShards {
			rs = append(rs, r)
		}
	}
	rows.Close()
	if len(rs) < 3 {
		t.Fatalf("%d residents on one issuing sub-account, want 3", len(rs))
	}
	rs = rs[:3]
	staff := &auth.Actor{AccountID: 7, Name: "镇管理员 \"王\"", ActingFor: &auth.Person{ID: rs[1].id, Name: "李"}}
	period := "2026-03"
	award := func(key string, r res, amount int64, reason string, actor *auth.Actor) bank.Transfer {
		return bank.Transfer{TownID: info.TownID, Kind: "award", Key: key, ResidentID: r.id, VillageID: r.village, HouseholdID: r.household,
			RuleCode: "clean", Amount: amount, Reason: reason, Actor: actor, ApprovedBy: "张三", Earned: amount, Period: period}
	}
	// Two chunks, as a chunk awards each resident once.
	for _, chunk := range [][]bank.Transfer{{
		award("w:1", rs[0], 5, "门前三包 | 打扫", staff),
		award("w:2", rs[1], 20, "quote \" and pipe |", auth.System("system")),
		award("w:3", rs[2], 7, "换行\n后", staff),
	}, {
		award("w:4", rs[0], 3, "", nil),
		award("w:5", rs[1], 1, "again", staff),
	}} {
		if _, err := bs.PostThrough(ctx, w, chunk); err != nil {
			t.Fatal(err)
		}
	}
	var firstTx int64
	if err := d.Read().QueryRowContext(ctx, `SELECT id FROM bank_transactions WHERE idem_key = 'w:1'`).Scan(&firstTx); err != nil {
		t.Fatal(err)
	}
	shop, err := bs.ShopAccount(ctx, rs[0].village)
	if err != nil {
		t.Fatal(err)
	}
	unplaced := award("w:9", rs[2], 4, "looked up", staff)
	unplaced.VillageID, unplaced.HouseholdID = 0, 0
	then := []bank.Transfer{
		{TownID: info.TownID, Kind: "redeem", Key: "w:6", ResidentID: rs[0].id, Amount: -6, Counter: shop, Reason: "洗衣液 ×1", Actor: staff},
		{TownID: info.TownID, Kind: "reversal", Key: "w:7", ResidentID: rs[0].id, Amount: -2, Reason: "撤销", ReversesID: firstTx, Actor: staff,
			Earned: -2, Period: period},
		{TownID: info.TownID, Kind: "refund", Key: "w:8", ResidentID: rs[0].id, Amount: 6, Counter: shop, Reason: "退货", Actor: staff},
		unplaced,
	}
	if w == "many" {
		w = "post"
	}
	if _, err := bs.PostThrough(ctx, w, then); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, bs)

	var b strings.Builder
	for _, q := range []string{
		`SELECT * FROM bank_transactions ORDER BY id`,
		`SELECT * FROM bank_entries ORDER BY id`,
		`SELECT id, kind, balance, seq, head_hash, earned FROM bank_accounts ORDER BY id`,
		`SELECT * FROM bank_earnings ORDER BY resident_id, period`,
	} {
		dump(t, d, q, &b)
	}
	return b.String()
}

// dump writes the rows of q, one line each, with their column names.
func dump(t *testing.T, d *db.DB, q string, b *strings.Builder) {
	t.Helper()
	rows, err := d.Read().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		b.WriteString(q[:strings.Index(q, " ORDER")])
		for i, v := range vals {
			switch x := v.(type) {
			case []byte:
				v = string(x)
			case time.Time:
				v = x.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(b, " %s=%v", cols[i], v)
		}
		b.WriteByte('\n')
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("%s: no rows", q)
	}
}

// diff lists the lines of a and b that differ.
func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			fmt.Fprintf(&out, "- %s\n+ %s\n", x, y)
		}
	}
	return out.String()
}
