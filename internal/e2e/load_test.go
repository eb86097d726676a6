package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// resident is a village resident as the load picks them: their id, class and the points of the
// rules in force for them.
type resident struct {
	ID     int64
	Class  string
	Points map[string]int64 // rule code → points
}

// residentsOf lists a village's active residents with their rules, through the staff API.
func residentsOf(t testing.TB, staff *client, villageID int64) []resident {
	t.Helper()
	var out []resident
	for page := 1; ; page++ {
		var res struct {
			Items []struct {
				ID     int64  `json:"id"`
				Class  string `json:"class"`
				Status string `json:"status"`
			} `json:"items"`
			Pages int `json:"pages"`
		}
		staff.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/residents?village_id=%d&page=%d", villageID, page), nil, &res)
		for _, r := range res.Items {
			if r.Status != "active" {
				continue
			}
			var rules []struct {
				Code   string `json:"code"`
				Points int64  `json:"points"`
			}
			staff.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/bank/rules?resident_id=%d", r.ID), nil, &rules)
			pts := map[string]int64{}
			for _, rl := range rules {
				pts[rl.Code] = rl.Points
			}
			out = append(out, resident{ID: r.ID, Class: r.Class, Points: pts})
		}
		if page >= res.Pages {
			return out
		}
	}
}

// under is the residents for whom a rule is in force.
func under(rs []resident, code string) []resident {
	var out []resident
	for _, r := range rs {
		if r.Points[code] > 0 {
			out = append(out, r)
		}
	}
	return out
}

// awardReply is the answer to POST /api/v1/bank/awards.
type awardReply struct {
	TransactionID int64  `json:"transaction_id"`
	Replayed      bool   `json:"replayed"`
	Status        string `json:"status"`
	Pending       *struct {
		ID     int64  `json:"id"`
		Points int64  `json:"points"`
		Status string `json:"status"`
	} `json:"pending"`
}

// redemptionReply is the answer to POST /api/v1/bank/redemptions.
type redemptionReply struct {
	ID            int64  `json:"id"`
	ResidentID    int64  `json:"resident_id"`
	Points        int64  `json:"points"`
	Status        string `json:"status"`
	TransactionID int64  `json:"transaction_id"`
	Replayed      bool   `json:"replayed"`
}

// ack is a write that a server acknowledged with a 2xx: what was sent, by whom, and what the
// server said it did.
type ack struct {
	Kind     string // award (posted), claim (put on notice), redeem
	By       int    // index of the client that sent it
	Path     string
	Body     map[string]any
	Resident int64
	Points   int64 // signed change of the resident's balance once posted
	TxID     int64 // transaction of a posted award or a redemption
	ID       int64 // claim, redemption or sign-up id
	Shift    int64 // a sign-up's shift
}

// load drives concurrent writes and keeps what was acknowledged. After stop, transport errors
// are expected (the server may be dead); before, they are failures.
type load struct {
	run     string
	stopped atomic.Bool
	mu      sync.Mutex
	acks    []ack
	fails   []string
	refused atomic.Int64 // 409s: no points, no stock; expected now and then
	lost    atomic.Int64 // requests without an answer after stop
}

func newLoad() *load {
	return &load{run: fmt.Sprintf("e2e%d", time.Now().UnixNano())}
}

func (l *load) ack(a ack) {
	l.mu.Lock()
	l.acks = append(l.acks, a)
	l.mu.Unlock()
}

func (l *load) fail(format string, args ...any) {
	l.mu.Lock()
	if len(l.fails) < 20 {
		l.fails = append(l.fails, fmt.Sprintf(format, args...))
	}
	l.mu.Unlock()
}

// count is the number of acknowledged writes of a kind.
func (l *load) count(kind string) int {
	n := 0
	for _, a := range l.acks {
		if a.Kind == kind {
			n++
		}
	}
	return n
}

// errStop ends a worker's loop without an error.
var errStop = errors.New("stop")

// worker is one client's loop body; it returns errStop to end the loop.
type worker func(n int) error

// drive runs the workers until ctx is done or each has stopped, then reports failures.
func (l *load) drive(ctx context.Context, t testing.TB, ws ...worker) {
	t.Helper()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				if err := w(n); err != nil {
					if !errors.Is(err, errStop) {
						if l.stopped.Load() {
							l.lost.Add(1)
						} else {
							l.fail("%v", err)
						}
					}
					return
				}
			}
		})
	}
	wg.Wait()
	for _, f := range l.fails {
		t.Error(f)
	}
}

// awarder awards points under a rule to the residents in turn, through the clients in turn.
// A rule with a notice puts each award on notice (202) as a claim.
func (l *load) awarder(cs []*client, w int, rule string, rs []resident) worker {
	return func(n int) error {
		by := (n + w) % len(cs)
		r := rs[(n*7+w)%len(rs)]
		// Each resident is awarded under the rule again and again: confirmed, not a duplicate.
		body := map[string]any{"resident_id": r.ID, "rule_code": rule, "reason": "压力测试 " + l.run,
			"idempotency_key": fmt.Sprintf("%s-%s-%d-%d", l.run, rule, w, n), "confirm_duplicate": true}
		var out awardReply
		st, b, err := cs[by].call("POST", "/api/v1/bank/awards", body, &out)
		if err != nil {
			return err
		}
		a := ack{By: by, Path: "/api/v1/bank/awards", Body: body, Resident: r.ID, Points: r.Points[rule]}
		switch {
		case st == http.StatusCreated && out.Status == "posted" && out.TransactionID > 0 && !out.Replayed:
			a.Kind, a.TxID = "award", out.TransactionID
		case st == http.StatusAccepted && out.Pending != nil && out.Pending.ID > 0 && out.Pending.Status == "notice":
			a.Kind, a.ID = "claim", out.Pending.ID
			if out.Pending.Points != a.Points {
				l.fail("claim %d: %d points, the rule gives %d", out.Pending.ID, out.Pending.Points, a.Points)
			}
		default:
			if !l.stopped.Load() {
				l.fail("award %v: status %d: %.300s", body, st, b)
			}
			return errStop
		}
		l.ack(a)
		return nil
	}
}

// redeemer orders one unit of an item for the logged-in resident, through the clients in turn.
func (l *load) redeemer(cs []*client, w int, residentID, itemID int64) worker {
	return func(n int) error {
		by := (n + w) % len(cs)
		body := map[string]any{"item_id": itemID, "quantity": 1, "idempotency_key": fmt.Sprintf("%s-redeem-%d-%d", l.run, w, n)}
		var out redemptionReply
		st, b, err := cs[by].call("POST", "/api/v1/bank/redemptions", body, &out)
		if err != nil {
			return err
		}
		switch {
		case st == http.StatusCreated && out.ID > 0 && out.TransactionID > 0 && out.ResidentID == residentID:
			l.ack(ack{Kind: "redeem", By: by, Path: "/api/v1/bank/redemptions", Body: body, Resident: residentID, Points: -out.Points, TxID: out.TransactionID, ID: out.ID})
		case st == http.StatusConflict: // not enough points or stock yet: wait for awards
			l.refused.Add(1)
			time.Sleep(20 * time.Millisecond)
		default:
			if !l.stopped.Load() {
				l.fail("redeem %v: status %d: %.300s", body, st, b)
			}
			return errStop
		}
		return nil
	}
}

// signupReply is the answer to POST /api/v1/volunteer/shifts/{id}/signups.
type signupReply struct {
	ID         int64  `json:"id"`
	ShiftID    int64  `json:"shift_id"`
	ResidentID int64  `json:"resident_id"`
	Status     string `json:"status"`
	Replayed   bool   `json:"replayed"`
}

// volunteerShifts has village staff publish a post of n one-hour shifts with one place each, from
// tomorrow on, and registers the residents as volunteers; it returns the post's and the shifts' ids.
func volunteerShifts(t testing.TB, staff *client, villageID int64, n int, residents ...*client) (int64, []int64) {
	t.Helper()
	var teams []struct {
		ID int64 `json:"id"`
	}
	staff.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/volunteer/teams?village_id=%d", villageID), nil, &teams)
	if len(teams) == 0 {
		t.Fatalf("village %d has no volunteer teams", villageID)
	}
	day, err := time.Parse("2006-01-02", today())
	if err != nil {
		t.Fatal(err)
	}
	var shifts []map[string]any
	for i := range n {
		h := 7 + i%12
		shifts = append(shifts, map[string]any{"date": day.AddDate(0, 0, 1+i/12).Format("2006-01-02"),
			"start": fmt.Sprintf("%02d:00", h), "end": fmt.Sprintf("%02d:00", h+1), "capacity": 1})
	}
	var post struct {
		ID int64 `json:"id"`
	}
	staff.must(t, http.StatusCreated, "POST", "/api/v1/volunteer/posts", map[string]any{"team_id": teams[0].ID, "title": "压力测试岗",
		"place": "村委会", "rule_code": "volunteer", "shifts": shifts}, &post)
	var detail struct {
		Shifts []struct {
			ID int64 `json:"id"`
		} `json:"shifts"`
	}
	staff.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/volunteer/posts/%d", post.ID), nil, &detail)
	if len(detail.Shifts) != n {
		t.Fatalf("post %d has %d shifts, want %d", post.ID, len(detail.Shifts), n)
	}
	ids := make([]int64, n)
	for i, sh := range detail.Shifts {
		ids[i] = sh.ID
	}
	for _, r := range residents {
		r.must(t, http.StatusOK, "POST", "/api/v1/volunteer/me", map[string]any{"consent": true}, nil)
	}
	return post.ID, ids
}

// checkShifts compares a post's shifts with the acknowledged sign-ups: no shift has more people
// than places, and each holds every sign-up acknowledged for it, in a place or in line. With
// exact, it holds no others either (after a crash, an unanswered sign-up may have landed).
func (l *load) checkShifts(t testing.TB, staff *client, postID int64, exact bool) {
	t.Helper()
	var detail struct {
		Shifts []struct {
			ID       int64 `json:"id"`
			Capacity int   `json:"capacity"`
			Taken    int   `json:"taken"`
			Waiting  int   `json:"waiting"`
		} `json:"shifts"`
	}
	staff.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/volunteer/posts/%d", postID), nil, &detail)
	acked := map[int64]int{}
	for _, a := range l.acks {
		if a.Kind == "signup" {
			acked[a.Shift]++
		}
	}
	for _, sh := range detail.Shifts {
		n := sh.Taken + sh.Waiting
		if sh.Taken > sh.Capacity || n < acked[sh.ID] || (exact && n != acked[sh.ID]) || (acked[sh.ID] > 0 && sh.Taken != sh.Capacity) {
			t.Errorf("shift %d: %d of %d places taken, %d waiting; %d sign-ups acknowledged", sh.ID, sh.Taken, sh.Capacity, sh.Waiting, acked[sh.ID])
		}
	}
}

// signer signs the logged-in resident up for the shifts in turn, through the clients in turn.
// Residents who sign up for the same shifts race for its one place; the other waits in line.
func (l *load) signer(cs []*client, w int, residentID int64, shifts []int64) worker {
	return func(n int) error {
		if n >= len(shifts) {
			return errStop
		}
		by := (n + w) % len(cs)
		path := fmt.Sprintf("/api/v1/volunteer/shifts/%d/signups", shifts[n])
		var out signupReply
		st, b, err := cs[by].call("POST", path, nil, &out)
		if err != nil {
			return err
		}
		if st == http.StatusCreated && out.ID > 0 && out.ShiftID == shifts[n] && out.ResidentID == residentID && !out.Replayed &&
			(out.Status == "confirmed" || out.Status == "waiting") {
			l.ack(ack{Kind: "signup", By: by, Path: path, Resident: residentID, ID: out.ID, Shift: shifts[n]})
			return nil
		}
		if !l.stopped.Load() {
			l.fail("sign up for shift %d: status %d: %.300s", shifts[n], st, b)
		}
		return errStop
	}
}

// replay sends every acknowledged write again, with the same key, and checks that the server
// answers with the first result and posts nothing: proof that each is in the database.
func (l *load) replay(t testing.TB, clientFor func(ack) *client) {
	t.Helper()
	for _, a := range l.acks {
		c := clientFor(a)
		switch a.Kind {
		case "award":
			var out awardReply
			c.must(t, http.StatusOK, "POST", a.Path, a.Body, &out)
			if !out.Replayed || out.TransactionID != a.TxID {
				t.Errorf("award %v acknowledged as transaction %d; replayed: %+v", a.Body, a.TxID, out)
			}
		case "claim":
			var out awardReply
			c.must(t, http.StatusAccepted, "POST", a.Path, a.Body, &out)
			if out.Pending == nil || out.Pending.ID != a.ID {
				t.Errorf("award on notice %v acknowledged as claim %d; replayed: %+v", a.Body, a.ID, out)
			}
		case "signup":
			var out signupReply
			c.must(t, http.StatusOK, "POST", a.Path, nil, &out)
			if out.ID != a.ID || !out.Replayed {
				t.Errorf("sign-up for shift %d acknowledged as %d; again: %+v", a.Shift, a.ID, out)
			}
		case "redeem":
			var out redemptionReply
			c.must(t, http.StatusOK, "POST", a.Path, a.Body, &out)
			if out.ID != a.ID || out.TransactionID != a.TxID || !out.Replayed {
				t.Errorf("order %v acknowledged as %d (transaction %d); replayed: %+v", a.Body, a.ID, a.TxID, out)
			}
		}
	}
}
