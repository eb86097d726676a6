package school

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/people"
)

// The statuses of a lesson order: ordered by a branch and waiting for the town (点单), assigned to
// an expert and waiting for their answer (派单), accepted and become a lesson (接单 → 开课), or
// cancelled with the reason kept. A declined order is ordered again: back with the town.
const (
	OrderOrdered   = "ordered"
	OrderAssigned  = "assigned"
	OrderAccepted  = "accepted"
	OrderRated     = "rated"
	OrderCancelled = "cancelled"
)

// OrderStatuses lists an order's statuses in the order the town's list shows them.
var OrderStatuses = []string{OrderOrdered, OrderAssigned, OrderAccepted, OrderRated, OrderCancelled}

// The deadlines of an order, in working days (clock.AddWorkdays): the town assigns it within
// AssignWorkdays of the order (or of a decline that returned it), the expert answers within
// AnswerWorkdays of the assignment. The service sets each step's due time from them.
const (
	AssignWorkdays = 3
	AnswerWorkdays = 2
)

// OrderFlow is a lesson order's flow, declared once: pages draw their buttons from it, the API
// lists its actions, and Act moves an order by it. The town (Dispatcher) assigns, and may assign
// again while the expert has not answered (one who let the deadline pass), the expert (Provider)
// accepts or declines with a reason, the branch (Requester) or the town cancels with a reason,
// also after the lesson was fixed (not once its roll was closed), and the branch rates the lesson
// once it has ended (评单), which closes the order.
var OrderFlow = flow.New(flow.Flow{
	Name: "school.order", Table: "school_orders", Start: OrderOrdered,
	States: []flow.State{{Name: OrderOrdered}, {Name: OrderAssigned}, {Name: OrderAccepted, Responded: true}, {Name: OrderRated, Responded: true, Done: true}, {Name: OrderCancelled}},
	Actions: []flow.Action{
		{Name: "assign", From: []string{OrderOrdered, OrderAssigned}, To: OrderAssigned, By: flow.Dispatcher},
		{Name: "accept", From: []string{OrderAssigned}, To: OrderAccepted, By: flow.Provider},
		{Name: "decline", From: []string{OrderAssigned}, To: OrderOrdered, By: flow.Provider, Reason: true},
		{Name: "cancel", From: []string{OrderOrdered, OrderAssigned, OrderAccepted}, To: OrderCancelled, By: flow.Requester | flow.Dispatcher, Reason: true},
		{Name: "rate", From: []string{OrderAccepted}, To: OrderRated, By: flow.Requester, NotBy: flow.Provider, Rating: true},
	},
	Keys: flow.Keys{Unknown: "school.order.action_invalid", NotNow: "school.order.not_now", ReasonRequired: "school.order.reason_required"},
})

// Modes are how an order asks for its lesson: in a room of the village, or online.
var Modes = []string{"offline", "online"}

// Order is a lesson order (点单) of a village's party branch, and how far it has got.
type Order struct {
	ID            int64        `json:"id"`
	TownID        int64        `json:"town_id"`
	VillageID     int64        `json:"village_id"`
	VillageName   string       `json:"village_name"`
	CourseID      int64        `json:"course_id"`
	CourseTitle   string       `json:"course_title"`
	Minutes       int          `json:"minutes"`
	Status        string       `json:"status"`
	Dates         []string     `json:"dates"` // the preferred days, 2026-12-10
	Mode          string       `json:"mode"`
	Place         string       `json:"place"`
	Members       int          `json:"members"` // the branch's party members when it ordered
	Others        int          `json:"others"`
	Note          string       `json:"note"`
	OrderedByName string       `json:"ordered_by_name"`
	ExpertID      int64        `json:"expert_id,omitzero"`
	ExpertName    string       `json:"expert_name,omitempty"`
	StartsAt      time.Time    `json:"starts_at,omitzero"`
	EndsAt        time.Time    `json:"ends_at,omitzero"`
	Reason        string       `json:"reason,omitempty"` // the last decline, or why it was cancelled
	LessonID      int64        `json:"lesson_id,omitzero"`
	CreatedAt     time.Time    `json:"created_at"`
	Due           time.Time    `json:"due,omitzero"` // by when its present state must be left
	Overdue       bool         `json:"overdue"`
	Events        []flow.Event `json:"events,omitempty"`
	// Actions are what the person who asked may do with the order now (OrderFlow).
	Actions []string `json:"actions"`

	orderedBy     int64
	expertAccount int64
}

// Audience is how many the branch expects: its party members and the others it added.
func (o Order) Audience() int { return o.Members + o.Others }

// Lesson is a lesson (党课) an accepted order became: its time, and its place or meeting link.
// The attendance of the next slice hangs off it.
type Lesson struct {
	ID           int64     `json:"id"`
	OrderID      int64     `json:"order_id"`
	TownID       int64     `json:"town_id"`
	VillageID    int64     `json:"village_id"`
	VillageName  string    `json:"village_name"`
	CourseID     int64     `json:"course_id"`
	CourseTitle  string    `json:"course_title"`
	ExpertID     int64     `json:"expert_id"`
	ExpertName   string    `json:"expert_name"`
	StartsAt     time.Time `json:"starts_at"`
	EndsAt       time.Time `json:"ends_at"`
	Mode         string    `json:"mode"`
	Place        string    `json:"place"`
	Link         string    `json:"link,omitempty"`
	Status       string    `json:"status"` // scheduled, cancelled
	CancelReason string    `json:"cancel_reason,omitempty"`
	// The branch's rating (评单) and what its 两委 will apply (学后转化).
	BranchRating  int      `json:"branch_rating,omitzero"`
	BranchComment string   `json:"branch_comment,omitempty"`
	Applied       []string `json:"applied,omitempty"`
}

// OrderInput is a branch's order of an offered course. The audience's party members are counted
// from the registry; Others adds the rest.
type OrderInput struct {
	CourseID  int64    `json:"course_id"`
	VillageID int64    `json:"village_id,omitempty"` // the actor's village when they have one
	Dates     []string `json:"dates"`                // one to three days, in the future
	Mode      string   `json:"mode"`                 // offline, online
	Place     string   `json:"place"`                // for offline
	Others    int      `json:"others"`
	Note      string   `json:"note"`
}

// OrderAction moves an order on: assign (expert_id, date among the preferred ones, start 09:00; reassign),
// accept (link, for an online lesson), decline (reason), cancel (reason), rate (rating, reason as
// the comment, applied).
type OrderAction struct {
	Action string `json:"action"`
	// Reassign says the town means to take an assigned order from its expert (改派): an assign
	// without it on an order assigned since the page was read is refused, so that two staff
	// assigning at once do not both win.
	Reassign bool   `json:"reassign,omitempty"`
	ExpertID int64  `json:"expert_id,omitempty"`
	Date     string `json:"date,omitempty"`
	Start    string `json:"start,omitempty"`
	Link     string `json:"link,omitempty"`
	Reason   string `json:"reason,omitempty"` // a decline's or cancellation's reason; a rating's comment
	Rating   int    `json:"rating,omitempty"` // rate: 1–5
	// Applied is what the branch's 两委 will apply from the lesson (学后转化): up to three lines.
	Applied []string `json:"applied,omitempty"`
}

// OrderFilter selects orders: a status, or "" for all.
type OrderFilter struct {
	Status string
}

// The limits of an order.
const (
	maxDates      = 3
	maxDaysAhead  = 180
	maxOthers     = 500
	maxOrderList  = 500
	maxPlaceRunes = 60
	maxNoteRunes  = 500
)

// ---- who is who

// partiesTo is what a person is to an order, and the one place that decides it (pages, API and Act
// all ask it): the staff of its village's branch (PermOrder in the village) ordered it, the town's
// school staff dispatch it, and the expert it is assigned to, through their own login, provides it.
// Nobody else may see it.
func partiesTo(a *auth.Actor, o Order) flow.Party {
	var p flow.Party
	if a == nil || a.AccountID == 0 {
		return 0
	}
	if auth.Can(a, PermOrder, auth.Scope{TownID: o.TownID, VillageID: o.VillageID}) == nil {
		p |= flow.Requester
	}
	if roleIn(a, o.TownID) == manager {
		p |= flow.Dispatcher
	}
	if o.expertAccount != 0 && o.expertAccount == a.AccountID && auth.Can(a, PermTeach, auth.Scope{TownID: o.TownID}) == nil {
		p |= flow.Provider
	}
	return p
}

// orderVillage is the village the actor orders for: the one named, or their only one. A village
// outside their reach is not found; someone who orders for no village is forbidden.
func (s *Service) orderVillage(ctx context.Context, a *auth.Actor, requested int64) (people.Village, error) {
	if a == nil || a.AccountID == 0 {
		return people.Village{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	all, villages := auth.Visible(a, PermOrder, 0)
	if !all && len(villages) == 0 {
		return people.Village{}, errs.New(errs.Forbidden, "error.forbidden")
	}
	if requested == 0 {
		if len(villages) != 1 {
			return people.Village{}, errs.Field("village_id", "field.required")
		}
		requested = villages[0]
	}
	v, err := s.village(ctx, requested)
	if err != nil {
		return v, err
	}
	if auth.Can(a, PermOrder, auth.Scope{TownID: v.TownID, VillageID: v.ID}) != nil {
		return people.Village{}, notFound
	}
	return v, nil
}

// orderVillages are the villages of a town the actor orders for, by name.
func (s *Service) orderVillages(ctx context.Context, a *auth.Actor, townID int64) ([]people.Village, error) {
	all, ids := auth.Visible(a, PermOrder, townID)
	p := s.DB.Params()
	where := `town_id = ` + p.Add(townID)
	if !all {
		if len(ids) == 0 {
			return []people.Village{}, nil
		}
		where += ` AND id IN (` + p.List(ids) + `)`
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, town_id, name FROM villages WHERE `+where+` ORDER BY name, id`, p.Args...)
	if err != nil {
		return nil, fmt.Errorf("school: villages: %w", err)
	}
	defer rows.Close()
	out := []people.Village{}
	for rows.Next() {
		var v people.Village
		if err := rows.Scan(&v.ID, &v.TownID, &v.Name); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// village is a village by id; it checks no permission.
func (s *Service) village(ctx context.Context, id int64) (people.Village, error) {
	var v people.Village
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id, town_id, name FROM villages WHERE id = $1`, id).Scan(&v.ID, &v.TownID, &v.Name)
	if db.IsNoRows(err) {
		return v, notFound
	}
	if err != nil {
		return v, fmt.Errorf("school: village %d: %w", id, err)
	}
	return v, nil
}

// MayOrder reports whether the actor orders lessons for a branch of the town (its own when 0):
// the course page offers 点单 to them.
func (s *Service) MayOrder(a *auth.Actor, townID int64) bool {
	all, villages := auth.Visible(a, PermOrder, townOf(a, townID))
	return all || len(villages) > 0
}

// OrderDesk is what the order form of a course needs: the course, offered on the menu of the
// town, the village the actor orders for (when they have one only, or named) and its party members.
type OrderDesk struct {
	Course   Course
	Village  people.Village
	Villages []people.Village // when the actor orders for several and named none
	Members  int
}

// OrderDesk returns the order form's course and branch, for those who order for a branch of its
// town; anyone else is refused.
func (s *Service) OrderDesk(ctx context.Context, a *auth.Actor, courseID, villageID int64) (OrderDesk, error) {
	var d OrderDesk
	c, err := s.Course(ctx, a, courseID)
	if err != nil {
		return d, err
	}
	if !s.MayOrder(a, c.TownID) {
		return d, errs.New(errs.Forbidden, "error.forbidden")
	}
	if c.Status != Offered {
		return d, errs.New(errs.Conflict, "school.order.course_not_offered", c.Title)
	}
	d.Course = c
	v, err := s.orderVillage(ctx, a, villageID)
	if errs.Is(err, errs.Invalid) {
		d.Villages, err = s.orderVillages(ctx, a, c.TownID) // more than one village: the form asks which
		return d, err
	}
	if err != nil {
		return d, err
	}
	d.Village = v
	d.Members, err = s.PartyMembers(ctx, v.ID)
	return d, err
}

// MayAct returns the order if the actor may take the action on it now, for a page that asks first
// (a cancellation); else the refusal Act would give, before any field is read.
func (s *Service) MayAct(ctx context.Context, a *auth.Actor, id int64, action string) (Order, error) {
	o, p, err := s.orderFor(ctx, a, id)
	if err != nil {
		return Order{}, err
	}
	if !OrderFlow.Can(o.Status, p)[action] {
		_, err := OrderFlow.Check(flow.Order{ID: o.ID, State: o.Status, Parties: p}, action, "-", 0)
		return Order{}, cmpErr(err, errs.New(errs.Conflict, OrderFlow.Keys.NotNow))
	}
	return o, nil
}

// PartyMembers is how many active party members a village's registry holds: an order's expected
// audience by default.
func (s *Service) PartyMembers(ctx context.Context, villageID int64) (int, error) {
	var n int
	err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE village_id = $1 AND party_member AND status = $2`,
		villageID, string(people.Active)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("school: party members: %w", err)
	}
	return n, nil
}

// ---- ordering

// PlaceOrder orders an offered course for a branch (点单). The town's staff have AssignWorkdays
// working days to assign it, and are shown it as overdue after that.
func (s *Service) PlaceOrder(ctx context.Context, a *auth.Actor, in OrderInput) (Order, error) {
	v, err := s.orderVillage(ctx, a, in.VillageID)
	if err != nil {
		return Order{}, err
	}
	loc, err := s.People.Zone(ctx, v.TownID)
	if err != nil {
		return Order{}, err
	}
	in.Mode, in.Place, in.Note = strings.TrimSpace(in.Mode), strings.TrimSpace(in.Place), strings.TrimSpace(in.Note)
	var f errs.Fields
	c, err := s.course(ctx, s.DB.Read(), in.CourseID)
	if err == nil && c.TownID != v.TownID {
		c, err = Course{}, notFound // another town's course is no course of this menu
	}
	switch {
	case errs.Is(err, errs.NotFound):
		f.Add("course_id", "school.order.course_unknown")
	case err != nil:
		return Order{}, err
	case c.Status != Offered:
		f.Add("course_id", "school.order.course_not_offered", c.Title)
	}
	dates := checkDates(&f, in.Dates, clock.In(loc, s.Now).Today())
	switch {
	case !slices.Contains(Modes, in.Mode):
		f.Add("mode", "school.order.mode_invalid")
	case c.ID != 0 && c.Format != Both && string(c.Format) != in.Mode:
		f.Add("mode", "school.order.mode_not_offered", c.Title)
	}
	if in.Mode == "offline" {
		f.Text("place", in.Place, maxPlaceRunes, true)
	} else {
		f.Text("place", in.Place, maxPlaceRunes, false)
	}
	if in.Others < 0 || in.Others > maxOthers {
		f.Add("others", "school.order.others_invalid", maxOthers)
	}
	f.Text("note", in.Note, maxNoteRunes, false)
	if err := f.Err(); err != nil {
		return Order{}, err
	}
	members, err := s.PartyMembers(ctx, v.ID)
	if err != nil {
		return Order{}, err
	}
	now := s.Now()
	var id int64
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO school_orders (town_id, village_id, course_id, status, dates, mode, place, members, others, note,
			ordered_by, ordered_by_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id`,
			v.TownID, v.ID, c.ID, OrderOrdered, strings.Join(dates, ","), in.Mode, in.Place, members, in.Others, in.Note, a.AccountID, a.Name, now).Scan(&id); err != nil {
			return fmt.Errorf("school: order: %w", err)
		}
		return OrderFlow.Open(ctx, tx, id, flow.Step{By: a, At: now, Due: clock.AddWorkdays(now, AssignWorkdays, loc),
			Audit: &auth.AuditEntry{TownID: v.TownID, VillageID: v.ID, Summary: auth.Summarize(nil, map[string]any{"name": c.Title, "village": v.Name})}})
	})
	if err != nil {
		return Order{}, err
	}
	return s.Order(ctx, a, id)
}

// checkDates validates the preferred days of an order: one to three distinct days after today,
// at most maxDaysAhead ahead. They come back sorted.
func checkDates(f *errs.Fields, in []string, today time.Time) []string {
	var out []string
	for _, d := range in {
		if d = strings.TrimSpace(d); d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	switch {
	case len(out) == 0:
		f.Add("dates", "school.order.dates_required")
		return nil
	case len(out) > maxDates:
		f.Add("dates", "school.order.dates_too_many", maxDates)
		return nil
	}
	for _, d := range out {
		day, ok := clock.ParseDay(d, time.UTC)
		switch {
		case !ok:
			f.Add("dates", "school.day_invalid")
			return nil
		case !day.After(today):
			f.Add("dates", "school.order.date_not_future", d)
			return nil
		case day.Sub(today) > maxDaysAhead*24*time.Hour:
			f.Add("dates", "school.order.date_too_far", maxDaysAhead)
			return nil
		}
	}
	slices.Sort(out)
	return out
}

// ---- reading

const orderCols = `o.id, o.town_id, o.village_id, v.name, o.course_id, c.title, c.minutes, o.status, o.dates, o.mode, o.place, o.members, o.others, o.note,
	o.ordered_by, o.ordered_by_name, COALESCE(o.expert_id, 0), COALESCE(e.name, ''), COALESCE(e.account_id, 0), o.starts_at, o.ends_at, o.reason,
	COALESCE(l.id, 0), o.created_at`

const orderFrom = ` FROM school_orders o JOIN villages v ON v.id = o.village_id JOIN school_courses c ON c.id = o.course_id
	LEFT JOIN school_experts e ON e.id = o.expert_id LEFT JOIN school_lessons l ON l.order_id = o.id `

func scanOrder(sc interface{ Scan(...any) error }) (Order, error) {
	var o Order
	var dates string
	var starts, ends sql.Null[time.Time]
	err := sc.Scan(&o.ID, &o.TownID, &o.VillageID, &o.VillageName, &o.CourseID, &o.CourseTitle, &o.Minutes, &o.Status, &dates, &o.Mode, &o.Place,
		&o.Members, &o.Others, &o.Note, &o.orderedBy, &o.OrderedByName, &o.ExpertID, &o.ExpertName, &o.expertAccount, &starts, &ends, &o.Reason,
		&o.LessonID, &o.CreatedAt)
	o.Dates, o.StartsAt, o.EndsAt, o.Actions = strings.Split(dates, ","), starts.V, ends.V, []string{}
	return o, err
}

// order is an order by id; it checks no permission.
func (s *Service) order(ctx context.Context, q db.Querier, id int64) (Order, error) {
	o, err := scanOrder(q.QueryRowContext(ctx, `SELECT `+orderCols+orderFrom+`WHERE o.id = $1`, id))
	if db.IsNoRows(err) {
		return o, notFound
	}
	if err != nil {
		return o, fmt.Errorf("school: order %d: %w", id, err)
	}
	return o, nil
}

// orderFor is an order with its timeline, its due time and what the person is to it; an order
// that is nothing to them is not found, as a missing one.
func (s *Service) orderFor(ctx context.Context, a *auth.Actor, id int64) (Order, flow.Party, error) {
	o, err := s.order(ctx, s.DB.Read(), id)
	if err != nil {
		return Order{}, 0, err
	}
	p := partiesTo(a, o)
	if p == 0 {
		return Order{}, 0, notFound
	}
	if o.Events, err = OrderFlow.Timeline(ctx, s.DB.Read(), id); err != nil {
		return Order{}, 0, err
	}
	if n := len(o.Events); n > 0 {
		last := o.Events[n-1]
		o.Due, o.Overdue = last.Due, last.Late(s.Now())
	}
	o.Actions = OrderFlow.Allowed(o.Status, p)
	return o, p, nil
}

// Order is an order with its timeline and the actions the person may take, for whoever it is
// something to (partiesTo).
func (s *Service) Order(ctx context.Context, a *auth.Actor, id int64) (Order, error) {
	o, _, err := s.orderFor(ctx, a, id)
	return o, err
}

// Orders lists the orders the actor is a party to: the town's for its school staff, their
// villages' for a branch's staff, those assigned to them for an expert. Overdue first, then the
// open before the closed, then the newest.
func (s *Service) Orders(ctx context.Context, a *auth.Actor, f OrderFilter) ([]Order, error) {
	if f.Status != "" && !slices.Contains(OrderStatuses, f.Status) {
		return nil, errs.Field("status", "school.order.status_invalid")
	}
	p := s.DB.Params()
	var where string
	switch all, villages := auth.Visible(a, PermOrder, 0); {
	case a == nil || a.AccountID == 0:
		return nil, errs.New(errs.Unauthorized, "error.unauthorized")
	case roleIn(a, a.TownID) == manager:
		where = `o.town_id = ` + p.Add(a.TownID)
	case all:
		where = `1 = 1`
	case len(villages) > 0:
		where = `o.village_id IN (` + p.List(villages) + `)`
	default:
		me, err := s.Me(ctx, a)
		if errs.Is(err, errs.NotFound) {
			return nil, errs.New(errs.Forbidden, "error.forbidden")
		}
		if err != nil {
			return nil, err
		}
		where = `o.expert_id = ` + p.Add(me.ID)
	}
	if f.Status != "" {
		where += ` AND o.status = ` + p.Add(f.Status)
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+orderCols+orderFrom+`WHERE `+where+fmt.Sprintf(` ORDER BY o.id DESC LIMIT %d`, maxOrderList), p.Args...)
	if err != nil {
		return nil, fmt.Errorf("school: orders: %w", err)
	}
	out := []Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("school: orders: %w", err)
		}
		if partiesTo(a, o) != 0 {
			o.Actions = OrderFlow.Allowed(o.Status, partiesTo(a, o))
			out = append(out, o)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := s.markDue(ctx, out); err != nil {
		return nil, err
	}
	closed := func(o Order) bool { return o.Status == OrderAccepted || o.Status == OrderCancelled }
	slices.SortStableFunc(out, func(x, y Order) int {
		switch {
		case x.Overdue != y.Overdue:
			return boolInt(y.Overdue) - boolInt(x.Overdue)
		case closed(x) != closed(y):
			return boolInt(closed(x)) - boolInt(closed(y))
		}
		return int(y.ID - x.ID)
	})
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// markDue gives the open orders their due time and marks those past it, from the present step of
// each in the flow's timeline.
func (s *Service) markDue(ctx context.Context, list []Order) error {
	at := map[int64]int{}
	var ids []int64
	for i, o := range list {
		if o.Status == OrderOrdered || o.Status == OrderAssigned {
			at[o.ID] = i
			ids = append(ids, o.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	p := s.DB.Params()
	flowArg := p.Add(OrderFlow.Name)
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT order_id, due_at FROM flow_steps WHERE flow = `+flowArg+` AND left_at IS NULL AND due_at IS NOT NULL
		AND order_id IN (`+p.List(ids)+`)`, p.Args...)
	if err != nil {
		return fmt.Errorf("school: order deadlines: %w", err)
	}
	defer rows.Close()
	now := s.Now()
	for rows.Next() {
		var id int64
		var due time.Time
		if err := rows.Scan(&id, &due); err != nil {
			return err
		}
		if i, ok := at[id]; ok {
			list[i].Due, list[i].Overdue = due, now.After(due)
		}
	}
	return rows.Err()
}

// OverdueOrders counts the town's orders past their deadline, by OrderFlow.Overdue: waiting to be
// assigned or for the expert's answer.
func (s *Service) OverdueOrders(ctx context.Context, townID int64) (int, error) {
	late, err := OrderFlow.Overdue(ctx, s.DB.Read(), s.Now(), flow.Orders{SQL: `SELECT id, 0 FROM school_orders WHERE town_id = $1`, Args: []any{townID}})
	return len(late), err
}

// Rates are the three rates of the town's lesson orders opened in [from, to) (OrderFlow.Rates),
// for its school staff.
func (s *Service) Rates(ctx context.Context, a *auth.Actor, townID int64, from, to time.Time) (flow.Rates, error) {
	townID = townOf(a, townID)
	if roleIn(a, townID) != manager {
		return flow.Rates{}, hide(a, townID)
	}
	m, err := OrderFlow.Rates(ctx, s.DB.Read(), from, to, flow.Orders{SQL: `SELECT id, 0 FROM school_orders WHERE town_id = $1`, Args: []any{townID}})
	return m[0], err
}

// Lesson is a lesson, for whoever its order is something to.
func (s *Service) Lesson(ctx context.Context, a *auth.Actor, id int64) (Lesson, error) {
	var orderID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT order_id FROM school_lessons WHERE id = $1`, id).Scan(&orderID)
	if db.IsNoRows(err) {
		return Lesson{}, notFound
	}
	if err != nil {
		return Lesson{}, fmt.Errorf("school: lesson %d: %w", id, err)
	}
	if _, err := s.Order(ctx, a, orderID); err != nil {
		return Lesson{}, err
	}
	list, err := s.lessons(ctx, `l.id = $1`, id)
	if err != nil || len(list) == 0 {
		return Lesson{}, cmpErr(err, notFound)
	}
	return list[0], nil
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// MyLessons are the lessons of the expert the actor's login is (我的课程), the coming first.
func (s *Service) MyLessons(ctx context.Context, a *auth.Actor) ([]Lesson, error) {
	me, err := s.Me(ctx, a)
	if err != nil {
		return nil, err
	}
	return s.lessons(ctx, `l.expert_id = $1`, me.ID)
}

// lessons lists lessons by a condition on l, by their time.
func (s *Service) lessons(ctx context.Context, where string, args ...any) ([]Lesson, error) {
	return s.lessonsIn(ctx, s.DB.Read(), where, args...)
}

// lessonsIn is lessons, read through q (a transaction).
func (s *Service) lessonsIn(ctx context.Context, q db.Querier, where string, args ...any) ([]Lesson, error) {
	rows, err := q.QueryContext(ctx, `SELECT l.id, l.order_id, l.town_id, l.village_id, v.name, l.course_id, c.title, l.expert_id, e.name,
		l.starts_at, l.ends_at, l.mode, l.place, l.link, l.status, l.cancel_reason, COALESCE(l.branch_rating, 0), l.branch_comment, l.applied
		FROM school_lessons l JOIN villages v ON v.id = l.village_id JOIN school_courses c ON c.id = l.course_id JOIN school_experts e ON e.id = l.expert_id
		WHERE `+where+fmt.Sprintf(` ORDER BY l.starts_at DESC, l.id LIMIT %d`, maxOrderList), args...)
	if err != nil {
		return nil, fmt.Errorf("school: lessons: %w", err)
	}
	defer rows.Close()
	out := []Lesson{}
	for rows.Next() {
		var l Lesson
		var applied string
		if err := rows.Scan(&l.ID, &l.OrderID, &l.TownID, &l.VillageID, &l.VillageName, &l.CourseID, &l.CourseTitle, &l.ExpertID, &l.ExpertName,
			&l.StartsAt, &l.EndsAt, &l.Mode, &l.Place, &l.Link, &l.Status, &l.CancelReason, &l.BranchRating, &l.BranchComment, &applied); err != nil {
			return nil, fmt.Errorf("school: lessons: %w", err)
		}
		if applied != "" {
			l.Applied = strings.Split(applied, "\n")
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// AssignChoices are the experts who may be assigned an order: the course's experts in the pool,
// by name. For the town's staff only.
func (s *Service) AssignChoices(ctx context.Context, a *auth.Actor, o Order) ([]Expert, error) {
	if roleIn(a, o.TownID) != manager {
		return nil, hide(a, o.TownID)
	}
	return s.experts(ctx, s.DB.Read(), `e.retired_at IS NULL AND e.id IN (SELECT expert_id FROM school_course_experts WHERE course_id = $1)`, o.CourseID)
}
