package bank_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// ledgerEnv is a demo town with rules and a shop, and actors logged in as the demo accounts.
type ledgerEnv struct {
	d                    *db.DB
	bs                   *bank.Service
	ps                   *people.Service
	town                 int64
	townAdmin, qiantuan  *auth.Actor // town admin, 前疃村 admin
	dongbao              *auth.Actor // 东堡村 admin
	resident             *auth.Actor // 13900000011, a 前疃村 villager
	villagers            []int64     // adult villagers of 前疃村
	item, scarce, single int64       // items: plenty of stock, 1 in stock, limit 1 a day
}

func newLedgerEnv(t testing.TB, d *db.DB) *ledgerEnv {
	t.Helper()
	ctx := context.Background()
	cipher, err := people.NewCipher(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ps := people.NewService(d, cipher)
	as := auth.NewService(d)
	info, err := demo.Ensure(ctx, d, ps, as, demo.Options{Residents: 120})
	if err != nil {
		t.Fatal(err)
	}
	e := &ledgerEnv{d: d, bs: bank.NewService(d, ps), ps: ps, town: info.TownID}
	login := func(phone string) *auth.Actor {
		s, err := as.Login(ctx, phone, demo.DemoPassword, "127.0.0.1", "web")
		if err != nil {
			t.Fatal(err)
		}
		a, err := as.Authenticate(ctx, s.Token)
		if err != nil || a == nil {
			t.Fatal(err)
		}
		return a
	}
	e.townAdmin, e.qiantuan, e.dongbao, e.resident = login(demo.PhoneTownAdmin), login(demo.PhoneVillageAdmin), login(demo.PhoneVillageAdmin2), login(demo.PhoneResident)
	qt, err := ps.VillageByName(ctx, info.TownID, "前疃村")
	if err != nil {
		t.Fatal(err)
	}
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		for _, class := range []people.MemberClass{people.Villager, people.PartyMember, people.Minor} {
			rules := []bank.RuleInput{
				{Code: "clean", Name: "门前三包", Points: 5},
				{Code: "daily", Name: "每日一善", Points: 2, CapPeriod: "day", CapCount: 1},
			}
			if class == people.PartyMember {
				rules = append(rules, bank.RuleInput{Code: "lead", Name: "党员先锋", Points: 20})
			}
			if _, err := e.bs.InsertVersion(ctx, tx, bank.VersionInput{TownID: info.TownID, Class: class, AdoptedBy: "村民代表大会",
				AdoptedOn: "2026-01-05", Resolution: "潞决〔2026〕1号", EffectiveFrom: "2026-01-10", Rules: rules}, 0); err != nil {
				return err
			}
		}
		items := []bank.ItemInput{
			{Kind: "goods", Name: "洗衣液", Price: 3},
			{Kind: "goods", Name: "电饭煲", Price: 5},
			{Kind: "service", Name: "理发", Price: 1, LimitCount: 1, LimitPeriod: "day", Capacity: 100000, CapacityPeriod: "day"},
		}
		ids := []*int64{&e.item, &e.scarce, &e.single}
		qty := []int{100000, 1, 100000}
		for i, in := range items {
			it, err := e.bs.InsertItem(ctx, tx, info.TownID, in)
			if err != nil {
				return err
			}
			*ids[i] = it.ID
			if in.Kind == "service" {
				continue // its places come with it
			}
			if err := e.bs.AddStock(ctx, tx, bank.StockInput{ItemID: it.ID, VillageID: qt.ID, Quantity: qty[i], Source: "purchase"}, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	page, err := ps.Search(ctx, e.townAdmin, people.Filter{VillageID: qt.ID, Status: "", Page: 1})
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now()
	for _, r := range page.Items {
		if r.Class(today) == people.Villager {
			e.villagers = append(e.villagers, r.ID)
		}
	}
	return e
}

// award pays as a clerk who has confirmed that it is no duplicate: these tests are about the
// ledger (caps, races, replays), not about the warning.
func (e *ledgerEnv) award(t testing.TB, resident int64, rule, key string) (bank.AwardResult, error) {
	t.Helper()
	return e.bs.Award(context.Background(), e.qiantuan, bank.AwardInput{ResidentID: resident, RuleCode: rule, Reason: "测试", IdempotencyKey: key, ConfirmDuplicate: true})
}

func mustVerify(t testing.TB, bs *bank.Service) {
	t.Helper()
	rep, err := bs.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verify: %+v", rep.Problems)
	}
}

func keyOf(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Key
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestAwardReplayAndKeyReuse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newLedgerEnv(t, d)
		r := e.resident.ResidentID
		first, err := e.award(t, r, "clean", "test:1")
		if err != nil || first.Balance != 5 || first.Replayed {
			t.Fatalf("first: %+v %v", first, err)
		}
		again, err := e.award(t, r, "clean", "test:1")
		if err != nil || again.TransactionID != first.TransactionID || again.Balance != 5 || !again.Replayed {
			t.Fatalf("replay: %+v %v", again, err)
		}
		_, err = e.bs.Award(context.Background(), e.qiantuan, bank.AwardInput{ResidentID: r, RuleCode: "clean", Reason: "另一个理由", IdempotencyKey: "test:1"})
		if keyOf(err) != "bank.key_reused" {
			t.Fatalf("same key, other content: %v", err)
		}
		b, _ := e.bs.Account(context.Background(), e.resident, r)
		if b.Balance != 5 || b.Earned != 5 {
			t.Fatalf("balance %+v", b)
		}
		mustVerify(t, e.bs)
	})
}

func TestAwardRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newLedgerEnv(t, d)
		ctx := context.Background()
		r := e.resident.ResidentID
		cases := []struct {
			name  string
			actor *auth.Actor
			in    bank.AwardInput
			key   string
		}{
			{"unknown rule", e.qiantuan, bank.AwardInput{ResidentID: r, RuleCode: "nope", Reason: "x", IdempotencyKey: "k1"}, "bank.rule_unknown"},
			{"another class's rule", e.qiantuan, bank.AwardInput{ResidentID: r, RuleCode: "lead", Reason: "x", IdempotencyKey: "k2"}, "bank.rule_unknown"},
			{"no reason", e.qiantuan, bank.AwardInput{ResidentID: r, RuleCode: "clean", IdempotencyKey: "k3"}, "error.invalid"},
			{"bad key", e.qiantuan, bank.AwardInput{ResidentID: r, RuleCode: "clean", Reason: "x", IdempotencyKey: "has space"}, "error.invalid"},
			{"another village's admin", e.dongbao, bank.AwardInput{ResidentID: r, RuleCode: "clean", Reason: "x", IdempotencyKey: "k4"}, "error.not_found"},
			{"a resident", e.resident, bank.AwardInput{ResidentID: r, RuleCode: "clean", Reason: "x", IdempotencyKey: "k5"}, "error.not_found"},
			{"unknown resident", e.qiantuan, bank.AwardInput{ResidentID: 99999999, RuleCode: "clean", Reason: "x", IdempotencyKey: "k6"}, "bank.resident_unknown"},
		}
		for _, c := range cases {
			_, err := e.bs.Award(ctx, c.actor, c.in)
			if keyOf(err) != c.key {
				t.Errorf("%s: %v, want %s", c.name, err, c.key)
			}
		}
		var n int
		d.Read().QueryRow(`SELECT COUNT(*) FROM bank_transactions`).Scan(&n)
		if n != 0 {
			t.Fatalf("refused awards stored %d transactions", n)
		}
		// Zero, negative and huge points are refused when a rule is adopted.
		for _, pts := range []int64{0, -5, bank.MaxPoints + 1} {
			_, err := e.bs.AdoptVersion(ctx, e.townAdmin, bank.VersionInput{TownID: e.town, Class: people.Villager, AdoptedBy: "村民代表大会",
				AdoptedOn: "2026-02-01", EffectiveFrom: "2026-02-01", Rules: []bank.RuleInput{{Code: "x", Name: "x", Points: pts}}})
			if ee, ok := errs.As(err); !ok || len(ee.Fields) == 0 || ee.Fields[0].Key != "bank.points_range" {
				t.Errorf("points %d: %v", pts, err)
			}
		}
	})
}

func TestCapHoldsUnderConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newLedgerEnv(t, d)
		r := e.resident.ResidentID
		var ok, capped atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := e.award(t, r, "daily", fmt.Sprintf("daily:%d", i))
				switch keyOf(err) {
				case "":
					ok.Add(1)
				case "bank.cap_reached":
					capped.Add(1)
				default:
					t.Errorf("award: %v", err)
				}
			}(i)
		}
		wg.Wait()
		if ok.Load() != 1 || capped.Load() != 15 {
			t.Fatalf("cap 1 a day: %d posted, %d capped", ok.Load(), capped.Load())
		}
		mustVerify(t, e.bs)
	})
}

func TestRedemptionsRacingForTheLastPointsAndTheLastItem(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newLedgerEnv(t, d)
		ctx := context.Background()
		r := e.resident.ResidentID
		if _, err := e.award(t, r, "clean", "seed:1"); err != nil { // 5 points
			t.Fatal(err)
		}
		race := func(item int64, tag string) (won int32, keys []string) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			var n atomic.Int32
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					_, err := e.bs.Redeem(ctx, e.resident, bank.RedeemInput{ItemID: item, Quantity: 1, IdempotencyKey: fmt.Sprintf("%s:%d", tag, i)})
					if err == nil {
						n.Add(1)
						return
					}
					mu.Lock()
					keys = append(keys, keyOf(err))
					mu.Unlock()
				}(i)
			}
			wg.Wait()
			return n.Load(), keys
		}
		// The last item: one 电饭煲 (5 points) in stock, 5 points in the account.
		if won, keys := race(e.scarce, "pot"); won != 1 {
			t.Fatalf("last item: %d won (%v)", won, keys)
		}
		// The last points: balance is 0 now; award 3 and race for 洗衣液 at 3.
		if _, err := e.award(t, r, "clean", "seed:2"); err != nil {
			t.Fatal(err)
		}
		won, keys := race(e.item, "soap")
		if won != 1 {
			t.Fatalf("last points: %d won (%v)", won, keys)
		}
		for _, k := range keys {
			// The shop's refusal names the points missing (issue 14).
			if k != "bank.insufficient_by" {
				t.Fatalf("loser got %s, want bank.insufficient_by", k)
			}
		}
		b, _ := e.bs.Account(ctx, e.resident, r)
		if b.Balance != 2 {
			t.Fatalf("balance %d, want 2", b.Balance)
		}
		var stock int
		d.Read().QueryRow(`SELECT quantity FROM bank_stock WHERE item_id = $1`, e.scarce).Scan(&stock)
		if stock != 0 {
			t.Fatalf("stock %d", stock)
		}
		mustVerify(t, e.bs)
	})
}

func TestVerifyFindsEditsBehindTheBanksBack(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newLedgerEnv(t, d)
		for i := 0; i < 3; i++ {
			if _, err := e.award(t, e.resident.ResidentID, "clean", fmt.Sprintf("v:%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		mustVerify(t, e.bs)
		for _, c := range []struct {
			name, edit, undo, check string
		}{
			{"amount", `UPDATE bank_entries SET amount = amount + 1 WHERE id = (SELECT MIN(id) FROM bank_entries)`,
				`UPDATE bank_entries SET amount = amount - 1 WHERE id = (SELECT MIN(id) FROM bank_entries)`, "sum"},
			{"balance", `UPDATE bank_accounts SET balance = balance + 100 WHERE kind = 'resident'`,
				`UPDATE bank_accounts SET balance = balance - 100 WHERE kind = 'resident'`, "balance"},
			{"reason", `UPDATE bank_transactions SET reason = '改过的理由' WHERE id = (SELECT MIN(id) FROM bank_transactions)`,
				`UPDATE bank_transactions SET reason = '测试' WHERE id = (SELECT MIN(id) FROM bank_transactions)`, "chain"},
			{"owner", `UPDATE bank_accounts SET kind = 'shop', shard = 99 WHERE resident_id IS NOT NULL`,
				`UPDATE bank_accounts SET kind = 'resident', shard = 0 WHERE resident_id IS NOT NULL`, "chain"},
			{"hash", `UPDATE bank_entries SET hash = 'x' || hash WHERE id = (SELECT MAX(id) FROM bank_entries)`,
				`UPDATE bank_entries SET hash = SUBSTR(hash, 2) WHERE id = (SELECT MAX(id) FROM bank_entries)`, "chain"},
			{"orphan", `UPDATE bank_entries SET account_id = account_id + 1000000 WHERE id = (SELECT MAX(id) FROM bank_entries)`,
				`UPDATE bank_entries SET account_id = account_id - 1000000 WHERE id = (SELECT MAX(id) FROM bank_entries)`, "orphan"},
		} {
			if _, err := d.Write().Exec(c.edit); err != nil {
				if c.name == "orphan" && d.Engine == db.SQLite && strings.Contains(err.Error(), "FOREIGN KEY") {
					continue // SQLite keeps the foreign key, and refuses the edit itself
				}
				t.Fatal(err)
			}
			rep, err := e.bs.Verify(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range rep.Problems {
				found = found || p.Check == c.check
			}
			if !found {
				t.Errorf("%s: verify reported %+v, want a %q problem", c.name, rep.Problems, c.check)
			}
			if c.undo != "" {
				d.Write().Exec(c.undo)
			}
		}
		mustVerify(t, e.bs)
	})
}

// TestLedgerUnderRandomConcurrentLoad is a Jepsen-style check: 32 clients for a few seconds doing
// random awards, redemptions, cancellations and reversals with random replays; afterwards verify
// passes, the books balance, nothing is below zero, and every replay got its first result.
func TestLedgerUnderRandomConcurrentLoad(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newLedgerEnv(t, d)
		ctx := context.Background()
		if len(e.villagers) < 5 {
			t.Fatalf("only %d villagers", len(e.villagers))
		}
		type first struct {
			tx  int64
			bal int64
		}
		var mu sync.Mutex
		firsts := map[string]first{}
		var orders []int64
		var awards []int64
		var mismatches atomic.Int32
		deadline := time.Now().Add(2 * time.Second)
		var wg sync.WaitGroup
		for c := 0; c < 32; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(c), 99))
				for i := 0; time.Now().Before(deadline); i++ {
					key := fmt.Sprintf("c%d:%d", c, i)
					if rng.IntN(5) == 0 && i > 0 {
						key = fmt.Sprintf("c%d:%d", c, rng.IntN(i)) // a replay of an earlier request
					}
					switch op := rng.IntN(10); {
					case op < 6: // award, to a random villager, with the key's own content so replays are identical
						var k1, k2 int
						fmt.Sscanf(key, "c%d:%d", &k1, &k2)
						res := e.villagers[(k1*7+k2)%len(e.villagers)]
						out, err := e.bs.Award(ctx, e.qiantuan, bank.AwardInput{ResidentID: res, RuleCode: "clean", Reason: "load", IdempotencyKey: "award:" + key, ConfirmDuplicate: true})
						if err != nil {
							t.Errorf("award: %v", err)
							continue
						}
						mu.Lock()
						if f, ok := firsts["award:"+key]; ok {
							if f.tx != out.TransactionID || !out.Replayed {
								mismatches.Add(1)
							}
						} else {
							firsts["award:"+key] = first{out.TransactionID, out.Balance}
							awards = append(awards, out.TransactionID)
						}
						mu.Unlock()
					case op < 8: // a redemption by the demo resident
						r, err := e.bs.Redeem(ctx, e.resident, bank.RedeemInput{ItemID: e.item, Quantity: 1, IdempotencyKey: key})
						if err != nil {
							if keyOf(err) != "bank.insufficient_by" {
								t.Errorf("redeem: %v", err)
							}
							continue
						}
						mu.Lock()
						orders = append(orders, r.ID)
						mu.Unlock()
					case op < 9: // cancel a random order (possibly twice)
						mu.Lock()
						var id int64
						if len(orders) > 0 {
							id = orders[rng.IntN(len(orders))]
						}
						mu.Unlock()
						if id != 0 {
							if _, err := e.bs.CancelRedemption(ctx, e.resident, id); err != nil && keyOf(err) != "bank.order_closed" {
								t.Errorf("cancel: %v", err)
							}
						}
					default: // reverse a random award (possibly twice; refused if the points are spent)
						mu.Lock()
						var id int64
						if len(awards) > 0 {
							id = awards[rng.IntN(len(awards))]
						}
						mu.Unlock()
						if id != 0 {
							_, err := e.bs.Reverse(ctx, e.townAdmin, bank.ReverseInput{TransactionID: id, Reason: "load"})
							if k := keyOf(err); err != nil && k != "bank.already_reversed" && k != "bank.insufficient" {
								t.Errorf("reverse: %v", err)
							}
						}
					}
				}
			}(c)
		}
		// Feed the demo resident so redemptions have points to spend.
		for i := 0; i < 40; i++ {
			e.award(t, e.resident.ResidentID, "clean", fmt.Sprintf("feed:%d", i))
		}
		wg.Wait()
		if mismatches.Load() != 0 {
			t.Fatalf("%d replays did not get their first result", mismatches.Load())
		}
		mustVerify(t, e.bs)
		var residents, issued, redeemed, refunded int64
		d.Read().QueryRow(`SELECT COALESCE(SUM(balance), 0) FROM bank_accounts WHERE kind = 'resident'`).Scan(&residents)
		d.Read().QueryRow(`SELECT COALESCE(SUM(amount), 0) FROM bank_transactions WHERE kind IN ('award', 'claim', 'reversal')`).Scan(&issued)
		d.Read().QueryRow(`SELECT COALESCE(SUM(-amount), 0) FROM bank_transactions WHERE kind = 'redeem'`).Scan(&redeemed)
		d.Read().QueryRow(`SELECT COALESCE(SUM(amount), 0) FROM bank_transactions WHERE kind = 'refund'`).Scan(&refunded)
		if residents != issued-redeemed+refunded {
			t.Fatalf("resident balances %d ≠ issued %d − redeemed %d + refunded %d", residents, issued, redeemed, refunded)
		}
		// The town's figures, read from accounts and orders, agree with the ledger's own sums.
		figs, err := e.bs.TownFigures(ctx, e.townAdmin, e.town)
		if err != nil {
			t.Fatal(err)
		}
		var f bank.Figures
		for _, v := range figs {
			f.Issued, f.Redeemed, f.Refunded, f.Outstanding = f.Issued+v.Issued, f.Redeemed+v.Redeemed, f.Refunded+v.Refunded, f.Outstanding+v.Outstanding
		}
		if f.Issued != issued || f.Redeemed != redeemed || f.Refunded != refunded || f.Outstanding != residents {
			t.Fatalf("figures %+v, ledger issued %d redeemed %d refunded %d outstanding %d", f, issued, redeemed, refunded, residents)
		}
		var neg int
		d.Read().QueryRow(`SELECT COUNT(*) FROM bank_stock WHERE quantity < 0`).Scan(&neg)
		if neg != 0 {
			t.Fatal("negative stock")
		}
		var n int
		d.Read().QueryRow(`SELECT COUNT(*) FROM bank_transactions`).Scan(&n)
		t.Logf("%d transactions, %d awards, %d orders", n, len(awards), len(orders))
		if n < 100 {
			t.Fatalf("only %d transactions in the load test", n)
		}
	})
}
