package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// The account routes of issue 11: items 1 (password reset across villages), 6 (grants to foreign
// accounts), 14 (403 for another village's record, 404 for a missing one) and the audit detail of
// account.create (15).

// idOf reads one id; the test fails if there is none.
func idOf(t *testing.T, d *db.DB, q string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := d.Read().QueryRowContext(context.Background(), q, args...).Scan(&id); err != nil {
		t.Fatalf("%s %v: %v", q, args, err)
	}
	return id
}

func villageID(t *testing.T, d *db.DB, name string) int64 {
	return idOf(t, d, `SELECT id FROM villages WHERE name = $1`, name)
}

func accountID(t *testing.T, d *db.DB, phone string) int64 {
	return idOf(t, d, `SELECT id FROM accounts WHERE phone = $1`, phone)
}

// passwordHash is an account's stored hash, to tell whether a refused reset changed it.
func passwordHash(t *testing.T, d *db.DB, id int64) string {
	t.Helper()
	var h string
	if err := d.Read().QueryRowContext(context.Background(), `SELECT password_hash FROM accounts WHERE id = $1`, id).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// grantCount counts an account's grants.
func grantCount(t *testing.T, d *db.DB, id int64) int {
	t.Helper()
	var n int
	if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM account_roles WHERE account_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestResetAcrossVillages is item 1: 前疃村's admin opens a resident login with no resident record;
// 东堡村's admin must not reset it and read the one-time password off the slip.
func TestResetAcrossVillages(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		qt := env.Browser(demo.PhoneVillageAdmin)
		st, body := qt.PostForm("/admin/accounts", url.Values{"phone": {"13712340009"}, "name": {"无档案村民"}, "role": {"resident"},
			"village_id": {fmt.Sprint(villageID(t, d, "前疃村"))}})
		if st != http.StatusOK {
			t.Fatalf("前疃村 admin creates the account: %d %.300s", st, body)
		}
		id := accountID(t, d, "13712340009")
		hash := passwordHash(t, d, id)

		dp := env.Browser(demo.PhoneVillageAdmin2)
		st, body = dp.PostForm(fmt.Sprintf("/admin/accounts/%d/reset", id), nil)
		if st != http.StatusNotFound {
			t.Fatalf("东堡村 admin resets 前疃村's account: %d, want 404 (%.300s)", st, body)
		}
		if passwordHash(t, d, id) != hash {
			t.Fatal("the refused reset changed the password")
		}
		if strings.Contains(body, "无档案村民") || strings.Contains(body, "13712340009") {
			t.Fatal("the refusal names the account")
		}

		// Its own village's admin and the town's still can.
		for _, phone := range []string{demo.PhoneVillageAdmin, demo.PhoneTownAdmin} {
			if st, body := env.Browser(phone).PostForm(fmt.Sprintf("/admin/accounts/%d/reset", id), nil); st != http.StatusOK {
				t.Fatalf("%s resets: %d %.300s", phone, st, body)
			}
		}
	})
}

// TestGrantToForeignAccount is item 6: 东堡村's admin attached resident@东堡村 grants to accounts of
// the town and of 前疃村, and then saw them listed with their phones.
func TestGrantToForeignAccount(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		dpVillage := fmt.Sprint(villageID(t, d, "东堡村"))
		dp := env.Browser(demo.PhoneVillageAdmin2)
		for _, phone := range []string{demo.PhoneTownAdmin, demo.PhoneVillageAdmin, demo.PhoneResident, demo.PhonePartyMember} {
			id := accountID(t, d, phone)
			n := grantCount(t, d, id)
			st, body := dp.PostForm(fmt.Sprintf("/admin/accounts/%d/grants", id), url.Values{"role": {"resident"}, "village_id": {dpVillage}})
			if st != http.StatusNotFound {
				t.Errorf("东堡村 admin grants resident@东堡村 to %s: %d, want 404 (%.200s)", phone, st, body)
			}
			if grantCount(t, d, id) != n {
				t.Errorf("%s: the refused grant was stored", phone)
			}
		}
		// Were such a grant there already (made before the fix), the list still leaves the
		// account out: it is not wholly 东堡村's.
		town := accountID(t, d, demo.PhoneTownAdmin)
		if _, err := d.Write().ExecContext(context.Background(), `INSERT INTO account_roles (account_id, role, town_id, village_id, created_at)
			VALUES ($1, 'resident', $2, $3, $4)`, town, env.Info.TownID, dpVillage, db.Now()); err != nil {
			t.Fatal(err)
		}
		st, body := dp.Get("/admin/accounts")
		if st != http.StatusOK {
			t.Fatalf("list: %d", st)
		}
		for _, phone := range []string{demo.PhoneTownAdmin, demo.PhoneVillageAdmin, demo.PhoneResident, demo.PhonePartyMember} {
			if strings.Contains(body, phone) {
				t.Errorf("东堡村 admin's list shows %s", phone)
			}
		}
		if !strings.Contains(body, demo.PhoneVillageAdmin2) {
			t.Error("东堡村 admin's list leaves out their own account")
		}
		if _, body := env.Browser(demo.PhoneTownAdmin).Get("/admin/accounts"); !strings.Contains(body, demo.PhoneTownAdmin) {
			t.Error("the town admin's list leaves out an account of the town")
		}
	})
}

// TestAccountRoutesHideExistence is item 14: on the account and office routes, another village's
// record answers exactly as a missing one does.
func TestAccountRoutesHideExistence(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		ctx := context.Background()
		party := accountID(t, d, demo.PhonePartyMember)
		neighbour := idOf(t, d, `SELECT resident_id FROM accounts WHERE id = $1`, party)
		grant := idOf(t, d, `SELECT id FROM account_roles WHERE account_id = $1`, party)
		qtVillage := fmt.Sprint(villageID(t, d, "前疃村"))
		dp := env.Browser(demo.PhoneVillageAdmin2)
		cases := []struct {
			name, path, missing string
			form                url.Values
		}{
			{"Office", fmt.Sprintf("/admin/office/%d", neighbour), "/admin/office/999999", nil},
			{"Reset", fmt.Sprintf("/admin/accounts/%d/reset", party), "/admin/accounts/999999/reset", nil},
			{"Grant", fmt.Sprintf("/admin/accounts/%d/grants", party), "/admin/accounts/999999/grants", url.Values{"role": {"reviewer"}, "village_id": {qtVillage}}},
			{"GrantResident", fmt.Sprintf("/admin/accounts/%d/grants", party), "/admin/accounts/999999/grants", url.Values{"role": {"resident"}, "village_id": {qtVillage}}},
			{"Revoke", fmt.Sprintf("/admin/grants/%d/delete", grant), "/admin/grants/999999/delete", nil},
			{"ResidentAccount", fmt.Sprintf("/admin/residents/%d/account", neighbour), "/admin/residents/999999/account", nil},
			{"CreateInOtherVillage", "/admin/accounts", "/admin/accounts", nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				form, missingForm := c.form, c.form
				if c.name == "CreateInOtherVillage" {
					form = url.Values{"phone": {"13712340010"}, "name": {"甲"}, "role": {"resident"}, "village_id": {qtVillage}}
					missingForm = url.Values{"phone": {"13712340010"}, "name": {"甲"}, "role": {"resident"}, "village_id": {"999999"}}
				}
				st, _ := dp.PostForm(c.path, form)
				st2, _ := dp.PostForm(c.missing, missingForm)
				if st != http.StatusNotFound || st2 != http.StatusNotFound {
					t.Errorf("another village's: %d, a missing one: %d; want 404 for both", st, st2)
				}
			})
		}
		var acting int
		d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE acting_for IS NOT NULL`).Scan(&acting)
		if acting != 0 || grantCount(t, d, party) != 1 {
			t.Errorf("refused requests changed something: %d sessions in office mode, %d grants", acting, grantCount(t, d, party))
		}
	})
}

// TestAuditOfAccountCreateMasksPhone is the audit bullet of item 15: the audit log keeps who got an
// account, not their whole phone number.
func TestAuditOfAccountCreateMasksPhone(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		st, body := env.Browser(demo.PhoneVillageAdmin).PostForm("/admin/accounts", url.Values{"phone": {"13712345678"}, "name": {"审计村民"},
			"role": {"resident"}, "village_id": {fmt.Sprint(villageID(t, d, "前疃村"))}})
		if st != http.StatusOK {
			t.Fatalf("create: %d %.300s", st, body)
		}
		var summary string
		if err := d.Read().QueryRowContext(context.Background(), `SELECT summary FROM audit_log WHERE action = 'account.create' ORDER BY id DESC`).Scan(&summary); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(summary, "13712345678") || !strings.Contains(summary, "137****5678") {
			t.Fatalf("audit summary %s", summary)
		}
		if _, page := env.Browser(demo.PhoneTownAdmin).Get("/admin/audit"); strings.Contains(page, "13712345678") {
			t.Fatal("the audit page shows the whole phone")
		}
	})
}
