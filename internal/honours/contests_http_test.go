package honours_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/honours"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// The judge logins the contests' test world makes.
const (
	phoneJudge1 = "13900000701" // lives in household h[0], which is entered: their own household
	phoneJudge2 = "13900000702" // moved out of household h[1] (分户), which is entered: a relation's
	phoneJudge3 = "13900000703"
	phoneJudge4 = "13900000704"
	phoneJudge5 = "13900000705" // scores one entry far below the panel: an outlier
	phoneJudge6 = "13900000706" // the second village's judge
)

// contestWorld is the demo town with an 一米微花园 contest of four weighted criteria scored 0–10,
// six households of village A and three of village B entered, five judges for A's round and
// one for B's.
type contestWorld struct {
	env      *servertest.Env
	town     *servertest.Client
	c        honours.Contest
	villageA int64
	villageB int64
	entries  []honours.Entry // A's six, then B's three
	judges   map[string]*servertest.Client
	// marks are the marks the test submitted: judge phone → entry id → criterion id → score.
	marks map[string]map[int64]map[int64]int
}

type pick struct{ resident, household, village int64 }

// adults are a village's active adults by household, the households in id order.
func adults(t *testing.T, d *db.DB, villageID int64) (order []int64, by map[int64][]int64) {
	t.Helper()
	rows, err := d.Read().Query(`SELECT id, household_id FROM residents WHERE village_id = $1 AND status = 'active' AND birth_date < '2000-01-01' ORDER BY household_id, id`, villageID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	by = map[int64][]int64{}
	for rows.Next() {
		var r, h int64
		if err := rows.Scan(&r, &h); err != nil {
			t.Fatal(err)
		}
		if _, ok := by[h]; !ok {
			order = append(order, h)
		}
		by[h] = append(by[h], r)
	}
	return order, by
}

func newContestWorld(t *testing.T, env *servertest.Env) *contestWorld {
	t.Helper()
	ctx := context.Background()
	d := env.Sys.DB
	w := &contestWorld{env: env, town: env.API(demo.PhoneTownAdmin), judges: map[string]*servertest.Client{}, marks: map[string]map[int64]map[int64]int{}}
	var vs []int64
	rows, err := d.Read().Query(`SELECT id FROM villages WHERE town_id = $1 ORDER BY id`, env.Info.TownID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		vs = append(vs, id)
	}
	rows.Close()
	w.villageA, w.villageB = vs[0], vs[1]
	orderA, byA := adults(t, d, w.villageA)
	orderB, byB := adults(t, d, w.villageB)
	// Two households of A with two adults at least come first: h[0] and h[1].
	var pair, single []int64
	for _, h := range orderA {
		if len(byA[h]) >= 2 && len(pair) < 2 {
			pair = append(pair, h)
		} else {
			single = append(single, h)
		}
	}
	if len(pair) < 2 || len(single) < 4 || len(orderB) < 3 {
		t.Fatalf("the demo town is too small: %d pairs, %d others in A, %d in B", len(pair), len(single), len(orderB))
	}
	var picks []pick
	for _, h := range append(pair, single[:4]...) {
		picks = append(picks, pick{byA[h][0], h, w.villageA})
	}
	for _, h := range orderB[:3] {
		picks = append(picks, pick{byB[h][0], h, w.villageB})
	}

	// Judge 2's resident sets up a household of their own (分户): the registry keeps that they
	// lived in h[1].
	moved := byA[pair[1]][1]
	if _, err := env.Sys.People.Move(ctx, auth.System("test"), moved, people.MoveInput{VillageID: w.villageA, HouseholdNumber: "FH-701", Reason: "分户"}); err != nil {
		t.Fatal(err)
	}
	judge := func(phone, name string, residentID int64) {
		t.Helper()
		if _, err := env.Sys.Auth.CreateAccount(ctx, auth.System("test"), auth.AccountInput{Phone: phone, Name: name, ResidentID: residentID, Password: demo.DemoPassword,
			Grants: []auth.Grant{{Role: auth.Judge, TownID: env.Info.TownID}}}); err != nil {
			t.Fatalf("judge %s: %v", phone, err)
		}
		w.judges[phone] = env.API(phone)
	}
	judge(phoneJudge1, "评审甲", byA[pair[0]][1])
	judge(phoneJudge2, "评审乙", moved)
	judge(phoneJudge3, "评审丙", 0)
	judge(phoneJudge4, "评审丁", 0)
	judge(phoneJudge5, "评审戊", 0)
	judge(phoneJudge6, "评审己", 0)

	// The town's rule for a contest's winners, in force since last month for villagers and party
	// members alike.
	since := clock.Day(time.Now().AddDate(0, -1, 0))
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		for _, class := range []people.MemberClass{people.Villager, people.PartyMember} {
			if _, err := env.Sys.Bank.InsertVersion(ctx, tx, bank.VersionInput{TownID: env.Info.TownID, Class: class, AdoptedBy: "村民代表大会", AdoptedOn: since,
				Resolution: "潞城文明〔2026〕9号", EffectiveFrom: since, Rules: []bank.RuleInput{{Code: "garden_win", Name: "评比获奖", Category: "人居环境", Points: 20}}}, 0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if st, body := w.town.JSON("POST", "/api/v1/contests", map[string]any{"title": "2026年一米微花园评比", "kind": "garden", "scale": 10, "advance": 2, "winners": 2, "rule_code": "garden_win",
		"criteria": []map[string]any{{"name": "整洁", "weight": 30}, {"name": "创意", "weight": 20}, {"name": "绿化", "weight": 30}, {"name": "维护", "weight": 20}}}, &w.c); st != 201 {
		t.Fatalf("contest: %d %s", st, body)
	}
	for i, p := range picks {
		var e honours.Entry
		staff := env.API(demo.PhoneVillageAdmin)
		if p.village == w.villageB {
			staff = w.town
		}
		if st, body := staff.JSON("POST", w.path("entries"), map[string]any{"resident_id": p.resident, "note": fmt.Sprintf("第%d户", i+1)}, &e); st != 201 {
			t.Fatalf("entry %d: %d %s", i, st, body)
		}
		w.entries = append(w.entries, e)
	}
	for _, j := range []struct {
		phone, capacity string
		village         int64
	}{{phoneJudge1, "village_staff", w.villageA}, {phoneJudge2, "representative", w.villageA}, {phoneJudge3, "bank_staff", w.villageA},
		{phoneJudge4, "volunteer", w.villageA}, {phoneJudge5, "volunteer", w.villageA}, {phoneJudge6, "bank_staff", w.villageB}} {
		if st, body := w.town.JSON("POST", w.path("judges"), map[string]any{"phone": j.phone, "capacity": j.capacity, "round": "village", "village_id": j.village}, nil); st != 201 {
			t.Fatalf("judge %s: %d %s", j.phone, st, body)
		}
	}
	return w
}

func (w *contestWorld) path(tail string) string {
	return fmt.Sprintf("/api/v1/contests/%d/%s", w.c.ID, tail)
}

// score has a judge score an entry, remembering the marks; the marks vary by judge, entry and
// criterion, and judge 5 gives entry 3 nothing.
func (w *contestWorld) score(t *testing.T, phone string, e honours.Entry, seed int) {
	t.Helper()
	var marks []map[string]any
	got := map[int64]int{}
	for k, c := range w.c.Criteria {
		v := 3 + (seed*7+int(e.ID)*3+k*5)%8
		if phone == phoneJudge5 && e.ID == w.entries[3].ID {
			v = 0
		}
		marks = append(marks, map[string]any{"criterion_id": c.ID, "score": v})
		got[c.ID] = v
	}
	if st, body := w.judges[phone].JSON("POST", w.path("scores"), map[string]any{"entry_id": e.ID, "marks": marks}, nil); st != 200 {
		t.Fatalf("%s scores entry %d: %d %s", phone, e.ID, st, body)
	}
	if w.marks[phone] == nil {
		w.marks[phone] = map[int64]map[int64]int{}
	}
	w.marks[phone][e.ID] = got
}

// expected computes, apart from the service, an entry's trimmed mean across the judges' weighted
// totals out of 100, the lowest and the highest.
func (w *contestWorld) expected(entryID int64, phones []string) (mean, low, high float64, n int) {
	var totals []float64
	for _, p := range phones {
		m, ok := w.marks[p][entryID]
		if !ok {
			continue
		}
		num, den := 0, 0
		for _, c := range w.c.Criteria {
			num += m[c.ID] * c.Weight
			den += c.Weight
		}
		totals = append(totals, float64(num)*10/float64(den))
	}
	sort.Float64s(totals)
	n = len(totals)
	low, high = totals[0], totals[n-1]
	if n >= 5 {
		totals = totals[1 : n-1]
	}
	sum := 0.0
	for _, x := range totals {
		sum += x
	}
	return sum / float64(len(totals)), low, high, n
}

func ids(es []honours.Entry) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestContests(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 240}, false, func(t *testing.T, env *servertest.Env) {
		w := newContestWorld(t, env)
		villagePanel := []string{phoneJudge1, phoneJudge2, phoneJudge3, phoneJudge4, phoneJudge5}

		t.Run("WrongInput", func(t *testing.T) {
			var before int
			env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM honours_contests`).Scan(&before)
			if st, body := w.town.JSON("POST", "/api/v1/contests", map[string]any{"title": "", "kind": "flowers", "scale": 5, "advance": 0, "winners": 1, "rule_code": "no_such_rule",
				"criteria": []map[string]any{{"name": "整洁", "weight": 0}}}, nil); st != 422 ||
				!strings.Contains(body, `"title"`) || !strings.Contains(body, `"kind"`) || !strings.Contains(body, `"scale"`) || !strings.Contains(body, `"advance"`) ||
				!strings.Contains(body, `"criteria"`) || !strings.Contains(body, "honours.contest.rule_unknown") {
				t.Errorf("a wrong contest: %d %s", st, body)
			}
			if st, body := env.API(demo.PhoneVillageAdmin).JSON("POST", "/api/v1/contests", map[string]any{"title": "村里的评比", "kind": "garden", "scale": 10, "advance": 1, "winners": 1, "rule_code": "garden_win",
				"criteria": []map[string]any{{"name": "整洁", "weight": 1}}}, nil); st != 403 {
				t.Errorf("a village's admin starts a contest: %d %s", st, body)
			}
			var after int
			env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM honours_contests`).Scan(&after)
			if after != before {
				t.Errorf("refused requests stored contests: %d → %d", before, after)
			}
			// A household enters once; another village's resident is hidden from a village's staff.
			if st, body := env.API(demo.PhoneVillageAdmin).JSON("POST", w.path("entries"), map[string]any{"resident_id": w.entries[2].ID}, nil); st != 404 && st != 409 {
				t.Errorf("an entry's id as a resident: %d %s", st, body)
			}
			var bResident int64
			env.Sys.DB.Read().QueryRow(`SELECT resident_id FROM honours_contest_entries WHERE id = $1`, w.entries[6].ID).Scan(&bResident)
			if st, body := env.API(demo.PhoneVillageAdmin).JSON("POST", w.path("entries"), map[string]any{"resident_id": bResident}, nil); st != 404 {
				t.Errorf("village A's admin enters village B's household: %d %s", st, body)
			}
			if st, body := w.town.JSON("POST", w.path("entries"), map[string]any{"resident_id": bResident}, nil); st != 409 {
				t.Errorf("a household entered twice: %d %s", st, body)
			}
			// Marks must cover every criterion, within the scale.
			if st, body := w.judges[phoneJudge3].JSON("POST", w.path("scores"), map[string]any{"entry_id": w.entries[2].ID,
				"marks": []map[string]any{{"criterion_id": w.c.Criteria[0].ID, "score": 11}}}, nil); st != 422 || !strings.Contains(body, `"marks"`) {
				t.Errorf("wrong marks: %d %s", st, body)
			}
		})

		t.Run("JudgeNeverSeesOwnOrRelation", func(t *testing.T) {
			for _, c := range []struct {
				phone string
				entry honours.Entry
				why   string
			}{{phoneJudge1, w.entries[0], "own"}, {phoneJudge2, w.entries[1], "relation"}} {
				var list []honours.Entry
				if st, body := w.judges[c.phone].JSON("GET", w.path("entries"), nil, &list); st != 200 {
					t.Fatalf("%s's entries: %d %s", c.phone, st, body)
				}
				var assigned []honours.Entry
				for _, e := range list {
					if e.Assigned {
						assigned = append(assigned, e)
					}
					if e.ID == c.entry.ID && (e.Assigned || !e.Mine) {
						t.Errorf("%s sees the household hidden from them, not as their own: %+v", c.phone, e)
					}
				}
				if slices.Contains(ids(assigned), c.entry.ID) || len(assigned) != 5 {
					t.Errorf("%s is assigned %v, with the household hidden from them %d", c.phone, ids(assigned), c.entry.ID)
				}
				marks := []map[string]any{}
				for _, k := range w.c.Criteria {
					marks = append(marks, map[string]any{"criterion_id": k.ID, "score": 10})
				}
				if st, body := w.judges[c.phone].JSON("POST", w.path("scores"), map[string]any{"entry_id": c.entry.ID, "marks": marks}, nil); st != 404 {
					t.Errorf("%s scores the hidden household: %d %s", c.phone, st, body)
				}
				b := env.Browser(c.phone)
				if st, _ := b.Get(fmt.Sprintf("/admin/judging/%d", c.entry.ID)); st != 404 {
					t.Errorf("%s opens the hidden household's sheet: %d", c.phone, st)
				}
				if st, body := b.Get("/admin/judging"); st != 200 || strings.Contains(body, fmt.Sprintf("/admin/judging/%d\"", c.entry.ID)) {
					t.Errorf("%s's judging page: %d, lists the hidden household: %v", c.phone, st, strings.Contains(body, fmt.Sprintf("/admin/judging/%d\"", c.entry.ID)))
				}
				// The organiser is told.
				var rep honours.Report
				if st, body := w.town.JSON("GET", w.path("panel"), nil, &rep); st != 200 {
					t.Fatalf("panel: %d %s", st, body)
				}
				told := false
				for _, j := range rep.Panel {
					for _, h := range j.Hidden {
						told = told || (h.EntryID == c.entry.ID && h.Why == c.why)
					}
				}
				if !told {
					t.Errorf("the organiser is not told that entry %d is hidden (%s): %+v", c.entry.ID, c.why, rep.Panel)
				}
			}
			var none int
			env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM honours_contest_sheets`).Scan(&none)
			if none != 0 {
				t.Errorf("refused scores stored %d sheets", none)
			}
		})

		t.Run("ScoresSealedUntilClose", func(t *testing.T) {
			for ji, phone := range villagePanel {
				var list []honours.Entry
				w.judges[phone].JSON("GET", w.path("entries"), nil, &list)
				for _, e := range list {
					if e.Assigned {
						w.score(t, phone, e, ji)
					}
				}
			}
			for _, e := range w.entries[6:] {
				w.score(t, phoneJudge6, e, 6)
			}
			// Judge 3 changes their mind about entry 2: the first marks are kept in history.
			w.score(t, phoneJudge3, w.entries[2], 11)
			var mine []honours.Sheet
			if st, body := w.judges[phoneJudge3].JSON("GET", w.path("scores"), nil, &mine); st != 200 || len(mine) != 6 {
				t.Fatalf("judge 3's sheets: %d %s", st, body)
			}
			for _, sh := range mine {
				if sh.EntryID == w.entries[2].ID && len(sh.History) != 1 {
					t.Errorf("a changed sheet keeps %d earlier versions", len(sh.History))
				}
			}
			// Nobody else reads a mark before the round closes.
			var all []honours.Sheet
			if st, body := w.town.JSON("GET", w.path("scores"), nil, &all); st != 200 || len(all) != 0 {
				t.Errorf("the organiser reads sealed sheets: %d %s", st, body)
			}
			var other []honours.Sheet
			if st, _ := w.judges[phoneJudge4].JSON("GET", w.path("scores"), nil, &other); st != 200 || slices.ContainsFunc(other, func(s honours.Sheet) bool { return s.JudgeName != "评审丁" }) {
				t.Errorf("judge 4 reads another judge's sheet: %d", st)
			}
			var entries []honours.Entry
			w.town.JSON("GET", w.path("entries"), nil, &entries)
			for _, e := range entries {
				if len(e.Results) != 0 {
					t.Errorf("entry %d has results before close: %+v", e.ID, e.Results)
				}
			}
			if st, _ := env.API(demo.PhoneVillageAdmin).JSON("GET", w.path("scores"), nil, nil); st != 403 {
				t.Errorf("a village's admin reads scores: %d", st)
			}
			if _, body := env.Browser(demo.PhoneTownAdmin).Get(fmt.Sprintf("/admin/honours/contests/%d", w.c.ID)); !strings.Contains(body, "已评 5 / 5 户") {
				t.Errorf("the organiser's page does not show progress")
			}
		})

		t.Run("TrimmedMeanAndAdvance", func(t *testing.T) {
			if st, body := w.town.JSON("POST", w.path("close"), map[string]any{"reason": ""}, nil); st != 422 {
				t.Errorf("closing without a reason: %d %s", st, body)
			}
			var c honours.Contest
			if st, body := w.town.JSON("POST", w.path("close"), map[string]any{"reason": "村评期满"}, &c); st != 200 || c.Status != "town" {
				t.Fatalf("close the village round: %d %s", st, body)
			}
			var entries []honours.Entry
			w.town.JSON("GET", w.path("entries"), nil, &entries)
			type ranked struct {
				id    int64
				score float64
			}
			byVillage := map[int64][]ranked{}
			for _, e := range entries {
				if len(e.Results) != 1 {
					t.Fatalf("entry %d: %d results", e.ID, len(e.Results))
				}
				r := e.Results[0]
				phones := villagePanel
				if e.VillageID == w.villageB {
					phones = []string{phoneJudge6}
				}
				mean, low, high, n := w.expected(e.ID, phones)
				if math.Abs(r.Score-mean) > 0.006 || math.Abs(r.Low-low) > 0.006 || math.Abs(r.High-high) > 0.006 || r.Judges != n {
					t.Errorf("entry %d: got %.2f [%.2f, %.2f] of %d judges, computed %.4f [%.2f, %.2f] of %d", e.ID, r.Score, r.Low, r.High, r.Judges, mean, low, high, n)
				}
				byVillage[e.VillageID] = append(byVillage[e.VillageID], ranked{e.ID, math.Round(mean*100) / 100})
			}
			for v, list := range byVillage {
				sort.SliceStable(list, func(i, j int) bool {
					if list[i].score != list[j].score {
						return list[i].score > list[j].score
					}
					return list[i].id < list[j].id
				})
				for i, x := range list {
					e := entries[slices.IndexFunc(entries, func(e honours.Entry) bool { return e.ID == x.id })]
					if e.Advanced != (i < 2) {
						t.Errorf("village %d: entry %d ranked %d, advanced %v", v, x.id, i+1, e.Advanced)
					}
				}
			}
			// Sheets are unsealed now, and judge 5's zero on entry 3 is shown as an outlier.
			var all []honours.Sheet
			if st, _ := w.town.JSON("GET", w.path("scores"), nil, &all); st != 200 || len(all) != 5+5+6+6+6+3 {
				t.Errorf("unsealed sheets: %d, %d", st, len(all))
			}
			var rep honours.Report
			w.town.JSON("GET", w.path("panel"), nil, &rep)
			if !slices.ContainsFunc(rep.Outliers, func(o honours.Outlier) bool { return o.Judge == "评审戊" && o.Total == 0 }) {
				t.Errorf("judge 5's zero is not an outlier: %+v", rep.Outliers)
			}
			if st, _ := w.judges[phoneJudge3].JSON("POST", w.path("scores"), map[string]any{"entry_id": w.entries[2].ID, "marks": []map[string]any{}}, nil); st != 404 {
				t.Errorf("a village judge scores in the town round: %d", st)
			}
		})

		t.Run("WinnersPaidOnce", func(t *testing.T) {
			for _, phone := range []string{phoneJudge3, phoneJudge4, phoneJudge6} {
				if st, body := w.town.JSON("POST", w.path("judges"), map[string]any{"phone": phone, "capacity": "bank_staff", "round": "town"}, nil); st != 201 {
					t.Fatalf("town judge %s: %d %s", phone, st, body)
				}
			}
			var advanced []honours.Entry
			w.judges[phoneJudge3].JSON("GET", w.path("entries"), nil, &advanced)
			for ji, phone := range []string{phoneJudge3, phoneJudge4, phoneJudge6} {
				var list []honours.Entry
				w.judges[phone].JSON("GET", w.path("entries"), nil, &list)
				n := 0
				for _, e := range list {
					if e.Advanced && e.Assigned {
						w.score(t, phone, e, 20+ji)
						n++
					}
				}
				if n != 4 {
					t.Errorf("%s scores %d entries in the town round", phone, n)
				}
			}
			var c honours.Contest
			if st, body := w.town.JSON("POST", w.path("close"), map[string]any{"reason": "镇评期满"}, &c); st != 200 || c.Status != "closed" {
				t.Fatalf("close the town round: %d %s", st, body)
			}
			ctx := context.Background()
			n, err := env.Sys.Honours.NoticeOf(ctx, auth.System("test"), honours.NoticeContest, w.c.ID)
			if err != nil || len(n.Items) != 2 {
				t.Fatalf("the winners' notice: %v %+v", err, n)
			}
			later := db.Now().Add(bank.NoticePeriod + time.Hour)
			env.Sys.Honours.Now = func() time.Time { return later }
			if _, err := env.Sys.Honours.Publish(ctx, auth.System("test"), n.ID); err != nil {
				t.Fatal(err)
			}
			count := func() int {
				var k int
				env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM bank_transactions WHERE idem_key LIKE $1`, fmt.Sprintf("honours:contest:%d:%%", w.c.ID)).Scan(&k)
				return k
			}
			if got := count(); got != 2 {
				t.Errorf("winners paid %d times, want 2", got)
			}
			if err := env.Sys.Honours.PayNotice(ctx, auth.System("test"), n.ID); err != nil {
				t.Fatal(err)
			}
			if got := count(); got != 2 {
				t.Errorf("paying again paid: %d transactions", got)
			}
			var entries []honours.Entry
			w.town.JSON("GET", w.path("entries"), nil, &entries)
			won := 0
			for _, e := range entries {
				if e.Won {
					won++
					if !e.Paid {
						t.Errorf("winner %d not paid: %q", e.ID, e.PayNote)
					}
				}
			}
			if won != 2 {
				t.Errorf("%d winners", won)
			}
			if st, body := env.Browser(demo.PhoneTownAdmin).Get(fmt.Sprintf("/admin/honours/contests/%d/certificates", w.c.ID)); st != 200 || strings.Count(body, `class="hn-cert"`) != 2 {
				t.Errorf("certificates: %d", st)
			}
		})
	})
}
