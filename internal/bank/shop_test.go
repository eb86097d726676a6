package bank_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/errs"
)

// A service (定制回馈服务) offers its places per period in each village: racing orders take exactly
// the places there are, a cancelled order gives its place back within the period, the next period
// starts again from the capacity, and an order of the last period cancelled in this one gives no
// place back. Goods keep their stock-ins; a service takes none.
func TestServicePlacesComeBackEachPeriod(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newLedgerEnv(t, d)
		var clock atomic.Int64
		clock.Store(time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC).UnixMicro()) // 12:00 in the town
		e.bs.Now = func() time.Time { return time.UnixMicro(clock.Load()).UTC() }
		village := mustVillage(t, e, "前疃村")

		// The input is checked: a service needs its places per period, goods have none.
		for _, in := range []bank.ItemInput{
			{Kind: "service", Name: "理发", Price: 1},
			{Kind: "service", Name: "理发", Price: 1, Capacity: 2},
			{Kind: "service", Name: "理发", Price: 1, Capacity: 2, CapacityPeriod: "fortnight"},
			{Kind: "service", Name: "理发", Price: 1, Capacity: -1, CapacityPeriod: "month"},
			{Kind: "service", Name: "理发", Price: 1, Capacity: bank.MaxPlaces + 1, CapacityPeriod: "month"},
			{Kind: "goods", Name: "毛巾", Price: 1, Capacity: 2, CapacityPeriod: "month"},
		} {
			if _, err := e.bs.CreateItem(ctx, e.townAdmin, e.town, in); fieldOf(err) != "capacity" {
				t.Fatalf("%+v: %v, want a refusal naming capacity", in, err)
			}
		}
		it, err := e.bs.CreateItem(ctx, e.townAdmin, e.town, bank.ItemInput{Kind: "service", Name: "上门理发", Price: 1, Capacity: 2, CapacityPeriod: "month"})
		if err != nil {
			t.Fatal(err)
		}
		err = e.bs.StockIn(ctx, e.townAdmin, bank.StockInput{ItemID: it.ID, VillageID: village, Quantity: 5, Source: "purchase"})
		if keyOf(err) != "error.invalid" || fieldOf(err) != "item_id" {
			t.Fatalf("stock-in of a service: %v", err)
		}
		places := func(want int) {
			t.Helper()
			items, err := e.bs.Items(ctx, e.town, village)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range items {
				if x.ID == it.ID {
					if x.Stock != want || x.Capacity != 2 || x.CapacityPeriod != "month" {
						t.Fatalf("places %d of %d a %s, want %d of 2 a month", x.Stock, x.Capacity, x.CapacityPeriod, want)
					}
					return
				}
			}
			t.Fatalf("service %d not listed", it.ID)
		}
		places(2)
		if _, err := e.award(t, e.resident.ResidentID, "clean", "seed:places"); err != nil { // 5 points
			t.Fatal(err)
		}
		redeem := func(key string, qty int) (bank.Redemption, error) {
			return e.bs.Redeem(ctx, e.resident, bank.RedeemInput{ItemID: it.ID, Quantity: qty, IdempotencyKey: key})
		}
		if _, err := redeem("too-many", 3); keyOf(err) != "bank.out_of_stock" {
			t.Fatalf("3 of 2 places: %v", err)
		}

		// Eight orders race for two places.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []bank.Redemption
		var lost []string
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := redeem(fmt.Sprintf("race:%d", i), 1)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					lost = append(lost, keyOf(err))
					return
				}
				won = append(won, r)
			}()
		}
		wg.Wait()
		if len(won) != 2 {
			t.Fatalf("%d orders won 2 places (losers: %v)", len(won), lost)
		}
		for _, k := range lost {
			if k != "bank.out_of_stock" {
				t.Fatalf("a loser got %s, want bank.out_of_stock", k)
			}
		}
		places(0)

		// A cancelled order gives its place back within the period.
		if _, err := e.bs.CancelRedemption(ctx, e.resident, won[0].ID); err != nil {
			t.Fatal(err)
		}
		places(1)
		if _, err := redeem("after-cancel", 1); err != nil {
			t.Fatal(err)
		}
		places(0)

		// The next month starts again from the capacity; an order of November cancelled in
		// December gives no place back, which would make three.
		clock.Store(time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC).UnixMicro()) // 09:00 on 1 December in the town
		places(2)
		if _, err := redeem("december", 1); err != nil {
			t.Fatal(err)
		}
		places(1)
		if _, err := e.bs.CancelRedemption(ctx, e.resident, won[1].ID); err != nil {
			t.Fatal(err)
		}
		places(1)
		var quantity int
		var period string
		if err := d.Read().QueryRow(`SELECT quantity, period FROM bank_stock WHERE item_id = $1 AND village_id = $2`, it.ID, village).Scan(&quantity, &period); err != nil {
			t.Fatal(err)
		}
		if quantity != 1 || period != "month:2026-12-01" {
			t.Fatalf("store row: %d places of %q", quantity, period)
		}
		b, err := e.bs.Account(ctx, e.resident, e.resident.ResidentID)
		if err != nil {
			t.Fatal(err)
		}
		if b.Balance != 5-2 { // four orders, two cancelled
			t.Fatalf("balance %d, want 3", b.Balance)
		}
		mustVerify(t, e.bs)
	})
}

func mustVillage(t *testing.T, e *ledgerEnv, name string) int64 {
	t.Helper()
	v, err := e.ps.VillageByName(context.Background(), e.town, name)
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}

// fieldOf is the first field a refusal names.
func fieldOf(err error) string {
	if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
		return e.Fields[0].Field
	}
	return ""
}

// An item may be limited to some villages of the town: residents of the others may not redeem it
// (refused by name, nothing stored), and a village of another town, or none at all, is refused.
func TestItemsLimitedToVillages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newLedgerEnv(t, d)
		qiantuan, dongbao := mustVillage(t, e, "前疃村"), mustVillage(t, e, "东堡村")
		for _, vs := range [][]int64{{999_999}, {0}, {dongbao, -1}} {
			_, err := e.bs.CreateItem(ctx, e.townAdmin, e.town, bank.ItemInput{Kind: "goods", Name: "围巾", Price: 1, Villages: vs})
			if fieldOf(err) != "villages" {
				t.Fatalf("villages %v: %v, want a refusal naming villages", vs, err)
			}
		}
		elsewhere, err := e.bs.CreateItem(ctx, e.townAdmin, e.town, bank.ItemInput{Kind: "goods", Name: "围巾", Price: 1, Villages: []int64{dongbao}})
		if err != nil {
			t.Fatal(err)
		}
		here, err := e.bs.CreateItem(ctx, e.townAdmin, e.town, bank.ItemInput{Kind: "service", Name: "上门理发", Price: 1, Villages: []int64{qiantuan, dongbao},
			Capacity: 5, CapacityPeriod: "week"})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.bs.StockIn(ctx, e.townAdmin, bank.StockInput{ItemID: elsewhere.ID, VillageID: qiantuan, Quantity: 5, Source: "purchase"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.award(t, e.resident.ResidentID, "clean", "seed:villages"); err != nil {
			t.Fatal(err)
		}
		before, _ := e.bs.Account(ctx, e.resident, e.resident.ResidentID)
		_, err = e.bs.Redeem(ctx, e.resident, bank.RedeemInput{ItemID: elsewhere.ID, Quantity: 1, IdempotencyKey: "villages:1"})
		if keyOf(err) != "bank.item_not_for_village" || fieldOf(err) != "item_id" {
			t.Fatalf("another village's item: %v", err)
		}
		after, _ := e.bs.Account(ctx, e.resident, e.resident.ResidentID)
		var orders int
		d.Read().QueryRow(`SELECT COUNT(*) FROM bank_redemptions WHERE item_id = $1`, elsewhere.ID).Scan(&orders)
		if after.Balance != before.Balance || orders != 0 {
			t.Fatalf("a refused order stored something: balance %d → %d, %d orders", before.Balance, after.Balance, orders)
		}
		if _, err := e.bs.Redeem(ctx, e.resident, bank.RedeemInput{ItemID: here.ID, Quantity: 1, IdempotencyKey: "villages:2"}); err != nil {
			t.Fatalf("an item of the resident's village: %v", err)
		}
		items, err := e.bs.Items(ctx, e.town, qiantuan)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.ID == elsewhere.ID && (it.ForVillage(qiantuan) || !it.ForVillage(dongbao) || len(it.Villages) != 1) {
				t.Fatalf("listed villages %v", it.Villages)
			}
		}
		mustVerify(t, e.bs)
	})
}
