package people_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// TestAuditPageWritesSentences: the audit log writes a stock-in as a sentence with the item's
// name (escaped as HTML, never as \u003c) and a resident's edit with the fields it changed as
// 字段：旧 → 新, codes in words, and shows no raw JSON.
func TestAuditPageWritesSentences(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		ctx := context.Background()
		village := idOfName(t, d, "前疃村")
		addStaff(t, env, "13712340002", "王店员", auth.Shopkeeper, village)
		soap := "肥皂<script>x</script>"
		if st, body := env.Browser(demo.PhoneTownAdmin).PostForm("/admin/bank/items", url.Values{"kind": {"goods"}, "name": {soap}, "price": {"10"}}); st != http.StatusSeeOther {
			t.Fatalf("new item: status %d: %.300s", st, body)
		}
		var item int64
		if err := d.Read().QueryRowContext(ctx, `SELECT id FROM bank_items WHERE name = $1`, soap).Scan(&item); err != nil {
			t.Fatal(err)
		}
		st, body := env.Browser("13712340002").PostForm("/admin/bank/stock", url.Values{"item_id": {strconv.FormatInt(item, 10)},
			"village_id": {strconv.FormatInt(village, 10)}, "quantity": {"50"}, "source": {"purchase"}})
		if st != http.StatusSeeOther {
			t.Fatalf("stock in: status %d: %.300s", st, body)
		}

		var resident int64
		var name, clerk string
		if err := d.Read().QueryRowContext(ctx, `SELECT r.id, r.name FROM residents r JOIN accounts a ON a.resident_id = r.id WHERE a.phone = $1`, demo.PhoneResident).Scan(&resident, &name); err != nil {
			t.Fatal(err)
		}
		if err := d.Read().QueryRowContext(ctx, `SELECT name FROM accounts WHERE phone = $1`, demo.PhoneVillageAdmin).Scan(&clerk); err != nil {
			t.Fatal(err)
		}
		staff := env.API(demo.PhoneVillageAdmin)
		path := "/api/v1/residents/" + strconv.FormatInt(resident, 10)
		for _, patch := range []map[string]any{
			{"care_tags": []string{"alone"}, "party_member": false},
			{"care_tags": []string{"alone", "dibao"}, "party_member": true},
		} {
			if st, body := staff.JSON("PATCH", path, patch, nil); st != http.StatusOK {
				t.Fatalf("patch %v: status %d: %s", patch, st, body)
			}
		}

		admin := env.Browser(demo.PhoneTownAdmin)
		for _, c := range []struct {
			name, q string
			want    []string
		}{
			{"StockIn", "王店员", []string{"王店员 把 肥皂&lt;script&gt;x&lt;/script&gt; 入库 50 件"}},
			{"ResidentEdit", clerk, []string{clerk + " 修改了居民 " + name + " 的信息", "特殊群体：独居 → 独居、低保", "党员：否 → 是"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				st, page := admin.Get("/admin/audit?q=" + url.QueryEscape(c.q))
				if st != http.StatusOK {
					t.Fatalf("status %d: %.300s", st, page)
				}
				for _, w := range c.want {
					if !strings.Contains(page, w) {
						t.Errorf("the page lacks %q: %s", w, auditTable(page))
					}
				}
				for _, never := range []string{`\u003c`, "<script>x", `{&#34;`, `&#34;after&#34;`, `"after"`, "dibao", "daily_care", "#" + strconv.FormatInt(item, 10)} {
					if strings.Contains(page, never) {
						t.Errorf("the page shows %q: %s", never, auditTable(page))
					}
				}
			})
		}
	})
}

// auditTable is the audit page's table, for a failure message.
func auditTable(page string) string {
	if i := strings.Index(page, "<table"); i >= 0 {
		page = page[i:]
	}
	if len(page) > 3000 {
		page = page[:3000]
	}
	return page
}
