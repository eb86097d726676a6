package flow_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/errs"
	"siwei/internal/flow"
)

// repair is a toy flow: a resident asks for a repair, the village assigns a worker, who accepts
// (or declines, with a reason) and finishes; the resident rates it and may reopen it once rated.
var repair = flow.New(flow.Flow{
	Name: "toy.repair", Table: "toy_repairs", Start: "asked",
	States: []flow.State{
		{Name: "asked", Deadline: 2 * time.Hour},
		{Name: "assigned", Deadline: time.Hour},
		{Name: "working", Responded: true},
		{Name: "done", Responded: true, Done: true},
		{Name: "rated", Responded: true, Done: true},
		{Name: "cancelled"},
	},
	Actions: []flow.Action{
		{Name: "assign", From: []string{"asked"}, To: "assigned", By: flow.Dispatcher},
		{Name: "accept", From: []string{"assigned"}, To: "working", By: flow.Provider},
		{Name: "decline", From: []string{"assigned"}, To: "asked", By: flow.Provider, Reason: true},
		{Name: "finish", From: []string{"working"}, To: "done", By: flow.Provider | flow.Dispatcher},
		{Name: "rate", From: []string{"done"}, To: "rated", By: flow.Requester | flow.Beneficiary, NotBy: flow.Provider, Rating: true},
		{Name: "reopen", From: []string{"rated"}, To: "working", By: flow.Requester, Reason: true},
		{Name: "cancel", From: []string{"asked", "assigned"}, To: "cancelled", By: flow.Requester | flow.Dispatcher, Reason: true},
	},
})

func key(err error) string {
	if e, ok := errs.As(err); ok {
		if len(e.Fields) > 0 {
			return e.Fields[0].Field + ":" + e.Fields[0].Key
		}
		return string(e.Code) + ":" + e.Key
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestAllowedByParty(t *testing.T) {
	for _, c := range []struct {
		state string
		p     flow.Party
		want  string
	}{
		{"asked", 0, ""},
		{"asked", flow.Requester, "cancel"},
		{"asked", flow.Dispatcher, "assign cancel"},
		{"asked", flow.Provider, ""},
		{"assigned", flow.Provider, "accept decline"},
		{"assigned", flow.Requester | flow.Provider, "accept decline cancel"},
		{"working", flow.Dispatcher, "finish"},
		{"done", flow.Beneficiary, "rate"},
		{"done", flow.Beneficiary | flow.Provider, ""}, // nobody rates their own work
		{"rated", flow.Requester, "reopen"},
		{"cancelled", flow.Requester | flow.Dispatcher | flow.Provider | flow.Beneficiary, ""},
	} {
		if got := strings.Join(repair.Allowed(c.state, c.p), " "); got != c.want {
			t.Errorf("%s by %b: %q, want %q", c.state, c.p, got, c.want)
		}
		if can := repair.Can(c.state, c.p); len(can) != len(repair.Allowed(c.state, c.p)) {
			t.Errorf("%s by %b: Can %v", c.state, c.p, can)
		}
	}
	if repair.To("assign") != "assigned" || repair.To("nothing") != "" {
		t.Errorf("To: %q %q", repair.To("assign"), repair.To("nothing"))
	}
}

func TestCheckRefusals(t *testing.T) {
	for _, c := range []struct {
		name   string
		o      flow.Order
		action string
		reason string
		rating int
		want   string
	}{
		{"OK", flow.Order{State: "asked", Parties: flow.Dispatcher}, "assign", "", 0, ""},
		{"ErrUnknown", flow.Order{State: "asked", Parties: flow.Dispatcher}, "fly", "", 0, "action:flow.action_unknown"},
		{"ErrNotNow", flow.Order{State: "working", Parties: flow.Dispatcher}, "assign", "", 0, "conflict:flow.not_now"},
		{"ErrNotYours", flow.Order{State: "asked", Parties: flow.Requester}, "assign", "", 0, "forbidden:flow.not_your_part"},
		{"ErrOwnWork", flow.Order{State: "done", Parties: flow.Beneficiary | flow.Provider}, "rate", "", 5, "forbidden:flow.own_work"},
		{"ErrReasonRequired", flow.Order{State: "assigned", Parties: flow.Provider}, "decline", "", 0, "reason:flow.reason_required"},
		{"ErrRatingInvalid", flow.Order{State: "done", Parties: flow.Beneficiary}, "rate", "", 6, "rating:flow.rating_invalid"},
		{"ErrRatingZero", flow.Order{State: "done", Parties: flow.Beneficiary}, "rate", "", 0, "rating:flow.rating_invalid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := repair.Check(c.o, c.action, c.reason, c.rating)
			if got := key(err); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestNewRefusesBrokenFlows(t *testing.T) {
	for name, f := range map[string]flow.Flow{
		"unknown start":  {Name: "x", Table: "x", Start: "nowhere", States: []flow.State{{Name: "a"}}},
		"unknown to":     {Name: "x", Table: "x", Start: "a", States: []flow.State{{Name: "a"}}, Actions: []flow.Action{{Name: "go", From: []string{"a"}, To: "b", By: flow.Requester}}},
		"nobody":         {Name: "x", Table: "x", Start: "a", States: []flow.State{{Name: "a"}}, Actions: []flow.Action{{Name: "go", From: []string{"a"}, To: "a"}}},
		"twice from one": {Name: "x", Table: "x", Start: "a", States: []flow.State{{Name: "a"}}, Actions: []flow.Action{{Name: "go", From: []string{"a"}, To: "a", By: flow.Requester}, {Name: "go", From: []string{"a"}, To: "a", By: flow.Provider}}},
		"reason differs": {Name: "x", Table: "x", Start: "a", States: []flow.State{{Name: "a"}, {Name: "b"}}, Actions: []flow.Action{{Name: "go", From: []string{"a"}, To: "b", By: flow.Requester}, {Name: "go", From: []string{"b"}, To: "a", By: flow.Requester, Reason: true}}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New accepted it")
				}
			}()
			flow.New(f)
		})
	}
}

// bench is a toy pillar: its table of repairs and a clock.
type bench struct {
	t   *testing.T
	d   *db.DB
	ctx context.Context
	t0  time.Time
}

func newBench(t *testing.T, d *db.DB) *bench {
	ctx := context.Background()
	if _, err := d.Write().ExecContext(ctx, `CREATE TABLE toy_repairs (id BIGINT PRIMARY KEY, grp BIGINT NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL DEFAULT '')`); err != nil {
		t.Fatal(err)
	}
	return &bench{t: t, d: d, ctx: ctx, t0: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
}

var (
	resident = &auth.Actor{AccountID: 11, Name: "王大爷"}
	staff    = &auth.Actor{AccountID: 2, Name: "村委会"}
	worker   = &auth.Actor{AccountID: 31, Name: "李师傅"}
)

// open files repair id in group grp at t0 plus at.
func (b *bench) open(id, grp int64, at time.Duration) {
	b.t.Helper()
	err := b.d.Tx(b.ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(b.ctx, `INSERT INTO toy_repairs (id, grp, status) VALUES ($1, $2, $3)`, id, grp, repair.Start); err != nil {
			return err
		}
		return repair.Open(b.ctx, tx, id, flow.Step{By: resident, At: b.t0.Add(at)})
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

// move takes the action on repair id, which the caller believes to be in state from.
func (b *bench) move(id int64, from string, p flow.Party, s flow.Step, at time.Duration) error {
	s.At = b.t0.Add(at)
	return b.d.Tx(b.ctx, func(tx *sql.Tx) error {
		_, err := repair.Move(b.ctx, tx, flow.Order{ID: id, State: from, Parties: p}, s)
		return err
	})
}

func (b *bench) must(id int64, from string, p flow.Party, s flow.Step, at time.Duration) {
	b.t.Helper()
	if err := b.move(id, from, p, s, at); err != nil {
		b.t.Fatalf("%d %s: %v", id, s.Action, err)
	}
}

func (b *bench) count(q string, args ...any) int {
	b.t.Helper()
	var n int
	if err := b.d.Read().QueryRowContext(b.ctx, q, args...).Scan(&n); err != nil {
		b.t.Fatal(err)
	}
	return n
}

func TestMoveWritesTheRowTheTimelineAndTheAudit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		b := newBench(t, d)
		b.open(1, 0, 0)
		b.must(1, "asked", flow.Dispatcher, flow.Step{Action: "assign", By: staff, Set: `note = $1`, Args: []any{"李师傅"}, Audit: &auth.AuditEntry{TownID: 7, VillageID: 8}}, time.Minute)
		if err := b.move(1, "assigned", flow.Provider, flow.Step{Action: "decline", By: worker}, 2*time.Minute); key(err) != "reason:flow.reason_required" {
			t.Errorf("decline without reason: %q", key(err))
		}
		b.must(1, "assigned", flow.Provider, flow.Step{Action: "decline", By: worker, Reason: "工具不够"}, 3*time.Minute)
		var status, note string
		if err := d.Read().QueryRowContext(b.ctx, `SELECT status, note FROM toy_repairs WHERE id = 1`).Scan(&status, &note); err != nil || status != "asked" || note != "李师傅" {
			t.Errorf("row: %q %q %v", status, note, err)
		}
		steps, err := repair.Timeline(b.ctx, d.Read(), 1)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range steps {
			got = append(got, fmt.Sprintf("%s>%s %s %s %q %s", e.From, e.To, e.Action, e.ActorName, e.Reason, e.At.Sub(b.t0)))
		}
		want := []string{`>asked open 王大爷 "" 0s`, `asked>assigned assign 村委会 "" 1m0s`, `assigned>asked decline 李师傅 "工具不够" 3m0s`}
		if !slices.Equal(got, want) {
			t.Errorf("timeline:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !steps[0].Left.Equal(b.t0.Add(time.Minute)) || !steps[0].Due.Equal(b.t0.Add(2*time.Hour)) || !steps[2].Left.IsZero() || !steps[2].Due.Equal(b.t0.Add(3*time.Minute+2*time.Hour)) {
			t.Errorf("stays: %+v", steps)
		}
		if n := b.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'toy.repair.assign' AND entity = 'toy_repair' AND entity_id = 1 AND village_id = 8 AND actor_account_id = 2`); n != 1 {
			t.Errorf("%d audit rows of the assignment", n)
		}
		if n := b.count(`SELECT COUNT(*) FROM audit_log`); n != 1 {
			t.Errorf("%d audit rows, want only the assignment's", n)
		}
	})
}

func TestMoveIsACompareAndSet(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		b := newBench(t, d)
		b.open(1, 0, 0)
		b.must(1, "asked", flow.Dispatcher, flow.Step{Action: "assign", By: staff}, time.Minute)
		// Two workers of the team race to accept it: one wins, the other is told it moved on.
		const racers = 8
		var wg sync.WaitGroup
		errc := make(chan error, racers)
		for i := range racers {
			wg.Go(func() {
				errc <- b.move(1, "assigned", flow.Provider, flow.Step{Action: "accept", By: &auth.Actor{AccountID: int64(40 + i), Name: "worker"}, Audit: &auth.AuditEntry{}}, 2*time.Minute)
			})
		}
		wg.Wait()
		close(errc)
		won, lost := 0, 0
		for err := range errc {
			switch key(err) {
			case "":
				won++
			case "conflict:flow.not_now":
				lost++
			default:
				t.Errorf("racer: %v", err)
			}
		}
		if won != 1 || lost != racers-1 {
			t.Errorf("%d won, %d lost", won, lost)
		}
		if n := b.count(`SELECT COUNT(*) FROM flow_steps WHERE flow = 'toy.repair' AND order_id = 1 AND action = 'accept'`); n != 1 {
			t.Errorf("%d accept steps", n)
		}
		if n := b.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'toy.repair.accept'`); n != 1 {
			t.Errorf("%d accept audits: a lost race left a trace", n)
		}
		if n := b.count(`SELECT COUNT(*) FROM flow_steps WHERE flow = 'toy.repair' AND order_id = 1 AND left_at IS NULL`); n != 1 {
			t.Errorf("%d open stays", n)
		}
	})
}

func TestOverdue(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		b := newBench(t, d)
		for id := int64(1); id <= 4; id++ {
			b.open(id, id%2, 0)
		}
		b.must(1, "asked", flow.Dispatcher, flow.Step{Action: "assign", By: staff}, 90*time.Minute)                                // assigned, due 2h30
		b.must(3, "asked", flow.Dispatcher, flow.Step{Action: "assign", By: staff, Due: b.t0.Add(10 * time.Hour)}, 30*time.Minute) // its own due time
		b.must(4, "asked", flow.Dispatcher, flow.Step{Action: "cancel", By: staff, Reason: "重复"}, 30*time.Minute)                  // no deadline
		late, err := repair.Overdue(b.ctx, d.Read(), b.t0.Add(3*time.Hour), flow.Orders{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range late {
			got = append(got, fmt.Sprintf("%d %s %s %s", l.OrderID, l.State, l.Entered.Sub(b.t0), l.Due.Sub(b.t0)))
		}
		if want := []string{"2 asked 0s 2h0m0s", "1 assigned 1h30m0s 2h30m0s"}; !slices.Equal(got, want) {
			t.Errorf("overdue at 3h: %q, want %q", got, want)
		}
		odd, err := repair.Overdue(b.ctx, d.Read(), b.t0.Add(3*time.Hour), flow.Orders{SQL: `SELECT id, grp FROM toy_repairs WHERE grp = $1`, Args: []any{1}})
		if err != nil || len(odd) != 1 || odd[0].OrderID != 1 || odd[0].Group != 1 {
			t.Errorf("overdue of group 1: %+v %v", odd, err)
		}
		if late, _ := repair.Overdue(b.ctx, d.Read(), b.t0.Add(time.Hour), flow.Orders{}); len(late) != 0 {
			t.Errorf("overdue at 1h: %+v", late)
		}
	})
}

func TestRates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		b := newBench(t, d)
		h := time.Hour
		// 1: answered in time, rated 2, reopened, finished again and rated 5.
		b.open(1, 1, 0)
		b.must(1, "asked", flow.Dispatcher, flow.Step{Action: "assign", By: staff}, h)
		b.must(1, "assigned", flow.Provider, flow.Step{Action: "accept", By: worker}, 90*time.Minute)
		b.must(1, "working", flow.Provider, flow.Step{Action: "finish", By: worker}, 5*h)
		b.must(1, "done", flow.Beneficiary, flow.Step{Action: "rate", By: resident, Rating: 2}, 6*h)
		b.must(1, "rated", flow.Requester, flow.Step{Action: "reopen", By: resident, Reason: "又漏了"}, 7*h)
		b.must(1, "working", flow.Provider, flow.Step{Action: "finish", By: worker}, 8*h)
		b.must(1, "done", flow.Beneficiary, flow.Step{Action: "rate", By: resident, Rating: 5}, 9*h)
		// 2: assigned late, so not answered in time; done and rated 3.
		b.open(2, 1, 0)
		b.must(2, "asked", flow.Dispatcher, flow.Step{Action: "assign", By: staff}, 3*h)
		b.must(2, "assigned", flow.Provider, flow.Step{Action: "accept", By: worker}, 3*h+time.Minute)
		b.must(2, "working", flow.Provider, flow.Step{Action: "finish", By: worker}, 5*h)
		b.must(2, "done", flow.Beneficiary, flow.Step{Action: "rate", By: resident, Rating: 3}, 6*h)
		// 3: still waiting, in another group; 4: opened the day before the period.
		b.open(3, 2, 0)
		b.open(4, 1, -24*h)
		b.must(4, "asked", flow.Dispatcher, flow.Step{Action: "assign", By: staff}, -23*h)
		b.must(4, "assigned", flow.Provider, flow.Step{Action: "accept", By: worker}, -23*h)

		from, to := b.t0.Add(-h), b.t0.Add(12*h)
		all, err := repair.Rates(b.ctx, d.Read(), from, to, flow.Orders{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := all[0], (flow.Rates{Opened: 3, Responded: 1, Done: 2, Rated: 2, Satisfied: 1}); got != want || len(all) != 1 {
			t.Errorf("rates: %+v, want %+v", all, want)
		}
		if r := all[0]; fmt.Sprintf("%.3f %.3f %.3f", r.Response(), r.Resolution(), r.Satisfaction()) != "0.333 0.667 0.500" {
			t.Errorf("ratios: %v %v %v", r.Response(), r.Resolution(), r.Satisfaction())
		}
		by, err := repair.Rates(b.ctx, d.Read(), from, to, flow.Orders{SQL: `SELECT id, grp FROM toy_repairs`})
		if err != nil {
			t.Fatal(err)
		}
		if by[1] != (flow.Rates{Opened: 2, Responded: 1, Done: 2, Rated: 2, Satisfied: 1}) || by[2] != (flow.Rates{Opened: 1}) || len(by) != 2 {
			t.Errorf("rates by group: %+v", by)
		}
		if none, err := repair.Rates(b.ctx, d.Read(), to, to.Add(h), flow.Orders{}); err != nil || len(none) != 0 || none[0].Response() != 0 {
			t.Errorf("rates of an empty period: %+v %v", none, err)
		}
	})
}
