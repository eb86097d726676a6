// Package flow is the order flow kit the pillars share: an order (a need, a lesson order, a
// referral, a project, a case) moves from asking to doing to rating through states declared as
// data. A pillar keeps its orders in its own table with an id and a status column, declares its
// Flow once, and writes one function that says what a person is to an order (their Party). The kit
// answers which actions that person may take now, moves an order by compare-and-set with a step in
// the one timeline (flow_steps) and an audit row in the same transaction, lists overdue orders and
// counts the three rates of Beijing's 接诉即办 (响应率, 解决率, 满意率).
package flow

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"siwei/internal/errs"
)

// Party is what a person is to an order; one person may be several at once (a village admin who
// files a need for themself is its dispatcher and its beneficiary). The zero Party is nobody: the
// order is not theirs to see.
type Party uint8

// The parties of an order.
const (
	// Requester asked for it (点单): the resident who filed a need, the branch that ordered a lesson.
	Requester Party = 1 << iota
	// Dispatcher routes it (派单): the village or town staff who assign it.
	Dispatcher
	// Provider does it (接单): the volunteer, the expert, the department, the member unit.
	Provider
	// Beneficiary is served by it, and rates it (评单).
	Beneficiary
)

// Has reports whether p holds any of the parties in q.
func (p Party) Has(q Party) bool { return p&q != 0 }

// State is a state an order can be in.
type State struct {
	Name string
	// Deadline is how long an order may stay in the state, from when it entered; 0 is none. A
	// step may set its own due time instead (an urgency, working days, an extension).
	Deadline time.Duration
	// Responded marks the states that answer the request (响应): the first entry into one counts
	// for the response rate, if every state left before it was left in time.
	Responded bool
	// Done marks the states in which the request is met (解决), for the resolution rate.
	Done bool
}

// Action moves an order from one of its From states to To.
type Action struct {
	Name string
	From []string
	To   string
	// By are the parties that may take it.
	By Party
	// NotBy are the parties that may never take it, whatever else they are: nobody rates their
	// own work.
	NotBy Party
	// Reason requires a reason (a refusal, a sending back).
	Reason bool
	// Rating makes the action carry a rating from 1 to 5 (评单), kept in the timeline.
	Rating bool
	// NotYours is the message key when the person is not one of By; empty takes the flow's.
	NotYours string
}

// Keys are the message keys of a flow's refusals. New takes the kit's own (flow.*) for any left
// empty; a flow that had keys of its own before the kit keeps them here.
type Keys struct {
	Unknown        string // no such action (422 on the field "action")
	NotNow         string // not from the order's state, or another step got there first (409)
	NotYours       string // not the person's part (403)
	OwnWork        string // the person is one of NotBy (403)
	ReasonRequired string // the field "reason" is empty (422)
	RatingInvalid  string // the field "rating" is not 1–5 (422)
}

// Flow is a declared order flow. Declare it once, as a package variable built with New.
type Flow struct {
	// Name names the flow in the timeline and the audit log ("volunteer.need").
	Name string
	// Table is the pillar's table of orders, with an id and a status column.
	Table string
	// Start is the state an order is opened in.
	Start   string
	States  []State
	Actions []Action
	Keys    Keys
}

// New checks a declaration and fills the kit's default keys. It panics on a flow that cannot
// work (an unknown state, two actions of one name from one state), as a mistyped constant would.
func New(f Flow) *Flow {
	k := &f.Keys
	k.Unknown, k.NotNow, k.NotYours = cmp.Or(k.Unknown, "flow.action_unknown"), cmp.Or(k.NotNow, "flow.not_now"), cmp.Or(k.NotYours, "flow.not_your_part")
	k.OwnWork, k.ReasonRequired, k.RatingInvalid = cmp.Or(k.OwnWork, "flow.own_work"), cmp.Or(k.ReasonRequired, "flow.reason_required"), cmp.Or(k.RatingInvalid, "flow.rating_invalid")
	if f.Name == "" || f.Table == "" {
		panic("flow: a flow needs a name and a table")
	}
	if _, ok := f.State(f.Start); !ok {
		panic(fmt.Sprintf("flow %s: start state %q is not declared", f.Name, f.Start))
	}
	seen := map[[2]string]bool{}
	for _, a := range f.Actions {
		first := f.Actions[slices.IndexFunc(f.Actions, func(b Action) bool { return b.Name == a.Name })]
		if len(a.From) == 0 || first.Reason != a.Reason || first.Rating != a.Rating {
			panic(fmt.Sprintf("flow %s: action %s needs from-states, and the same reason and rating wherever it is taken", f.Name, a.Name))
		}
		if a.Name == "" || a.By == 0 {
			panic(fmt.Sprintf("flow %s: action %q needs a name and a party", f.Name, a.Name))
		}
		if _, ok := f.State(a.To); !ok {
			panic(fmt.Sprintf("flow %s: action %s goes to undeclared state %q", f.Name, a.Name, a.To))
		}
		for _, from := range a.From {
			if _, ok := f.State(from); !ok {
				panic(fmt.Sprintf("flow %s: action %s leaves undeclared state %q", f.Name, a.Name, from))
			}
			if seen[[2]string{a.Name, from}] {
				panic(fmt.Sprintf("flow %s: two actions %s from %s", f.Name, a.Name, from))
			}
			seen[[2]string{a.Name, from}] = true
		}
	}
	return &f
}

// State returns the declared state of that name.
func (f *Flow) State(name string) (State, bool) {
	i := slices.IndexFunc(f.States, func(s State) bool { return s.Name == name })
	if i < 0 {
		return State{}, false
	}
	return f.States[i], true
}

// Action returns the action of that name that leaves state, if there is one.
func (f *Flow) Action(state, name string) (Action, bool) {
	for _, a := range f.Actions {
		if a.Name == name && slices.Contains(a.From, state) {
			return a, true
		}
	}
	return Action{}, false
}

// Allowed names the actions that parties p may take on an order in state, in declaration order:
// pages draw their buttons from it and the API lists it as an order's actions.
func (f *Flow) Allowed(state string, p Party) []string {
	out := []string{}
	for _, a := range f.Actions {
		if slices.Contains(a.From, state) && p.Has(a.By) && !p.Has(a.NotBy) && !slices.Contains(out, a.Name) {
			out = append(out, a.Name)
		}
	}
	return out
}

// To is the state an action leads to wherever it is taken from: "" for an unknown action, or one
// whose state depends on where the order was (a sending back).
func (f *Flow) To(action string) string {
	to := ""
	for _, a := range f.Actions {
		if a.Name == action {
			if to != "" && to != a.To {
				return ""
			}
			to = a.To
		}
	}
	return to
}

// Can is Allowed as a set, for templates ({{if .Can.assign}}).
func (f *Flow) Can(state string, p Party) map[string]bool {
	m := map[string]bool{}
	for _, n := range f.Allowed(state, p) {
		m[n] = true
	}
	return m
}

// Order is an order as the kit needs it: its id, the state the pillar read, and what the acting
// person is to it.
type Order struct {
	ID      int64
	State   string
	Parties Party
}

// Check decides whether parties may take the action on an order in its state, with the reason and
// rating given, and returns the action. The refusals, in this order: an unknown action; the fields
// (no reason, a rating outside 1–5), so that a form is corrected before it is judged; not from
// this state; not their part; their own work. Move checks again; a pillar calls Check first when
// it has more to validate.
func (f *Flow) Check(o Order, action, reason string, rating int) (Action, error) {
	i := slices.IndexFunc(f.Actions, func(a Action) bool { return a.Name == action })
	if i < 0 {
		return Action{}, field("action", f.Keys.Unknown)
	}
	if f.Actions[i].Reason && reason == "" {
		return Action{}, field("reason", f.Keys.ReasonRequired)
	}
	if f.Actions[i].Rating && (rating < 1 || rating > 5) {
		return Action{}, field("rating", f.Keys.RatingInvalid)
	}
	a, ok := f.Action(o.State, action)
	if !ok {
		return Action{}, errs.New(errs.Conflict, f.Keys.NotNow)
	}
	if !o.Parties.Has(a.By) {
		key := a.NotYours
		if key == "" {
			key = f.Keys.NotYours
		}
		return Action{}, errs.New(errs.Forbidden, key)
	}
	if o.Parties.Has(a.NotBy) {
		return Action{}, errs.New(errs.Forbidden, f.Keys.OwnWork)
	}
	return a, nil
}

// field is a refusal naming one field.
func field(name, key string) error {
	return &errs.Error{Code: errs.Invalid, Key: key, Fields: []errs.FieldError{{Field: name, Key: key}}}
}
