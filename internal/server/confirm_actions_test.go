package server_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// TestUndoableActionsAskFirst: 冲正, the counter's 取消兑换, recording a death and a resident's own
// 兑换 first show a page that names what will happen; nothing changes until it is confirmed (with
// a reason, kept in the audit log, except for the resident's own order, which asks for none).
// Staff of another village or town get 404, not the question; other status changes do not ask.
func TestUndoableActionsAskFirst(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80, SecondTown: true}, true, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		q := env.Sys.DB.Read()
		count := func(query string, args ...any) int {
			t.Helper()
			var n int
			if err := q.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		audited := func(action string, id int64, reason string) int {
			t.Helper()
			return count(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND entity_id = $2 AND summary LIKE $3`, action, id, "%"+reason+"%")
		}
		admin, other, town := env.Browser(demo.PhoneVillageAdmin), env.Browser(demo.PhoneVillageAdmin2), env.Browser(demo.PhoneTownAdmin)

		// 冲正: an award to a 前疃村 resident whose balance still holds it.
		var txn, rid, points int64
		var holder, rule string
		if err := q.QueryRowContext(ctx, `SELECT t.id, t.resident_id, p.name, COALESCE(r.name, t.rule_code), t.amount FROM bank_transactions t
			JOIN residents p ON p.id = t.resident_id JOIN villages v ON v.id = p.village_id LEFT JOIN bank_rules r ON r.id = t.rule_id
			JOIN bank_accounts a ON a.resident_id = t.resident_id AND a.kind = 'resident'
			WHERE v.name = '前疃村' AND t.kind = 'award' AND a.balance >= t.amount AND NOT EXISTS (SELECT 1 FROM bank_transactions x WHERE x.reverses_id = t.id)
			ORDER BY t.id LIMIT 1`).Scan(&txn, &rid, &holder, &rule, &points); err != nil {
			t.Fatal(err)
		}
		reversals := func() int {
			return count(`SELECT COUNT(*) FROM bank_transactions WHERE reverses_id = $1`, txn)
		}
		form := url.Values{"transaction_id": {fmt.Sprint(txn)}, "resident_id": {fmt.Sprint(rid)}, "reason": {"录错了人"}}
		for _, c := range []*servertest.Client{admin, env.Browser(demo.PhoneTownAdmin2)} {
			if st, _ := c.PostForm("/admin/bank/ledger/reverse", form); st != 404 {
				t.Errorf("a village's admin or another town's admin reverses: %d, want 404", st)
			}
		}
		st, body := town.PostForm("/admin/bank/ledger/reverse", form)
		if st != 200 || !strings.Contains(body, "冲正这笔账？") || !strings.Contains(body, fmt.Sprintf("冲正 %s 的「%s」%d 分", holder, rule, points)) ||
			!strings.Contains(body, ">录错了人</textarea>") || !strings.Contains(body, `name="confirmed" value="1"`) {
			t.Fatalf("the question: %d %.600s", st, body)
		}
		if reversals() != 0 {
			t.Fatal("asking reversed the transaction")
		}
		form.Set("confirmed", "1")
		form.Set("reason", "")
		if st, _ := town.PostForm("/admin/bank/ledger/reverse", form); st != 422 || reversals() != 0 {
			t.Fatalf("confirmed without a reason: %d, %d reversals", st, reversals())
		}
		form.Set("reason", "核实未参加")
		if st, _ := town.PostForm("/admin/bank/ledger/reverse", form); st != 303 || reversals() != 1 {
			t.Fatalf("confirmed: %d, %d reversals", st, reversals())
		}
		if n := audited("bank.reverse", txn, "核实未参加"); n != 1 {
			t.Errorf("the reversal's reason in the audit log: %d", n)
		}

		// The resident's own 兑换: asked without a reason, placed when confirmed.
		var me, balance int64
		if err := q.QueryRowContext(ctx, `SELECT a.resident_id, b.balance FROM accounts a JOIN bank_accounts b ON b.resident_id = a.resident_id AND b.kind = 'resident'
			WHERE a.phone = $1`, demo.PhoneResident).Scan(&me, &balance); err != nil {
			t.Fatal(err)
		}
		var item, price int64
		var itemName string
		if err := q.QueryRowContext(ctx, `SELECT i.id, i.name, i.price FROM bank_items i JOIN bank_stock s ON s.item_id = i.id JOIN residents p ON p.village_id = s.village_id
			WHERE p.id = $1 AND i.active AND i.kind = 'goods' AND i.classes = '' AND i.villages = '' AND s.quantity > 0 AND i.price <= $2 ORDER BY i.price, i.id LIMIT 1`,
			me, balance).Scan(&item, &itemName, &price); err != nil {
			t.Fatalf("an item the demo resident can pay for (balance %d): %v", balance, err)
		}
		orders := func() int {
			return count(`SELECT COUNT(*) FROM bank_redemptions WHERE resident_id = $1 AND status = 'reserved'`, me)
		}
		before := orders()
		res := env.Browser(demo.PhoneResident)
		order := url.Values{"item_id": {fmt.Sprint(item)}, "quantity": {"1"}, "idempotency_key": {"confirm-test-1"}}
		st, body = res.PostForm("/bank/shop", order)
		if st != 200 || !strings.Contains(body, fmt.Sprintf("用 %d 分兑换 %s？", price, itemName)) || strings.Contains(body, `name="reason"`) ||
			!strings.Contains(body, `name="idempotency_key" value="confirm-test-1"`) || strings.Contains(body, "不能撤回") {
			t.Fatalf("the shop's question: %d %.600s", st, body)
		}
		if orders() != before {
			t.Fatal("asking placed the order")
		}
		order.Set("confirmed", "1")
		if st, _ := res.PostForm("/bank/shop", order); st != 303 || orders() != before+1 {
			t.Fatalf("confirmed: %d, %d orders", st, orders())
		}

		// The counter's 取消兑换 of that order.
		var oid int64
		if err := q.QueryRowContext(ctx, `SELECT id FROM bank_redemptions WHERE idem_key = $1`, fmt.Sprintf("redeem:r%d:confirm-test-1", me)).Scan(&oid); err != nil {
			t.Fatal(err)
		}
		var resident string
		if err := q.QueryRowContext(ctx, `SELECT name FROM residents WHERE id = $1`, me).Scan(&resident); err != nil {
			t.Fatal(err)
		}
		cancel := fmt.Sprintf("/admin/bank/orders/%d/cancel", oid)
		if st, _ := other.PostForm(cancel, url.Values{}); st != 404 {
			t.Errorf("东堡村's admin cancels 前疃村's order: %d, want 404", st)
		}
		st, body = admin.PostForm(cancel, url.Values{"village_id": {"0"}})
		if st != 200 || !strings.Contains(body, "取消这笔兑换？") || !strings.Contains(body, fmt.Sprintf("取消 %s 兑换的 %s × 1：退回 %d 分", resident, itemName, price)) {
			t.Fatalf("the counter's question: %d %.600s", st, body)
		}
		if orders() != before+1 {
			t.Fatal("asking cancelled the order")
		}
		if st, _ := admin.PostForm(cancel, url.Values{"village_id": {"0"}, "confirmed": {"1"}, "reason": {"本人不要了"}}); st != 303 || orders() != before {
			t.Fatalf("confirmed: %d, %d orders", st, orders())
		}
		if n := audited("bank.cancel", oid, "本人不要了"); n != 1 {
			t.Errorf("the cancel's reason in the audit log: %d", n)
		}

		// 变更状态: only a death asks first.
		day := time.Now().AddDate(0, 0, -2).Format("2006-01-02")
		var dead, gone int64
		var deadName string
		rows, err := q.QueryContext(ctx, `SELECT p.id, p.name FROM residents p JOIN villages v ON v.id = p.village_id WHERE v.name = '前疃村' AND p.status = 'active'
			AND p.birth_date < '2000-01-01' AND p.id <> $1 AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.resident_id = p.id) ORDER BY p.id LIMIT 2`, me)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				t.Fatal(err)
			}
			if dead == 0 {
				dead, deadName = id, name
			} else {
				gone = id
			}
		}
		rows.Close()
		if gone == 0 {
			t.Fatal("two 前疃村 residents without accounts")
		}
		status := func(id int64) string {
			var s string
			if err := q.QueryRowContext(ctx, `SELECT status FROM residents WHERE id = $1`, id).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		path := fmt.Sprintf("/admin/residents/%d/status", dead)
		death := url.Values{"status": {"deceased"}, "status_date": {day}}
		if st, _ := other.PostForm(path, death); st != 404 {
			t.Errorf("东堡村's admin records a 前疃村 death: %d, want 404", st)
		}
		st, body = admin.PostForm(path, death)
		if st != 200 || !strings.Contains(body, "登记为死亡？") || !strings.Contains(body, deadName) || !strings.Contains(body, day) {
			t.Fatalf("the death's question: %d %.600s", st, body)
		}
		if status(dead) != "active" {
			t.Fatal("asking recorded the death")
		}
		death.Set("confirmed", "1")
		death.Set("reason", "家属到村委会报告")
		if st, _ := admin.PostForm(path, death); st != 303 || status(dead) != "deceased" {
			t.Fatalf("confirmed: %d, status %s", st, status(dead))
		}
		if n := audited("resident.status", dead, "家属到村委会报告"); n != 1 {
			t.Errorf("the death's reason in the audit log: %d", n)
		}
		if st, _ := admin.PostForm(fmt.Sprintf("/admin/residents/%d/status", gone), url.Values{"status": {"moved_out"}, "status_date": {day}}); st != 303 || status(gone) != "moved_out" {
			t.Errorf("moving out asks nothing: %d, status %s", st, status(gone))
		}
	})
}
