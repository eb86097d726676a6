package honours_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/demo"
	"siwei/internal/honours"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// flagsWorld is the small demo town with a second town, the month the test's points are earned
// in, and the town's villages in their order.
type flagsWorld struct {
	env      *servertest.Env
	town     *servertest.Client // the town's admin (API)
	month    string             // this month in the town, when the points are earned
	villages []int64
	seq      int
}

var flagsOptions = demo.Options{Seed: 1, Residents: 80, SecondTown: true}

func newFlagsWorld(t *testing.T, env *servertest.Env) *flagsWorld {
	t.Helper()
	w := &flagsWorld{env: env, town: env.API(demo.PhoneTownAdmin)}
	loc, err := env.Sys.People.Zone(context.Background(), env.Info.TownID)
	if err != nil {
		t.Fatal(err)
	}
	w.month = time.Now().In(loc).Format("2006-01")
	rows, err := env.Sys.DB.Read().Query(`SELECT id FROM villages WHERE town_id = $1 AND active ORDER BY code, id`, env.Info.TownID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		w.villages = append(w.villages, id)
	}
	if len(w.villages) < 3 {
		t.Fatalf("the demo town has %d villages, the test needs 3", len(w.villages))
	}
	// The town's 积分细则: 门前三包 5 points, 垃圾分类 2, for every class.
	admin := actorOf(t, env, w.town)
	since := time.Now().AddDate(-1, 0, 0)
	for _, class := range []people.MemberClass{people.Villager, people.PartyMember, people.Minor} {
		if _, err := env.Sys.Bank.AdoptVersion(context.Background(), admin, bank.VersionInput{TownID: env.Info.TownID, Class: class, AdoptedBy: "村民代表大会",
			AdoptedOn: since.Format("2006-01-02"), Resolution: "潞决〔2026〕1号", EffectiveFrom: since.AddDate(0, 0, 5).Format("2006-01-02"), Rules: []bank.RuleInput{
				{Code: "clean", Name: "门前三包", Category: "环境", Points: 5},
				{Code: "sort", Name: "垃圾分类", Category: "环境", Points: 2},
			}}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// monthOver moves the public side's clock into the next month: the test's month is over.
func (w *flagsWorld) monthOver(t *testing.T, extra time.Duration) {
	t.Helper()
	m, err := time.Parse("2006-01", w.month)
	if err != nil {
		t.Fatal(err)
	}
	at := m.AddDate(0, 1, 1).Add(extra) // the 2nd of the next month, UTC: the next month in any zone east of UTC
	w.env.Sys.Honours.Now = func() time.Time { return at }
}

// residents are the active residents of a village, adults (who have the 门前三包 rule) or all.
func (w *flagsWorld) residents(t *testing.T, village int64, adults bool) []int64 {
	t.Helper()
	cond := ""
	if adults {
		cond = fmt.Sprintf(` AND birth_date <= '%s'`, time.Now().AddDate(-18, 0, -1).Format("2006-01-02"))
	}
	rows, err := w.env.Sys.DB.Read().Query(`SELECT id FROM residents WHERE village_id = $1 AND status = 'active'`+cond+` ORDER BY id`, village)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		out = append(out, id)
	}
	return out
}

// award pays a resident under a rule through the bank's API, as the town's admin.
func (w *flagsWorld) award(t *testing.T, resident int64, rule string) {
	t.Helper()
	w.seq++
	if st, body := w.town.JSON("POST", "/api/v1/bank/awards", map[string]any{"resident_id": resident, "rule_code": rule, "reason": "流动红旗测试",
		"idempotency_key": fmt.Sprintf("http:flags:%d", w.seq)}, nil); st != http.StatusCreated {
		t.Fatalf("award %d %s: %d %s", resident, rule, st, body)
	}
}

// expectedScores computes each village's score by the default formula (points per head, in
// thousandths) from the raw rows: the month's transactions paid to residents, and the residents
// in the register.
func (w *flagsWorld) expectedScores(t *testing.T) map[int64]int64 {
	t.Helper()
	q := w.env.Sys.DB.Read()
	points, heads := map[int64]int64{}, map[int64]int64{}
	rows, err := q.Query(`SELECT r.village_id, t.amount FROM bank_transactions t JOIN residents r ON r.id = t.resident_id
		WHERE t.town_id = $1 AND t.period = $2 AND t.rule_code <> ''`, w.env.Info.TownID, w.month)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v, amount int64
		rows.Scan(&v, &amount)
		points[v] += amount
	}
	rows.Close()
	rows, err = q.Query(`SELECT village_id FROM residents WHERE town_id = $1 AND status = 'active'`, w.env.Info.TownID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int64
		rows.Scan(&v)
		heads[v]++
	}
	rows.Close()
	out := map[int64]int64{}
	for _, v := range w.villages {
		if heads[v] > 0 {
			out[v] = int64(math.Round(1000 * float64(points[v]) / float64(heads[v])))
		}
	}
	return out
}

// winners are the villages with the highest of the scores, sorted.
func winners(scores map[int64]int64) []int64 {
	var best int64 = math.MinInt64
	var out []int64
	for v, s := range scores {
		switch {
		case s > best:
			best, out = s, []int64{v}
		case s == best:
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func holders(f honours.Flag) []int64 {
	var out []int64
	for _, r := range f.Rows {
		if r.Rank == 1 {
			out = append(out, r.VillageID)
		}
	}
	slices.Sort(out)
	return out
}

// The month's flag goes to the village ranked first by points per head, checked against the
// formula computed here over the raw transactions and the register; the recorded figures are
// every village's; a second award of the month, however many race, is refused and stores nothing.
func TestFlagWinnerByFormula(t *testing.T) {
	servertest.EachWith(t, flagsOptions, false, func(t *testing.T, env *servertest.Env) {
		w := newFlagsWorld(t, env)
		// Village i's first i+1 adults (the last village: its first two) earn 门前三包.
		for i, v := range w.villages {
			adults := w.residents(t, v, true)
			for _, r := range adults[:min(len(adults), (i%3)+1)] {
				w.award(t, r, "clean")
			}
		}
		want := w.expectedScores(t)
		resident := env.API(demo.PhoneResident)

		// Before the month is over: the month is live, and cannot be awarded.
		var live honours.FlagBoard
		if st, body := resident.JSON("GET", "/api/v1/flags?month="+w.month, nil, &live); st != 200 || !live.Live || live.Awardable {
			t.Fatalf("this month's board: %d %s", st, body)
		}
		if st, body := w.town.JSON("POST", "/api/v1/flags", map[string]any{"month": w.month, "reason": "月度评定"}, nil); st != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `"month"`) {
			t.Fatalf("award a month not over: %d %s", st, body)
		}

		w.monthOver(t, 0)
		if st, body := resident.JSON("GET", "/api/v1/flags?month="+w.month, nil, &live); st != 200 || !live.Live || !live.Awardable || len(live.Table) != len(w.villages) {
			t.Fatalf("the finished month's board: %d %s", st, body)
		}
		for _, r := range live.Table {
			if r.Score != want[r.VillageID] {
				t.Errorf("village %d: score %d, the formula gives %d", r.VillageID, r.Score, want[r.VillageID])
			}
		}
		// A reason is kept with the award; without one, nothing is awarded.
		if st, body := w.town.JSON("POST", "/api/v1/flags", map[string]any{"month": w.month}, nil); st != http.StatusUnprocessableEntity || !strings.Contains(body, `"reason"`) {
			t.Fatalf("award without a reason: %d %s", st, body)
		}
		// Eight awards at once: one is made.
		var mu sync.Mutex
		var made []honours.Flag
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var f honours.Flag
				st, _ := w.town.JSON("POST", "/api/v1/flags", map[string]any{"month": w.month, "reason": "月度评定"}, &f)
				mu.Lock()
				defer mu.Unlock()
				statuses[st]++
				if st == http.StatusCreated {
					made = append(made, f)
				}
			}()
		}
		wg.Wait()
		if statuses[http.StatusCreated] != 1 || statuses[http.StatusConflict] != 7 {
			t.Fatalf("eight awards at once: %v", statuses)
		}
		if got, exp := holders(made[0]), winners(want); !slices.Equal(got, exp) {
			t.Errorf("holders %v, the formula's winners %v", got, exp)
		}
		var n int
		env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM honours_flags WHERE town_id = $1`, env.Info.TownID).Scan(&n)
		if n != 1 {
			t.Errorf("%d awards stored, want 1", n)
		}
		// The board shows the recorded figures, the holder and the history, to a resident.
		var b honours.FlagBoard
		if st, body := resident.JSON("GET", "/api/v1/flags?month="+w.month, nil, &b); st != 200 || b.Live || b.Current == nil || b.Current.Month != w.month ||
			len(b.History) != 1 || len(b.Table) != len(w.villages) {
			t.Fatalf("the awarded board: %d %s", st, body)
		}
		for _, r := range b.Table {
			if r.Score != want[r.VillageID] {
				t.Errorf("recorded village %d: score %d, want %d", r.VillageID, r.Score, want[r.VillageID])
			}
		}
		st, page := env.Browser(demo.PhoneResident).Get("/honours/flags?month=" + w.month)
		if st != 200 || !strings.Contains(page, b.Current.HolderNames()) {
			t.Errorf("the flags page: %d, holders %q missing", st, b.Current.HolderNames())
		}
		// The holder shows on the resident's home and the public side's landing page.
		if st, home := env.Browser(demo.PhoneResident).Get("/"); st != 200 || !strings.Contains(home, "流动红旗") {
			t.Errorf("the resident's home does not show the flag: %d", st)
		}
		if st, home := env.Browser(demo.PhoneTownAdmin).Get("/admin/honours"); st != 200 || !strings.Contains(home, b.Current.HolderNames()) {
			t.Errorf("the staff's landing page does not show the holders: %d", st)
		}
	})
}

// Villages level on the formula share the flag; the page's award goes through the confirmation
// with its reason, and a second award from the page is refused with the page's message.
func TestFlagTie(t *testing.T) {
	servertest.EachWith(t, flagsOptions, false, func(t *testing.T, env *servertest.Env) {
		w := newFlagsWorld(t, env)
		// Every resident of the first two villages sorts rubbish once: 2 points a head in each.
		for _, v := range w.villages[:2] {
			for _, r := range w.residents(t, v, false) {
				w.award(t, r, "sort")
			}
		}
		// One adult of the third scores less per head.
		w.award(t, w.residents(t, w.villages[2], true)[0], "sort")
		want := w.expectedScores(t)
		if exp := winners(want); !slices.Equal(exp, []int64{min(w.villages[0], w.villages[1]), max(w.villages[0], w.villages[1])}) {
			t.Fatalf("the test's points do not tie: %v", want)
		}
		w.monthOver(t, 0)
		browser := env.Browser(demo.PhoneTownAdmin)
		if st, page := browser.Get("/admin"); st != 200 || !strings.Contains(page, "评定上月流动红旗") {
			t.Errorf("the staff overview does not ask for last month's flag: %d", st)
		}
		// Without confirming, the page asks; nothing is awarded.
		if st, body := browser.PostForm("/admin/honours/flags", map[string][]string{"month": {w.month}}); st != 200 || !strings.Contains(body, `name="reason"`) {
			t.Fatalf("the award's confirmation: %d", st)
		}
		st, to := browser.Submit("/admin/honours/flags", map[string][]string{"month": {w.month}, "confirmed": {"1"}, "reason": {"按公式评定"}})
		if st != http.StatusSeeOther || !strings.Contains(to, "flash=flash.honours_flag_awarded") {
			t.Fatalf("award from the page: %d %s", st, to)
		}
		var b honours.FlagBoard
		if st, body := w.town.JSON("GET", "/api/v1/flags?month="+w.month, nil, &b); st != 200 || b.Current == nil {
			t.Fatalf("board: %d %s", st, body)
		}
		if got := holders(*b.Current); !slices.Equal(got, winners(want)) {
			t.Errorf("holders %v, want both level villages %v", got, winners(want))
		}
		if st, page := browser.Get(to); st != 200 || !strings.Contains(page, b.Current.HolderNames()) || !strings.Contains(page, "、") {
			t.Errorf("the page after the award does not name both holders: %d", st)
		}
		if st, page := browser.Get("/admin"); st != 200 || strings.Contains(page, "评定上月流动红旗") {
			t.Errorf("the staff overview still asks for last month's flag: %d", st)
		}
		if st, page := browser.PostForm("/admin/honours/flags", map[string][]string{"month": {w.month}, "confirmed": {"1"}, "reason": {"再评一次"}}); st != http.StatusConflict ||
			!strings.Contains(page, "已经评定过了") {
			t.Errorf("a second award from the page: %d", st)
		}
		// A village's admin reads the board and may not award (403); another town's admin finds
		// nothing (404), on the board as on the award.
		if st, _ := env.API(demo.PhoneVillageAdmin).JSON("GET", "/api/v1/flags", nil, nil); st != 200 {
			t.Errorf("a village's admin reads the board: %d", st)
		}
		if st, _ := env.API(demo.PhoneVillageAdmin).JSON("POST", "/api/v1/flags", map[string]any{"month": "2000-01", "reason": "越权"}, nil); st != http.StatusForbidden {
			t.Errorf("a village's admin awards: %d", st)
		}
		other := env.API(demo.PhoneTownAdmin2)
		town := fmt.Sprint(env.Info.TownID)
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/flags?town_id=" + town, nil},
			{"POST", "/api/v1/flags", map[string]any{"town_id": env.Info.TownID, "month": "2000-01", "reason": "越权"}},
			{"GET", "/api/v1/honours/households?town_id=" + town, nil},
			{"POST", "/api/v1/honours/households", map[string]any{"town_id": env.Info.TownID, "month": "2000-01"}},
		} {
			if st, body := other.JSON(c.method, c.path, c.body, nil); st != http.StatusNotFound {
				t.Errorf("another town's admin: %s %s: %d %s", c.method, c.path, st, body)
			}
		}
	})
}

// actorOf is the actor of a client's session, for the service calls that set up a test.
func actorOf(t *testing.T, env *servertest.Env, c *servertest.Client) *auth.Actor {
	t.Helper()
	a, err := env.Sys.Auth.Authenticate(context.Background(), c.Token)
	if err != nil || a == nil {
		t.Fatalf("actor: %v", err)
	}
	return a
}

// A month's 文明大户 list goes on notice with its heads named (a minor masked), a resident's
// objection upheld strikes a household, and the published list keeps the rest, by month.
func TestHouseholdsThroughNotice(t *testing.T) {
	servertest.EachWith(t, flagsOptions, false, func(t *testing.T, env *servertest.Env) {
		w := newFlagsWorld(t, env)
		// Three adults of different households in three villages earn; the first earns most.
		var earners []int64
		for i, v := range w.villages[:3] {
			r := w.residents(t, v, true)[0]
			earners = append(earners, r)
			w.award(t, r, "clean")
			if i == 0 {
				w.award(t, r, "sort")
			}
		}
		w.monthOver(t, 0)
		admin := env.Browser(demo.PhoneTownAdmin)
		if st, page := admin.Get("/admin"); st != 200 || !strings.Contains(page, "上月文明大户名单待公示") {
			t.Errorf("the staff overview does not ask for last month's list: %d", st)
		}
		if st, page := admin.Get("/admin/honours/households"); st != 200 || !strings.Contains(page, "公示名单") {
			t.Errorf("the households page offers no list to put on notice: %d", st)
		}
		var n honours.Notice
		if st, body := w.town.JSON("POST", "/api/v1/honours/households", map[string]any{"month": w.month, "size": 2}, &n); st != http.StatusAccepted {
			t.Fatalf("put the list on notice: %d %s", st, body)
		}
		// Places 1 and 2, and the two level at 2: three households.
		if len(n.Items) != 3 || n.Items[0].Rank != 1 || n.Items[1].Rank != 2 || n.Items[2].Rank != 2 || n.Kind != honours.NoticeHouseholds || n.VillageID != 0 {
			t.Fatalf("the list on notice: %+v", n)
		}
		if st, body := w.town.JSON("POST", "/api/v1/honours/households", map[string]any{"month": w.month, "size": 2}, nil); st != http.StatusConflict {
			t.Errorf("a second list of the month: %d %s", st, body)
		}
		if st, page := admin.Get("/admin"); st != 200 || strings.Contains(page, "上月文明大户名单待公示") {
			t.Errorf("the staff overview still asks for last month's list: %d", st)
		}
		if st, page := admin.Get("/admin/honours/households?month=" + w.month); st != 200 || !strings.Contains(page, fmt.Sprintf("/admin/honours/notices/%d", n.ID)) {
			t.Errorf("the households page does not lead to the notice: %d", st)
		}
		var head string
		var household int64
		env.Sys.DB.Read().QueryRow(`SELECT h.id, COALESCE(r.name, '') FROM residents e JOIN households h ON h.id = e.household_id LEFT JOIN residents r ON r.id = h.head_resident_id
			WHERE e.id = $1`, earners[0]).Scan(&household, &head)
		if n.Items[0].Label != head || n.Items[0].ItemID != household {
			t.Errorf("first on the list: %+v, want the household %d of %q", n.Items[0], household, head)
		}
		// Nothing is published before the notice ends.
		var board honours.HouseholdBoard
		if st, body := env.API(demo.PhoneResident).JSON("GET", "/api/v1/honours/households?month="+w.month, nil, &board); st != 200 || board.List != nil {
			t.Fatalf("the board before publishing: %d %s", st, body)
		}
		// A resident objects to the last household; the town upholds it; the list is published
		// once its notice is over.
		struck := n.Items[2]
		var o honours.Objection
		if st, body := env.API(demo.PhoneResident).JSON("POST", fmt.Sprintf("/api/v1/honours/notices/%d/objections", n.ID),
			map[string]any{"item_id": struck.ItemID, "reason": "这户本月有违规"}, &o); st != http.StatusCreated {
			t.Fatalf("object: %d %s", st, body)
		}
		if st, body := w.town.JSON("POST", fmt.Sprintf("/api/v1/honours/objections/%d", o.ID), map[string]any{"uphold": true, "decision": "核实属实"}, nil); st != 200 {
			t.Fatalf("uphold: %d %s", st, body)
		}
		publish := fmt.Sprintf("/api/v1/honours/notices/%d/publish", n.ID)
		if st, body := w.town.JSON("POST", publish, nil, nil); st != http.StatusConflict {
			t.Fatalf("published before the notice ended: %d %s", st, body)
		}
		w.monthOver(t, bank.NoticePeriod+time.Hour)
		if st, body := w.town.JSON("POST", publish, nil, nil); st != 200 {
			t.Fatalf("publish: %d %s", st, body)
		}
		if st, body := env.API(demo.PhoneResident).JSON("GET", "/api/v1/honours/households?month="+w.month, nil, &board); st != 200 || board.List == nil ||
			len(board.List.Items) != 2 || board.Months[0] != w.month {
			t.Fatalf("the published board: %d %s", st, body)
		}
		for _, it := range board.List.Items {
			if it.HouseholdID == struck.ItemID {
				t.Errorf("the struck household is published: %+v", it)
			}
		}
		if st, page := env.Browser(demo.PhoneResident).Get("/honours/households?month=" + w.month); st != 200 || !strings.Contains(page, n.Items[0].Label) ||
			strings.Contains(page, ">"+struck.Label+"<") {
			t.Errorf("the published page: %d", st)
		}
		// The head of a published household is told.
		var told int
		env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM notifications n JOIN households h ON h.head_resident_id = n.resident_id WHERE h.id = $1 AND n.title = '你家被评为文明大户'`,
			household).Scan(&told)
		if told != 1 {
			t.Errorf("the first household's head was told %d times", told)
		}
	})
}
