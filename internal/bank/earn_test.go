package bank_test

import (
	"database/sql"
	"fmt"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
)

// TestEarn: a team leader of 前疃村 pays a batch of events through Earn under volunteer.pay, held
// in the village; each earning is admitted as a staff award (rule of the resident's class, notice,
// nobody paying themself), stands on its own, and replays under its key. Staff of another village
// and residents learn nothing, and keys outside a paying pillar's namespace are refused.
func TestEarn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newClaimEnv(t, d)
		// The party member of 前疃村 leads one of its teams.
		if err := d.Tx(e.ctx, func(tx *sql.Tx) error {
			return e.as.InsertGrant(e.ctx, tx, e.party.AccountID, auth.Grant{Role: auth.TeamLeader, TownID: e.town.ID, VillageID: e.qt.ID})
		}); err != nil {
			t.Fatal(err)
		}
		leader := e.login(demo.PhonePartyMember)
		if err := auth.Can(leader, bank.PermAward, auth.Scope{TownID: e.town.ID, VillageID: e.qt.ID}); err == nil {
			t.Fatal("a team leader may award at will; the test needs one who may only pay")
		}
		key := func(what string) string { return fmt.Sprintf("volunteer:shift:7:%s", what) }
		villager := e.resident.ResidentID
		cases := []struct {
			name string
			in   bank.Earning
			want string // the refusal; "" posted, "pending" on notice
		}{
			{"OK", bank.Earning{Key: key("ok"), ResidentID: villager, RuleCode: "quick", Reason: "值守"}, ""},
			{"Pending", bank.Earning{Key: key("notice"), ResidentID: villager, RuleCode: "notice", Reason: "值守"}, "pending"},
			{"Pending minor", bank.Earning{Key: key("minor"), ResidentID: e.minor.ID, RuleCode: "study", Reason: "值守"}, "pending"},
			{"ErrSelf", bank.Earning{Key: key("self"), ResidentID: e.party.ResidentID, RuleCode: "lead", Reason: "值守"}, "forbidden bank.self_approval"},
			{"ErrOtherVillage", bank.Earning{Key: key("dp"), ResidentID: e.dpPerson, RuleCode: "quick", Reason: "值守"}, "not_found error.not_found"},
			{"ErrUnknownResident", bank.Earning{Key: key("nobody"), ResidentID: 1 << 40, RuleCode: "quick", Reason: "值守"}, "not_found bank.resident_unknown"},
			{"ErrRuleUnknown", bank.Earning{Key: key("rule"), ResidentID: villager, RuleCode: "lead", Reason: "值守"}, "invalid bank.rule_unknown rule_code:bank.rule_unknown"},
			{"ErrBankKey", bank.Earning{Key: "acct:1:x", ResidentID: villager, RuleCode: "quick", Reason: "值守"}, "invalid error.invalid idempotency_key:bank.key_invalid"},
			{"ErrNoPayingPillar", bank.Earning{Key: "museum:visit:1", ResidentID: villager, RuleCode: "quick", Reason: "值守"}, "invalid error.invalid idempotency_key:bank.key_invalid"},
			{"ErrKeyTwice", bank.Earning{Key: key("ok"), ResidentID: villager, RuleCode: "quick", Reason: "值守"}, "conflict bank.key_reused idempotency_key:bank.key_reused"},
			{"ErrReasonRequired", bank.Earning{Key: key("reason"), ResidentID: villager, RuleCode: "quick"}, "invalid error.invalid reason:field.required"},
		}
		batch := make([]bank.Earning, len(cases))
		for i, c := range cases {
			batch[i] = c.in
		}
		before := e.balance(villager)
		first, err := e.bs.Earn(e.ctx, leader, batch)
		if err != nil || len(first) != len(cases) {
			t.Fatalf("earn: %d results, %v", len(first), err)
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got := first[i]
				switch c.want {
				case "":
					if got.Err != nil || got.TransactionID == 0 || got.Pending != nil {
						t.Errorf("got %+v, %v; want posted", got.AwardResult, got.Err)
					}
				case "pending":
					if got.Err != nil || got.Pending == nil || got.TransactionID != 0 {
						t.Errorf("got %+v, %v; want on notice", got.AwardResult, got.Err)
					}
				default:
					wantClaimRefusal(t, c.name, got.Err, c.want)
				}
			})
		}
		if got := e.balance(villager); got != before+3 {
			t.Errorf("balance %d, want %d", got, before+3)
		}
		// Paid again: the first results, nothing posted.
		again, err := e.bs.Earn(e.ctx, leader, batch[:3])
		if err != nil || again[0].Err != nil || again[0].TransactionID != first[0].TransactionID || !again[0].Replayed ||
			again[1].Pending == nil || again[1].Pending.ID != first[1].Pending.ID {
			t.Errorf("replay: %+v, %v", again, err)
		}
		if got := e.balance(villager); got != before+3 {
			t.Errorf("balance after replay %d, want %d", got, before+3)
		}
		// Another village's staff, and a resident, may not pay 前疃村's volunteers; nobody logged
		// in is refused outright.
		for _, a := range []*auth.Actor{e.dpAdmin, e.resident} {
			res, err := e.bs.Earn(e.ctx, a, []bank.Earning{{Key: key("x"), ResidentID: e.party.ResidentID, RuleCode: "lead", Reason: "值守"}})
			if err != nil {
				t.Fatal(err)
			}
			wantClaimRefusal(t, a.Name, res[0].Err, "not_found error.not_found")
		}
		_, err = e.bs.Earn(e.ctx, nil, batch)
		wantClaimRefusal(t, "anonymous", err, "unauthorized error.unauthorized")
	})
}
