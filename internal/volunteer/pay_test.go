package volunteer_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/volunteer"
)

// TestATeamLeaderPaysUnderTheirOwnPermission: a team leader of 前疃村, who may not award points at
// will, confirms a shift and its volunteers are paid under the leader's volunteer.pay, with the
// ledger naming the leader's own account; the leader's own sign-up is left unpaid.
func TestATeamLeaderPaysUnderTheirOwnPermission(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ids := e.residents(e.qt, 3)
		const phone = "13900000094"
		if err := d.Tx(e.ctx, func(tx *sql.Tx) error {
			id, err := e.sys.Auth.InsertAccount(e.ctx, tx, phone, "前疃村队长", ids[2], auth.HashPassword(demo.DemoPassword), false)
			if err != nil {
				return err
			}
			return e.sys.Auth.InsertGrant(e.ctx, tx, id, auth.Grant{Role: auth.TeamLeader, TownID: e.town.ID, VillageID: e.qt.ID})
		}); err != nil {
			t.Fatal(err)
		}
		leader := e.login(phone)
		scope := auth.Scope{TownID: e.town.ID, VillageID: e.qt.ID}
		if auth.Can(leader, bank.PermAward, scope) == nil || auth.Can(leader, volunteer.PermPay, scope) != nil {
			t.Fatal("the leader should hold volunteer.pay and not bank.award")
		}
		_, sh := e.post("serve", 5)
		for _, id := range ids[:2] {
			if _, err := e.vs.SignUp(e.ctx, e.volunteerFor(id), sh.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.vs.Register(e.ctx, leader, volunteer.RegisterInput{Consent: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.vs.SignUp(e.ctx, leader, sh.ID); err != nil {
			t.Fatal(err)
		}
		e.later(sh.StartsAt.Sub(e.now()) + 5*time.Minute)
		for _, id := range ids[:2] {
			if _, err := e.vs.Checkin(e.ctx, leader, sh.ID, volunteer.CheckinInput{ResidentID: id, Action: "in"}); err != nil {
				t.Fatal(err)
			}
		}
		e.later(time.Hour)
		res, err := e.vs.Complete(e.ctx, leader, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]volunteer.Signup{}
		for _, su := range res.Signups {
			got[su.ResidentID] = su
		}
		for _, id := range ids[:2] {
			su := got[id]
			if su.Status != volunteer.Attended || su.TransactionID == 0 || su.AwardError != "" {
				t.Errorf("volunteer %d: %+v", id, su)
				continue
			}
			var actor int64
			var name string
			if err := d.Read().QueryRowContext(e.ctx, `SELECT actor_id, actor_name FROM bank_transactions WHERE id = $1 AND idem_key = $2`,
				su.TransactionID, fmt.Sprintf("volunteer:shift:%d:resident:%d", sh.ID, id)).Scan(&actor, &name); err != nil {
				t.Fatal(err)
			}
			if actor != leader.AccountID || name != leader.Name {
				t.Errorf("volunteer %d paid by %d %q, want the leader %d %q", id, actor, name, leader.AccountID, leader.Name)
			}
		}
		if su := got[ids[2]]; su.Status != volunteer.Confirmed || su.TransactionID != 0 {
			t.Errorf("the leader's own sign-up: %+v", su)
		}
	})
}
