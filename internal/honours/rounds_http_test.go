package honours_test

import (
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/honours"
	"siwei/internal/server/servertest"
)

// TestVoteRacesCountOnce: fifty identical votes sent at once by one resident are one vote (one
// 201, the rest answering it with 200), on both engines.
func TestVoteRacesCountOnce(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newRoundWorld(t, env)
		vs := w.villagers(t, w.village)
		n1, n2 := w.nominate(t, vs[0]), w.nominate(t, vs[1])
		d := w.round(t, map[string]any{"village_id": w.village, "nomination_ids": []int64{n1, n2}, "votes_per_voter": 2})
		path := fmt.Sprintf("/api/v1/honours/rounds/%d/votes", d.ID)
		statuses := make([]int, 50)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], _ = w.resident.JSON("POST", path, map[string]any{"nomination_id": n1}, nil)
			}()
		}
		wg.Wait()
		created, replayed := 0, 0
		for _, st := range statuses {
			switch st {
			case http.StatusCreated:
				created++
			case http.StatusOK:
				replayed++
			default:
				t.Errorf("a vote answered %d", st)
			}
		}
		if stored := w.count(t, `SELECT COUNT(*) FROM honours_votes WHERE round_id = $1`, d.ID); created != 1 || replayed != 49 || stored != 1 {
			t.Errorf("%d created, %d replayed, %d stored; want 1, 49, 1", created, replayed, stored)
		}
		var got honours.RoundDetail
		w.resident.JSON("GET", fmt.Sprintf("/api/v1/honours/rounds/%d", d.ID), nil, &got)
		if got.VotesLeft != 1 || !got.Nominees[0].Mine && !got.Nominees[1].Mine || got.Tally {
			t.Errorf("after one vote: %d left, nominees %+v, tally %v", got.VotesLeft, got.Nominees, got.Tally)
		}
	})
}

// TestVoteLimitHoldsUnderRaces: a voter with two votes who sends votes for four nominees at once
// has two, and the third vote sent later is refused; taking one back lets another go in.
func TestVoteLimitHoldsUnderRaces(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newRoundWorld(t, env)
		vs := w.villagers(t, w.village)
		var noms []int64
		for _, r := range vs[:4] {
			noms = append(noms, w.nominate(t, r))
		}
		d := w.round(t, map[string]any{"village_id": w.village, "nomination_ids": noms, "votes_per_voter": 2, "seats": 2})
		path := fmt.Sprintf("/api/v1/honours/rounds/%d/votes", d.ID)
		statuses := make([]int, 40)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], _ = w.party.JSON("POST", path, map[string]any{"nomination_id": noms[i%4]}, nil)
			}()
		}
		wg.Wait()
		refused := 0
		for _, st := range statuses {
			switch st {
			case http.StatusCreated, http.StatusOK:
			case http.StatusConflict:
				refused++
			default:
				t.Errorf("a vote answered %d", st)
			}
		}
		stored := w.count(t, `SELECT COUNT(*) FROM honours_votes WHERE round_id = $1 AND voter_id = $2`, d.ID, w.partyID)
		if stored != 2 || refused < 20 {
			t.Fatalf("%d votes stored, %d refused; want 2 stored, the other two nominees' 20 refused", stored, refused)
		}
		mine := w.ids(t, `SELECT nomination_id FROM honours_votes WHERE round_id = $1 AND voter_id = $2 ORDER BY nomination_id`, d.ID, w.partyID)
		var free int64
		for _, n := range noms {
			if n != mine[0] && n != mine[1] {
				free = n
			}
		}
		if st, body := w.party.JSON("POST", path, map[string]any{"nomination_id": free}, nil); st != http.StatusConflict || !strings.Contains(body, "投完") {
			t.Errorf("a third vote: %d %s, want 409 none left", st, body)
		}
		var ans honours.VoteAnswer
		if st, body := w.party.JSON("DELETE", fmt.Sprintf("%s/%d", path, mine[0]), nil, &ans); st != http.StatusOK || ans.VotesLeft != 1 {
			t.Fatalf("take back: %d %s", st, body)
		}
		if st, body := w.party.JSON("POST", path, map[string]any{"nomination_id": free}, &ans); st != http.StatusCreated || ans.VotesLeft != 0 {
			t.Errorf("vote after taking one back: %d %s", st, body)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM honours_votes WHERE round_id = $1 AND voter_id = $2`, d.ID, w.partyID); n != 2 {
			t.Errorf("%d votes after changing one, want 2", n)
		}
	})
}

// TestVoteRefusals: who may not vote in a village's round is refused and nothing is stored:
// another village's resident and staff (404, as for a round that does not exist), the town's staff
// voting as themselves (403), a resident not among the representatives (403), anyone after the
// close (409), a nominee of another round (404).
func TestVoteRefusals(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newRoundWorld(t, env)
		vs := w.villagers(t, w.village)
		n1 := w.nominate(t, vs[0])
		d := w.round(t, map[string]any{"village_id": w.village, "nomination_ids": []int64{n1}})
		path := fmt.Sprintf("/api/v1/honours/rounds/%d/votes", d.ID)
		elsewhere := w.login(t, w.villagers(t, w.otherVillage)[0])
		vote := map[string]any{"nomination_id": n1}
		for _, c := range []struct {
			name string
			who  *servertest.Client
			want int
		}{
			{"anonymous", env.Anonymous(), 401},
			{"another village's resident", elsewhere, 404},
			{"another village's staff", w.other, 404},
			{"the village's staff as themselves", w.admin, 403},
			{"the town's staff", w.town, 403},
		} {
			if st, body := c.who.JSON("POST", path, vote, nil); st != c.want {
				t.Errorf("%s: %d %s, want %d", c.name, st, body, c.want)
			}
			if st, _ := c.who.JSON("GET", fmt.Sprintf("/api/v1/honours/rounds/%d", d.ID), nil, nil); c.want == 404 && st != 404 {
				t.Errorf("%s sees the round: %d", c.name, st)
			}
		}
		if st, body := w.town.JSON("POST", "/api/v1/honours/rounds", map[string]any{"title": "没有的积分规则", "year": time.Now().Year(), "opens_on": w.day(t, 0), "closes_on": w.day(t, 3),
			"seats": 1, "votes_per_voter": 1, "rule": "votes", "nomination_ids": []int64{n1}, "rule_code": "no-such-rule"}, nil); st != 422 || !strings.Contains(body, "rule_code") {
			t.Errorf("a round paying under an unknown rule: %d %s", st, body)
		}
		other := w.round(t, map[string]any{"village_id": w.village, "nomination_ids": []int64{w.nominate(t, vs[1])}})
		if st, body := w.resident.JSON("POST", path, map[string]any{"nomination_id": other.Nominees[0].NominationID}, nil); st != 404 {
			t.Errorf("a nominee of another round: %d %s", st, body)
		}
		reps := w.round(t, map[string]any{"village_id": w.village, "nomination_ids": []int64{w.nominate(t, vs[2])}, "rule": "representatives", "voter_ids": []int64{w.partyID}})
		rp := fmt.Sprintf("/api/v1/honours/rounds/%d/votes", reps.ID)
		if st, body := w.resident.JSON("POST", rp, map[string]any{"nomination_id": reps.Nominees[0].NominationID}, nil); st != 403 {
			t.Errorf("a resident not among the representatives: %d %s", st, body)
		}
		if st, body := w.party.JSON("POST", rp, map[string]any{"nomination_id": reps.Nominees[0].NominationID}, nil); st != 201 {
			t.Errorf("a representative: %d %s", st, body)
		}
		w.end(t, d.ID)
		if st, body := w.resident.JSON("POST", path, vote, nil); st != 409 {
			t.Errorf("after the close: %d %s", st, body)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM honours_votes WHERE round_id IN ($1, $2)`, d.ID, other.ID); n != 0 {
			t.Errorf("%d votes stored by refused requests", n)
		}
	})
}

// TestAssistedVote: 前疃村's admin, in office mode for a villager at the office, casts the
// villager's vote from the phone page: it is the villager's vote, recorded as assisted by the
// admin's account and name, and the device and address are kept only as keyed hashes.
func TestAssistedVote(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newRoundWorld(t, env)
		vs := w.villagers(t, w.village)
		n1 := w.nominate(t, vs[0])
		d := w.round(t, map[string]any{"village_id": w.village, "nomination_ids": []int64{n1}})
		villager := vs[3]
		admin := env.Browser(demo.PhoneVillageAdmin)
		if st, loc := admin.Submit(fmt.Sprintf("/admin/office/%d", villager), url.Values{}); st != http.StatusSeeOther {
			t.Fatalf("office mode: %d %s", st, loc)
		}
		page := fmt.Sprintf("/honours/rounds/%d", d.ID)
		if st, body := admin.Get(page); st != 200 || !strings.Contains(body, "代办") && !strings.Contains(body, "代 ") {
			t.Fatalf("the voting page in office mode: %d %.300s", st, body)
		}
		if st, loc := admin.Submit(page+"/votes", url.Values{"nomination_id": {fmt.Sprint(n1)}}); st != http.StatusSeeOther || !strings.Contains(loc, "flash.honours_voted") {
			t.Fatalf("assisted vote: %d %s", st, loc)
		}
		var account int64
		var assisted, device, addr string
		if err := env.Sys.DB.Read().QueryRow(`SELECT account_id, assisted_by_name, device, addr FROM honours_votes WHERE round_id = $1 AND voter_id = $2`, d.ID, villager).
			Scan(&account, &assisted, &device, &addr); err != nil {
			t.Fatal(err)
		}
		var adminAccount int64
		var adminName string
		if err := env.Sys.DB.Read().QueryRow(`SELECT id, name FROM accounts WHERE phone = $1`, demo.PhoneVillageAdmin).Scan(&adminAccount, &adminName); err != nil {
			t.Fatal(err)
		}
		if account != adminAccount || assisted != adminName || len(device) != 32 || len(addr) != 32 || strings.Contains(addr, "127.0.0.1") {
			t.Errorf("assisted vote recorded as account %d by %q, device %q, addr %q; want %d by %q with hashes", account, assisted, device, addr, adminAccount, adminName)
		}
		// 东堡村's admin cannot act for the villager at all.
		other := env.Browser(demo.PhoneVillageAdmin2)
		if st, _ := other.Submit(fmt.Sprintf("/admin/office/%d", vs[4]), url.Values{}); st == http.StatusSeeOther {
			if st, _ := other.Submit(page+"/votes", url.Values{"nomination_id": {fmt.Sprint(n1)}}); st != 404 {
				t.Errorf("东堡村's admin voted for a 前疃村 villager: %d", st)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM honours_votes WHERE round_id = $1`, d.ID); n != 1 {
			t.Errorf("%d votes, want the one assisted", n)
		}
	})
}

// TestAnomalyRules: each rule flags its planted pattern, and only that, in a town round; an
// honest round of random voters, times, devices and addresses flags nothing.
func TestAnomalyRules(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newRoundWorld(t, env)
		all := w.ids(t, `SELECT id FROM residents WHERE town_id = $1 AND status = 'active' AND id NOT IN ($2, $3) ORDER BY id`, env.Info.TownID, w.residentID, w.partyID)
		if len(all) < 60 {
			t.Fatalf("only %d residents", len(all))
		}
		next := 0
		nominees := func(n int) []int64 {
			var out []int64
			for range n {
				out = append(out, w.nominate(t, all[next]))
				next++
			}
			return out
		}
		voters := all[20:]
		base := db.Now().Add(-48 * time.Hour)
		old := 400 * 24 * time.Hour
		staff := w.id(t, `SELECT id FROM accounts WHERE phone = $1`, demo.PhoneVillageAdmin)

		// The honest round: each voter votes once or twice, at random in two days, each from a
		// device of their own and an address among thirty; a few are assisted an hour apart.
		rng := rand.New(rand.NewSource(7))
		noms := nominees(4)
		honest := w.round(t, map[string]any{"nomination_ids": noms, "votes_per_voter": 2, "seats": 2})
		var votes []planted
		for i, v := range voters {
			k := 1 + rng.Intn(2)
			for _, j := range rng.Perm(len(noms))[:k] {
				p := planted{nomination: noms[j], voter: v, accountAge: old, device: fmt.Sprintf("honest-device-%d", i), addr: fmt.Sprintf("honest-addr-%d", rng.Intn(30)),
					at: base.Add(time.Duration(rng.Intn(48*60)) * time.Minute)}
				if i%15 == 0 {
					p.account, p.assisted, p.device, p.addr, p.at = staff, "村干部", "", "", base.Add(time.Duration(i)*time.Hour)
				}
				votes = append(votes, p)
			}
		}
		w.plant(t, honest.ID, votes)
		if got := w.check(t, honest.ID); len(got) != 0 {
			t.Errorf("the honest round was flagged: %+v", got)
		}

		cases := []struct {
			rule  string
			votes func(noms []int64) []planted
		}{
			{honours.FlagDeviceBurst, func(noms []int64) []planted {
				var out []planted
				for i, v := range voters[:honours.DeviceBurstVoters] {
					out = append(out, planted{nomination: noms[0], voter: v, accountAge: old, device: "one-phone", addr: fmt.Sprintf("a%d", i), at: base.Add(time.Duration(i) * time.Minute)})
				}
				return out
			}},
			{honours.FlagAddrBurst, func(noms []int64) []planted {
				var out []planted
				for i, v := range voters[:honours.AddrBurstVoters] {
					out = append(out, planted{nomination: noms[i%2], voter: v, accountAge: old, device: fmt.Sprintf("d%d", i), addr: "one-address", at: base.Add(time.Duration(i*25) * time.Second)})
				}
				return out
			}},
			{honours.FlagAssistedBurst, func(noms []int64) []planted {
				var out []planted
				for i, v := range voters[:honours.AssistedBurstVoters] {
					out = append(out, planted{nomination: noms[i%2], voter: v, account: staff, assisted: "村干部", at: base.Add(time.Duration(i*40) * time.Second)})
				}
				return out
			}},
			{honours.FlagOneHousehold, func(noms []int64) []planted {
				var out []planted
				household := w.id(t, `SELECT household_id FROM residents WHERE id = $1`, voters[0])
				for i, v := range voters[:honours.ConcentrationMin] {
					p := planted{nomination: noms[0], voter: v, accountAge: old, device: fmt.Sprintf("d%d", i), addr: fmt.Sprintf("a%d", i), at: base.Add(time.Duration(i) * time.Hour)}
					if i < honours.HouseholdMin {
						p.household = household
					}
					out = append(out, p)
				}
				return out
			}},
			{honours.FlagNewAccounts, func(noms []int64) []planted {
				var out []planted
				for i := range honours.ConcentrationMin {
					v := voters[i*7] // of five households
					age := old
					if i < 3 {
						age = 2 * 24 * time.Hour
					}
					out = append(out, planted{nomination: noms[1], voter: v, accountAge: age, device: fmt.Sprintf("d%d", i), addr: fmt.Sprintf("a%d", i), at: base.Add(time.Duration(i) * time.Hour)})
				}
				return out
			}},
			{honours.FlagOverEligible, func(noms []int64) []planted {
				// A village's round of representatives: two listed, four voting.
				return nil
			}},
		}
		for _, c := range cases {
			t.Run(c.rule, func(t *testing.T) {
				noms := nominees(2)
				var d honours.RoundDetail
				var votes []planted
				if c.rule == honours.FlagOverEligible {
					last := all[len(all)-1]
					village := w.id(t, `SELECT village_id FROM residents WHERE id = $1`, last)
					vs := w.ids(t, `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' AND id <> $2 ORDER BY id DESC LIMIT 4`, village, last)
					d = w.round(t, map[string]any{"village_id": village, "nomination_ids": []int64{w.nominate(t, last)}, "rule": "representatives", "voter_ids": vs[:2]})
					for i, v := range vs {
						votes = append(votes, planted{nomination: d.Nominees[0].NominationID, voter: v, accountAge: old, device: fmt.Sprintf("d%d", i), addr: fmt.Sprintf("a%d", i),
							at: base.Add(time.Duration(i) * time.Hour)})
					}
				} else {
					d = w.round(t, map[string]any{"nomination_ids": noms, "votes_per_voter": 2})
					votes = c.votes(noms)
				}
				w.plant(t, d.ID, votes)
				got := w.check(t, d.ID)
				if len(got[c.rule]) != 1 || len(got) != 1 {
					t.Fatalf("flags %+v, want one %s", got, c.rule)
				}
				// Checking again finds the same flag, once.
				if again := w.check(t, d.ID); len(again[c.rule]) != 1 || again[c.rule][0].ID != got[c.rule][0].ID {
					t.Errorf("checked again: %+v", again)
				}
				// The flag keeps every vote counted.
				if n := w.count(t, `SELECT COUNT(*) FROM honours_votes WHERE round_id = $1 AND voided_at IS NULL`, d.ID); n != len(votes) {
					t.Errorf("%d votes counted after the flag, want %d", n, len(votes))
				}
			})
		}
	})
}

// TestCloseVoidAndNotice: a round with a flagged burst cannot be counted until the town reviews
// the flag; the town voids a vote with a reason and the voter is told; the count leaves the
// voided vote out, chooses the top seats and puts them on notice, the nominations still admitted.
func TestCloseVoidAndNotice(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newRoundWorld(t, env)
		vs := w.villagers(t, w.village)
		n1, n2, n3 := w.nominate(t, vs[0]), w.nominate(t, vs[1]), w.nominate(t, vs[2])
		d := w.round(t, map[string]any{"village_id": w.village, "nomination_ids": []int64{n1, n2, n3}, "seats": 1, "votes_per_voter": 1})
		path := fmt.Sprintf("/api/v1/honours/rounds/%d", d.ID)
		if st, body := w.resident.JSON("POST", path+"/votes", map[string]any{"nomination_id": n2}, nil); st != 201 {
			t.Fatalf("vote: %d %s", st, body)
		}
		// Six villagers' votes for n1 from one phone within minutes: a burst.
		base := db.Now().Add(-time.Hour)
		var planted6 []planted
		for i, v := range vs[2:8] {
			planted6 = append(planted6, planted{nomination: n1, voter: v, accountAge: 400 * 24 * time.Hour, device: "cadre-phone", addr: "x", at: base.Add(time.Duration(i) * time.Minute)})
		}
		w.plant(t, d.ID, planted6)
		w.end(t, d.ID)
		if st, body := w.town.JSON("POST", path+"/close", nil, nil); st != 409 || !strings.Contains(body, "复核") {
			t.Fatalf("close with an open flag: %d %s", st, body)
		}
		var got honours.RoundDetail
		w.town.JSON("GET", path, nil, &got)
		if len(got.Flags) != 1 || got.Flags[0].Rule != honours.FlagDeviceBurst || !got.Tally || got.Status != "open" {
			t.Fatalf("after the refused close: flags %+v, tally %v, status %s", got.Flags, got.Tally, got.Status)
		}
		var flagged []honours.Vote
		if st, body := w.town.JSON("GET", fmt.Sprintf("%s/votes?flag_id=%d", path, got.Flags[0].ID), nil, &flagged); st != 200 || len(flagged) != 6 {
			t.Fatalf("the flag's votes: %d %d %s", st, len(flagged), body)
		}
		// Void five of the six; the voters are told.
		voter := w.id(t, `SELECT voter_id FROM honours_votes WHERE id = $1`, flagged[0].ID)
		told := w.count(t, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1`, voter)
		if st, body := w.admin.JSON("POST", fmt.Sprintf("/api/v1/honours/votes/%d/void", flagged[0].ID), map[string]any{"reason": "代投"}, nil); st != 403 && st != 404 {
			t.Errorf("a village's admin voids: %d %s", st, body)
		}
		if st, body := w.town.JSON("POST", fmt.Sprintf("/api/v1/honours/votes/%d/void", flagged[0].ID), map[string]any{"reason": ""}, nil); st != 422 {
			t.Errorf("void without a reason: %d %s", st, body)
		}
		for _, v := range flagged[:5] {
			if st, body := w.town.JSON("POST", fmt.Sprintf("/api/v1/honours/votes/%d/void", v.ID), map[string]any{"reason": "经核实为村干部用同一手机代投"}, nil); st != 200 {
				t.Fatalf("void: %d %s", st, body)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND body LIKE '%经核实为村干部用同一手机代投%'`, voter); n != 1 || told != 0 && n == 0 {
			t.Errorf("the voter was told %d times", n)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM honours_votes WHERE round_id = $1`, d.ID); n != 7 {
			t.Errorf("%d votes kept, want all 7 (voided ones stay)", n)
		}
		if st, body := w.town.JSON("POST", fmt.Sprintf("/api/v1/honours/anomalies/%d/review", got.Flags[0].ID), map[string]any{"note": "已核实，作废五票，保留本人投的一票"}, nil); st != 200 {
			t.Fatalf("review: %d %s", st, body)
		}
		if st, body := w.town.JSON("POST", path+"/close", nil, &got); st != 200 || got.Status != "notice" {
			t.Fatalf("close: %d %s", st, body)
		}
		// n1 has one counted vote, n2 one: the tie goes to the earlier nomination, n1.
		if got.Nominees[0].NominationID != n1 || got.Nominees[0].Votes != 1 || !got.Nominees[0].Chosen || got.Nominees[1].Chosen {
			t.Errorf("tally %+v", got.Nominees)
		}
		var notice, items int
		if err := env.Sys.DB.Read().QueryRow(`SELECT COUNT(*), (SELECT COUNT(*) FROM honours_notice_items i JOIN honours_notices n ON n.id = i.notice_id WHERE n.kind = 'round' AND n.ref_id = $1 AND i.item_id = $2)
			FROM honours_notices WHERE kind = 'round' AND ref_id = $1 AND status = 'notice'`, d.ID, n1).Scan(&notice, &items); err != nil {
			t.Fatal(err)
		}
		if notice != 1 || items != 1 || w.count(t, `SELECT COUNT(*) FROM honours_nominations WHERE id IN ($1, $2, $3) AND status = 'admitted'`, n1, n2, n3) != 3 {
			t.Errorf("notice %d with the chosen %d; nominations must stay admitted", notice, items)
		}
		// The resident sees the result now; a vote is refused.
		var mine honours.RoundDetail
		if st, _ := w.resident.JSON("GET", path, nil, &mine); st != 200 || !mine.Tally || mine.NoticeID == 0 {
			t.Errorf("the resident's view after close: %d %+v", st, mine)
		}
		if st, _ := w.resident.JSON("POST", path+"/votes", map[string]any{"nomination_id": n3}, nil); st != 409 {
			t.Errorf("a vote after close: %d", st)
		}
	})
}

// TestRoundPages: the staff's and a resident's pages draw, the staff page says the votes evaluate
// no official, and a vote from the phone page keeps only hashes of the device cookie it set.
func TestRoundPages(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newRoundWorld(t, env)
		vs := w.villagers(t, w.village)
		n1 := w.nominate(t, vs[0])
		d := w.round(t, map[string]any{"village_id": w.village, "nomination_ids": []int64{n1}})
		town := env.Browser(demo.PhoneTownAdmin)
		for _, p := range []string{"/admin/honours/rounds", "/admin/honours/rounds/new", fmt.Sprintf("/admin/honours/rounds/%d", d.ID)} {
			if st, body := town.Get(p); st != 200 || !strings.Contains(body, "不用于任何干部考核") {
				t.Errorf("%s: %d", p, st)
			}
		}
		resident := env.Browser(demo.PhoneResident)
		page := fmt.Sprintf("/honours/rounds/%d", d.ID)
		if st, body := resident.Get("/honours/rounds"); st != 200 || !strings.Contains(body, d.Title) {
			t.Errorf("the resident's list: %d", st)
		}
		if st, body := resident.Get(page); st != 200 || !strings.Contains(body, "投他一票") {
			t.Errorf("the voting page: %d %.300s", st, body)
		}
		if st, loc := resident.Submit(page+"/votes", url.Values{"nomination_id": {fmt.Sprint(n1)}}); st != http.StatusSeeOther || !strings.Contains(loc, "flash.honours_voted") {
			t.Fatalf("vote from the page: %d %s", st, loc)
		}
		var device string
		if err := env.Sys.DB.Read().QueryRow(`SELECT device FROM honours_votes WHERE round_id = $1 AND voter_id = $2`, d.ID, w.residentID).Scan(&device); err != nil {
			t.Fatal(err)
		}
		if len(device) != 32 {
			t.Errorf("device %q, want a hash of the page's cookie", device)
		}
		if st, loc := resident.Submit(fmt.Sprintf("%s/votes/%d/withdraw", page, n1), url.Values{}); st != http.StatusSeeOther || !strings.Contains(loc, "withdrawn") {
			t.Errorf("take back from the page: %d %s", st, loc)
		}
		if st, _ := resident.Get(fmt.Sprintf("/admin/honours/rounds/%d", d.ID)); st != 403 {
			t.Errorf("a resident on the staff page: %d", st)
		}
	})
}

// TestPanelRound: under 'panel_votes' a round is not counted until every nominee has a panel
// score, and the result weighs the panel's mean with the votes' share of the most votes: with a
// weight of 60, 50 points and 2 of 2 votes (70) lose to 90 points and 1 vote (74).
func TestPanelRound(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newRoundWorld(t, env)
		vs := w.villagers(t, w.village)
		n1, n2 := w.nominate(t, vs[0]), w.nominate(t, vs[1])
		d := w.round(t, map[string]any{"village_id": w.village, "nomination_ids": []int64{n1, n2}, "votes_per_voter": 2, "rule": "panel_votes", "panel_weight": 60})
		path := fmt.Sprintf("/api/v1/honours/rounds/%d", d.ID)
		for _, v := range []struct {
			who *servertest.Client
			nom int64
		}{{w.resident, n1}, {w.party, n1}, {w.party, n2}} {
			if st, body := v.who.JSON("POST", path+"/votes", map[string]any{"nomination_id": v.nom}, nil); st != 201 {
				t.Fatalf("vote: %d %s", st, body)
			}
		}
		if st, body := w.town.JSON("POST", path+"/scores", map[string]any{"scores": map[string]int{fmt.Sprint(n1): 50}}, nil); st != 200 {
			t.Fatalf("score: %d %s", st, body)
		}
		if st, body := w.town.JSON("POST", path+"/scores", map[string]any{"scores": map[string]int{fmt.Sprint(n2): 101}}, nil); st != 422 {
			t.Errorf("a score of 101: %d %s", st, body)
		}
		w.end(t, d.ID)
		if st, body := w.town.JSON("POST", path+"/close", nil, nil); st != 409 {
			t.Fatalf("close with a nominee unscored: %d %s", st, body)
		}
		if st, body := w.town.JSON("POST", path+"/scores", map[string]any{"scores": map[string]int{fmt.Sprint(n2): 90}}, nil); st != 200 {
			t.Fatalf("score: %d %s", st, body)
		}
		var got honours.RoundDetail
		if st, body := w.town.JSON("POST", path+"/close", nil, &got); st != 200 {
			t.Fatalf("close: %d %s", st, body)
		}
		want := map[int64][2]float64{n2: {74, 1}, n1: {70, 2}}
		for i, n := range got.Nominees {
			if w := want[n.NominationID]; n.Score != w[0] || float64(n.Votes) != w[1] || n.Chosen != (i == 0) || (i == 0) != (n.NominationID == n2) {
				t.Errorf("nominee %d: score %v votes %d chosen %v, want %v", n.NominationID, n.Score, n.Votes, n.Chosen, w)
			}
		}
	})
}
