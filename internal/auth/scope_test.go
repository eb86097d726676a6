package auth_test

import (
	"database/sql"
	"slices"
	"strings"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/errs"
)

// bare adds an account with neither a grant nor a resident record: a district admin's alone.
func (f *fixture) bare(t *testing.T) int64 {
	t.Helper()
	return f.account(t, "13800000030", "无角色", 0)
}

// account adds an account with the fixture password, a resident record (0 for none) and grants.
func (f *fixture) account(t *testing.T, phone, name string, resident int64, grants ...auth.Grant) int64 {
	t.Helper()
	var id int64
	err := f.d.Tx(f.ctx, func(tx *sql.Tx) error {
		var err error
		if id, err = f.as.InsertAccount(f.ctx, tx, phone, name, resident, testHash, false); err != nil {
			return err
		}
		for _, g := range grants {
			if err := f.as.InsertGrant(f.ctx, tx, id, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestAccountScope: staff reach an account (list, reset, grant, revoke) only when every grant it
// holds and its resident record lie within their scope; elsewhere it is as missing as an account
// that does not exist.
func TestAccountScope(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		townAdmin, v1Admin := f.actorOf(t, townAdminPhone), f.actorOf(t, v1AdminPhone)
		v2Admin := f.actorOf(t, f.phoneOf(t, f.account(t, "13800000003", "东堡村书记", 0, auth.Grant{Role: auth.VillageAdmin, TownID: f.town, VillageID: f.v2})))
		// The account 9: made by 前疃村's admin with a resident grant and no record.
		noRecord := f.account(t, "13800000031", "无档案村民", 0, auth.Grant{Role: auth.ResidentRole, TownID: f.town, VillageID: f.v1})
		// The state the probe reached: 东堡村's admin had added a 东堡村 grant to a 前疃村 account.
		mixed := f.account(t, "13800000032", "两村", 0, auth.Grant{Role: auth.ResidentRole, TownID: f.town, VillageID: f.v1},
			auth.Grant{Role: auth.ResidentRole, TownID: f.town, VillageID: f.v2})
		// A grant in 前疃村, but the record in 东堡村.
		split := f.account(t, "13800000033", "户在东堡", f.r3, auth.Grant{Role: auth.ResidentRole, TownID: f.town, VillageID: f.v1})
		d.Write().ExecContext(f.ctx, `UPDATE residents SET village_id = $1 WHERE id = $2`, f.v2, f.r3)
		bare := f.bare(t)

		cases := []struct {
			name    string
			actor   *auth.Actor
			account int64
			listed  bool
		}{
			{"NoRecordByOwnVillage", v1Admin, noRecord, true},
			{"NoRecordByOtherVillage", v2Admin, noRecord, false},
			{"NoRecordByTown", townAdmin, noRecord, true},
			{"MixedByVillage", v1Admin, mixed, false},
			{"MixedByOtherVillage", v2Admin, mixed, false},
			{"MixedByTown", townAdmin, mixed, true},
			{"SplitByGrantVillage", v1Admin, split, false},
			{"SplitByRecordVillage", v2Admin, split, false},
			{"SplitByTown", townAdmin, split, true},
			{"TownAdminByVillage", v2Admin, f.townAdmin, false},
			{"BareByTown", townAdmin, bare, false},
			{"ResidentByOwnVillage", v1Admin, f.r1Account, true},
			{"ResidentByOtherVillage", v2Admin, f.r1Account, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				list, err := f.as.Accounts(f.ctx, c.actor, "", 1)
				if err != nil {
					t.Fatal(err)
				}
				ids := make([]int64, len(list))
				for i, a := range list {
					ids[i] = a.ID
				}
				if slices.Contains(ids, c.account) != c.listed {
					t.Errorf("listed %v, want %v", !c.listed, c.listed)
				}
				roles, audit := f.count(t, "account_roles"), f.count(t, "audit_log")
				home := homeVillage(c.actor)
				if home == 0 {
					home = f.v1 // the town admin
				}
				err = f.as.Grant(f.ctx, c.actor, c.account, auth.Grant{Role: auth.ResidentRole, VillageID: home})
				if !c.listed {
					wantErr(t, err, errs.NotFound, "error.not_found")
					if f.count(t, "account_roles") != roles || f.count(t, "audit_log") != audit {
						t.Fatal("a refused grant stored something")
					}
					_, err = f.as.ResetPassword(f.ctx, c.actor, c.account)
					wantErr(t, err, errs.NotFound, "error.not_found")
					var grant int64
					if d.Read().QueryRowContext(f.ctx, `SELECT id FROM account_roles WHERE account_id = $1 ORDER BY id LIMIT 1`, c.account).Scan(&grant) == nil {
						_, err = f.as.Revoke(f.ctx, c.actor, grant)
						wantErr(t, err, errs.NotFound, "error.not_found")
					}
					if f.count(t, "account_roles") != roles || f.count(t, "audit_log") != audit {
						t.Fatal("a refused request stored something")
					}
					return
				}
				if err != nil {
					t.Fatalf("grant: %v", err)
				}
				d.Write().ExecContext(f.ctx, `DELETE FROM account_roles WHERE account_id = $1 AND id = (SELECT MAX(id) FROM account_roles WHERE account_id = $1)`, c.account)
			})
		}
		t.Run("ResetNoRecordAcrossVillages", func(t *testing.T) {
			if _, err := f.as.ResetPassword(f.ctx, v2Admin, noRecord); !errs.Is(err, errs.NotFound) {
				t.Fatalf("东堡村 admin reset 前疃村's account: %v", err)
			}
			f.login(t, "13800000031", testPassword)
			if act, err := f.as.ResetPassword(f.ctx, v1Admin, noRecord); err != nil || act.Password == "" {
				t.Fatalf("前疃村 admin: %+v, %v", act, err)
			}
		})
		t.Run("AuditMasksPhone", func(t *testing.T) {
			if _, err := f.as.CreateAccount(f.ctx, v1Admin, auth.AccountInput{Phone: "13812345678", Name: "新村民",
				Grants: []auth.Grant{{Role: auth.ResidentRole, VillageID: f.v1}}}); err != nil {
				t.Fatal(err)
			}
			es := f.audit(t, "account.create")
			if len(es) == 0 || strings.Contains(es[0].Summary, "13812345678") || !strings.Contains(es[0].Summary, "138****5678") {
				t.Fatalf("audit of account.create: %+v", es)
			}
		})
	})
}

// homeVillage is the first village the actor holds a grant in.
func homeVillage(a *auth.Actor) int64 {
	for _, g := range a.Grants {
		if g.VillageID != 0 {
			return g.VillageID
		}
	}
	return 0
}

// phoneOf is an account's phone.
func (f *fixture) phoneOf(t *testing.T, id int64) string {
	t.Helper()
	var p string
	if err := f.d.Read().QueryRowContext(f.ctx, `SELECT phone FROM accounts WHERE id = $1`, id).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return p
}
