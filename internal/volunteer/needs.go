package volunteer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/people"
)

// The statuses of a need: 点单 open, 派单 assigned to a team, 接单 taken by a volunteer, done,
// 评单 rated by the person served; refused ends it with a reason.
const (
	NeedOpen     = "open"
	NeedAssigned = "assigned"
	NeedTaken    = "taken"
	NeedDone     = "done"
	NeedRated    = "rated"
	NeedRefused  = "refused"
)

// NeedFlow is a need's flow, declared once: pages draw their buttons from it, the API lists its
// actions, and Act moves a need by it. A need is sent back a step with a reason: a volunteer (or
// the village) hands a taken need back to its team, the village takes an assignment back. Nobody
// rates the work they did. Needs have no deadlines yet, so none is ever overdue.
var NeedFlow = flow.New(flow.Flow{
	Name: "volunteer.need", Table: "volunteer_needs", Start: NeedOpen,
	States: []flow.State{{Name: NeedOpen}, {Name: NeedAssigned}, {Name: NeedTaken, Responded: true},
		{Name: NeedDone, Responded: true, Done: true}, {Name: NeedRated, Responded: true, Done: true}, {Name: NeedRefused}},
	Actions: []flow.Action{
		{Name: "assign", From: []string{NeedOpen, NeedAssigned}, To: NeedAssigned, By: flow.Dispatcher},
		{Name: "take", From: []string{NeedAssigned}, To: NeedTaken, By: flow.Dispatcher | flow.Provider, NotYours: "volunteer.not_in_team"},
		{Name: "done", From: []string{NeedTaken}, To: NeedDone, By: flow.Dispatcher | flow.Provider},
		{Name: "rate", From: []string{NeedDone}, To: NeedRated, By: flow.Dispatcher | flow.Beneficiary, NotBy: flow.Provider, Rating: true, NotYours: "volunteer.rate_not_served"},
		{Name: "send_back", From: []string{NeedTaken}, To: NeedAssigned, By: flow.Dispatcher | flow.Provider, Reason: true},
		{Name: "send_back", From: []string{NeedAssigned}, To: NeedOpen, By: flow.Dispatcher, Reason: true},
		{Name: "refuse", From: []string{NeedOpen, NeedAssigned, NeedTaken}, To: NeedRefused, By: flow.Dispatcher, Reason: true},
	},
	Keys: flow.Keys{Unknown: "volunteer.action_invalid", NotNow: "volunteer.need_wrong_state", NotYours: "error.forbidden", OwnWork: "volunteer.own_hours",
		ReasonRequired: "volunteer.reason_required", RatingInvalid: "volunteer.rating_invalid"},
})

// Need is a 群众需求: what someone in a village needs, found at the door (敲门问需) or filed by
// the resident, and how far it has got.
type Need struct {
	ID             int64     `json:"id"`
	TownID         int64     `json:"town_id"`
	VillageID      int64     `json:"village_id"`
	VillageName    string    `json:"village_name"`
	Category       string    `json:"category"`
	Description    string    `json:"description"`
	ForResidentID  int64     `json:"for_resident_id,omitzero"`
	ForName        string    `json:"for_name"`
	Urgency        string    `json:"urgency"`
	Status         string    `json:"status"`
	TeamID         int64     `json:"team_id,omitzero"`
	TeamKind       TeamKind  `json:"team_kind,omitempty"`
	VolunteerID    int64     `json:"volunteer_id,omitzero"`
	VolunteerName  string    `json:"volunteer_name,omitempty"`
	Rating         int       `json:"rating,omitzero"`
	RatingComment  string    `json:"rating_comment,omitempty"`
	Source         string    `json:"source"`
	RecordedByName string    `json:"recorded_by_name"`
	CreatedAt      time.Time `json:"created_at"`
	ClosedAt       time.Time `json:"closed_at,omitzero"`
	WaitingHours   int       `json:"waiting_hours"`
	// Overdue is whether the need has stayed in its state past the due time NeedFlow gives it.
	// NeedFlow's states have no deadline yet, so no need is overdue today.
	Overdue bool        `json:"overdue"`
	Events  []NeedEvent `json:"events,omitempty"`
	// Actions are what the person who asked may do with the need now (NeedFlow).
	Actions []string `json:"actions,omitzero"`
	// Replayed is set on a need answered again for a resent idempotency key.
	Replayed   bool `json:"replayed,omitempty"`
	recordedBy int64
}

// Waited is how long an open need has waited, as days and hours.
func (n Need) Waited() (days, hours int) { return n.WaitingHours / 24, n.WaitingHours % 24 }

// WaitedInDays reports whether pages write the wait in whole days (past two days) rather than
// in hours: "已等 11 天", not "已等 264 小时".
func (n Need) WaitedInDays() bool { return n.WaitingHours >= 48 }

// WaitedDays is the wait in whole days.
func (n Need) WaitedDays() int { return n.WaitingHours / 24 }

// Closed reports whether the need has ended.
func (n Need) Closed() bool {
	return n.Status == NeedDone || n.Status == NeedRated || n.Status == NeedRefused
}

// NeedEvent is a step of a need: the status it moved to, why, and who moved it.
type NeedEvent struct {
	Status    string    `json:"status"`
	Reason    string    `json:"reason"`
	ActorName string    `json:"actor_name"`
	CreatedAt time.Time `json:"created_at"`
}

// NeedInput records a need. Staff name the village and whom it is for (a resident, or a name);
// a resident files their own, for themself.
type NeedInput struct {
	VillageID     int64  `json:"village_id"`
	Category      string `json:"category"`
	Description   string `json:"description"`
	ForResidentID int64  `json:"for_resident_id"`
	ForName       string `json:"for_name"`
	Urgency       string `json:"urgency"`
	// IdempotencyKey, when given, makes a need sent again (a double tap, a draft kept without
	// signal and resent) answer the first. It is the requester's: kept per recording account.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// ConfirmDuplicate files the need although one of the same category for the same person was
	// filed in the last errs.DuplicateWindow: without it such a need is refused for the person to
	// decide.
	ConfirmDuplicate bool `json:"confirm_duplicate,omitempty"`
}

// NeedAction moves a need on: assign (team_id), take (a volunteer takes it; leaders may name
// volunteer_id), send_back (reason), refuse (reason), done, rate (rating 1–5, comment).
type NeedAction struct {
	Action      string `json:"action"`
	TeamID      int64  `json:"team_id"`
	VolunteerID int64  `json:"volunteer_id"`
	Reason      string `json:"reason"`
	Rating      int    `json:"rating"`
	Comment     string `json:"comment"`
}

// CreateNeed records a need. A need sent again under its key answers the first (Replayed); one
// like a need for the same person filed moments ago asks first (checkDuplicateNeed).
func (s *Service) CreateNeed(ctx context.Context, a *auth.Actor, in NeedInput) (Need, error) {
	in.Category, in.Description, in.ForName, in.Urgency = strings.TrimSpace(in.Category), strings.TrimSpace(in.Description), strings.TrimSpace(in.ForName), strings.TrimSpace(in.Urgency)
	in.IdempotencyKey = strings.TrimSpace(in.IdempotencyKey)
	staff := a.IsStaff() && a.ActingFor == nil
	source := "visit"
	var v people.Village
	if staff {
		if in.VillageID <= 0 {
			return Need{}, errs.Field("village_id", "field.required")
		}
		var err error
		if v, err = s.village(ctx, in.VillageID); errs.Is(err, errs.NotFound) {
			return Need{}, errs.Field("village_id", "volunteer.village_unknown")
		} else if err != nil {
			return Need{}, err
		}
		if err := lead(a, v.TownID, v.ID); err != nil {
			return Need{}, auth.Hide(err)
		}
		if in.ForResidentID > 0 {
			r, err := s.resident(ctx, in.ForResidentID)
			if err != nil || r.VillageID != v.ID {
				return Need{}, errs.Field("for_resident_id", "volunteer.resident_not_in_village")
			}
			in.ForName = r.Name
		}
	} else {
		if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: a.Self()}); err != nil {
			return Need{}, err
		}
		r, err := s.selfResident(ctx, a)
		if err != nil {
			return Need{}, err
		}
		if v, err = s.village(ctx, r.VillageID); err != nil {
			return Need{}, err
		}
		in.ForResidentID, in.ForName, source = r.ID, r.Name, "self"
		if a.ActingFor != nil {
			source = "visit"
		}
	}
	if in.Urgency == "" {
		in.Urgency = "normal"
	}
	var key any // NULL when the form sent none
	if in.IdempotencyKey != "" {
		if !bank.KeyOK(in.IdempotencyKey) {
			return Need{}, errs.Field("idempotency_key", "volunteer.key_invalid")
		}
		key = in.IdempotencyKey
		if n, ok, err := s.needWithKey(ctx, a, v, in); err != nil || ok {
			return n, err
		}
	}
	var f errs.Fields
	if _, ok := Categories[in.Category]; !ok {
		f.Add("category", "volunteer.category_invalid")
	}
	if in.Description == "" {
		f.Add("description", "field.required")
	} else if utf8.RuneCountInString(in.Description) > 1000 {
		f.Add("description", "field.too_long")
	}
	if in.ForName == "" {
		f.Add("for_name", "field.required")
	} else if utf8.RuneCountInString(in.ForName) > 40 {
		f.Add("for_name", "field.too_long")
	}
	if !slices.Contains(Urgencies, in.Urgency) {
		f.Add("urgency", "volunteer.urgency_invalid")
	}
	if err := f.Err(); err != nil {
		return Need{}, err
	}
	if !in.ConfirmDuplicate {
		if err := s.checkDuplicateNeed(ctx, a, v, in); err != nil {
			return Need{}, err
		}
	}
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.FileNeed(ctx, tx, a, FiledNeed{TownID: v.TownID, VillageID: v.ID, Category: in.Category, Description: in.Description,
			ForResidentID: in.ForResidentID, ForName: in.ForName, Urgency: in.Urgency, Source: source, key: key})
		return err
	})
	if errors.Is(err, errNeedRaced) {
		// The same need sent twice at once: the other request stored it; answer with it.
		n, ok, err := s.needWithKey(ctx, a, v, in)
		if err == nil && !ok {
			err = errNeedRaced
		}
		return n, err
	}
	if err != nil {
		return Need{}, err
	}
	return s.Need(ctx, a, id)
}

// FiledNeed is a need as it is stored, checked by whoever files it: CreateNeed, or 微协商's care
// visit, which files the needs it found at the door for the household it visited.
type FiledNeed struct {
	TownID, VillageID int64
	Category          string
	Description       string
	ForResidentID     int64
	ForName           string
	Urgency           string
	Source            string // self: the resident's own; visit: recorded at the door
	key               any    // CreateNeed's idempotency key, NULL when none
}

// FileNeed stores a checked need inside tx and opens it in NeedFlow: the one place a need is
// written. Who may file it for whom, and what it says, the caller has checked; a need recorded at
// the door is audited.
func (s *Service) FileNeed(ctx context.Context, tx *sql.Tx, a *auth.Actor, n FiledNeed) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO volunteer_needs (town_id, village_id, category, description, for_resident_id, for_name, urgency, status, source, recorded_by, recorded_by_name, created_at, idem_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10, $11, $12) RETURNING id`,
		n.TownID, n.VillageID, n.Category, n.Description, db.NullID(n.ForResidentID), n.ForName, n.Urgency, n.Source, a.AccountID, a.Name, s.Now(), n.key).Scan(&id)
	if db.IsUnique(err) && n.key != nil {
		return 0, errNeedRaced
	}
	if err != nil {
		return 0, fmt.Errorf("volunteer: need: %w", err)
	}
	if err := NeedFlow.Open(ctx, tx, id, flow.Step{By: a, At: s.Now()}); err != nil {
		return 0, err
	}
	if n.Source == "visit" {
		if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "volunteer.need.create", Entity: "volunteer_need", EntityID: id, TownID: n.TownID, VillageID: n.VillageID, Summary: n.Category + " " + n.ForName}); err != nil {
			return 0, err
		}
	}
	return id, nil
}

const needCols = `n.id, n.town_id, n.village_id, vi.name, n.category, n.description, COALESCE(n.for_resident_id, 0), n.for_name, n.urgency, n.status,
	COALESCE(n.team_id, 0), COALESCE(t.kind, ''), COALESCE(n.volunteer_id, 0), COALESCE(r.name, ''), COALESCE(n.rating, 0), n.rating_comment, n.source,
	COALESCE(n.recorded_by, 0), n.recorded_by_name, n.created_at, n.closed_at`

const needFrom = ` FROM volunteer_needs n JOIN villages vi ON vi.id = n.village_id LEFT JOIN volunteer_teams t ON t.id = n.team_id
	LEFT JOIN volunteers vo ON vo.id = n.volunteer_id LEFT JOIN residents r ON r.id = vo.resident_id `

func (s *Service) scanNeed(sc interface{ Scan(...any) error }) (Need, error) {
	var n Need
	var kind string
	var closed sql.Null[time.Time]
	err := sc.Scan(&n.ID, &n.TownID, &n.VillageID, &n.VillageName, &n.Category, &n.Description, &n.ForResidentID, &n.ForName, &n.Urgency, &n.Status,
		&n.TeamID, &kind, &n.VolunteerID, &n.VolunteerName, &n.Rating, &n.RatingComment, &n.Source, &n.recordedBy, &n.RecordedByName, &n.CreatedAt, &closed)
	n.TeamKind, n.ClosedAt = TeamKind(kind), closed.V
	end := s.Now()
	if n.Closed() {
		end = n.ClosedAt
	}
	n.WaitingHours = int(end.Sub(n.CreatedAt) / time.Hour)
	return n, err
}

func (s *Service) need(ctx context.Context, q db.Querier, id int64) (Need, error) {
	n, err := s.scanNeed(q.QueryRowContext(ctx, `SELECT `+needCols+needFrom+`WHERE n.id = $1`, id))
	if db.IsNoRows(err) {
		return n, notFound
	}
	if err != nil {
		return n, err
	}
	ns := []Need{n}
	err = s.markOverdue(ctx, q, ns)
	return ns[0], err
}

// markOverdue marks the needs that NeedFlow counts overdue (past their state's due time): pages
// show those waits in red, and only those.
func (s *Service) markOverdue(ctx context.Context, q db.Querier, ns []Need) error {
	var ids []string
	var args []any
	at := map[int64]int{}
	for i, n := range ns {
		if !n.Closed() {
			args = append(args, n.ID)
			ids = append(ids, fmt.Sprintf("$%d", len(args)))
			at[n.ID] = i
		}
	}
	if len(ids) == 0 {
		return nil
	}
	late, err := NeedFlow.Overdue(ctx, q, s.Now(), flow.Orders{SQL: `SELECT id, 0 FROM volunteer_needs WHERE id IN (` + strings.Join(ids, ", ") + `)`, Args: args})
	if err != nil {
		return err
	}
	for _, l := range late {
		if i, ok := at[l.OrderID]; ok {
			ns[i].Overdue = true
		}
	}
	return nil
}

// mayLead reports whether the actor leads the need's village.
func mayLead(a *auth.Actor, n Need) bool { return lead(a, n.TownID, n.VillageID) == nil }

// partiesTo is what a person is to a need, and the one place that decides it (pages, API and Act
// all ask it): the staff who lead its village dispatch it; whoever recorded it requested it; the
// resident it is for is served by it; its volunteer provides it, and so, while it waits for one,
// does every member of the team it is assigned to. Nobody else may see it.
func (s *Service) partiesTo(ctx context.Context, a *auth.Actor, n Need) (flow.Party, error) {
	var p flow.Party
	if a == nil || a.AccountID == 0 {
		return 0, nil
	}
	if mayLead(a, n) {
		p |= flow.Dispatcher
	}
	if n.recordedBy == a.AccountID && a.ActingFor == nil {
		p |= flow.Requester
	}
	if n.ForResidentID != 0 && n.ForResidentID == a.Self() {
		p |= flow.Beneficiary
	}
	vid, member, err := s.memberOf(ctx, a, n.TeamID)
	if err != nil {
		return 0, err
	}
	if (vid != 0 && vid == n.VolunteerID) || (n.Status == NeedAssigned && member) {
		p |= flow.Provider
	}
	return p, nil
}

// memberOf is the volunteer record of the actor's resident (0 when they have none) and whether
// it is a member of the team.
func (s *Service) memberOf(ctx context.Context, a *auth.Actor, teamID int64) (int64, bool, error) {
	if a.Self() == 0 {
		return 0, false, nil
	}
	var vid int64
	var member bool
	err := s.DB.Read().QueryRowContext(ctx, `SELECT v.id, EXISTS (SELECT 1 FROM volunteer_members m WHERE m.volunteer_id = v.id AND m.team_id = $2)
		FROM volunteers v WHERE v.resident_id = $1`, a.Self(), teamID).Scan(&vid, &member)
	if db.IsNoRows(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("volunteer: need: %w", err)
	}
	return vid, member, nil
}

// needFor is a need with its steps and what the person is to it; a need that is nothing to them
// is not found.
func (s *Service) needFor(ctx context.Context, a *auth.Actor, id int64) (Need, flow.Party, error) {
	n, err := s.need(ctx, s.DB.Read(), id)
	if err != nil {
		return Need{}, 0, err
	}
	p, err := s.partiesTo(ctx, a, n)
	if err != nil {
		return Need{}, 0, err
	}
	if p == 0 {
		return Need{}, 0, notFound
	}
	steps, err := NeedFlow.Timeline(ctx, s.DB.Read(), id)
	if err != nil {
		return Need{}, 0, err
	}
	for _, e := range steps {
		n.Events = append(n.Events, NeedEvent{Status: e.To, Reason: e.Reason, ActorName: e.ActorName, CreatedAt: e.At})
	}
	n.Actions = NeedFlow.Allowed(n.Status, p)
	return n, p, nil
}

// Need returns a need with its steps, and the actions the person may take, to whoever it is
// something to (see partiesTo).
func (s *Service) Need(ctx context.Context, a *auth.Actor, id int64) (Need, error) {
	n, _, err := s.needFor(ctx, a, id)
	return n, err
}

// NeedDesk is a need as its page shows it: what the person is to it and, for those who dispatch
// it, the teams suggested for it and, while it can be taken, the members of its team it may be
// given to.
type NeedDesk struct {
	Need        Need
	Parties     flow.Party
	Suggestions []Suggestion
	Volunteers  []Volunteer
}

// NeedDesk returns a need's page for whoever it is something to. The resident pages (asStaff
// false) show staff their part as residents; they dispatch in the console.
func (s *Service) NeedDesk(ctx context.Context, a *auth.Actor, id int64, asStaff bool) (NeedDesk, error) {
	n, p, err := s.needFor(ctx, a, id)
	if err != nil {
		return NeedDesk{}, err
	}
	if !asStaff {
		p &^= flow.Dispatcher
	}
	d := NeedDesk{Need: n, Parties: p}
	if !p.Has(flow.Dispatcher) {
		return d, nil
	}
	if d.Suggestions, err = s.Suggest(ctx, a, id); err != nil {
		return d, err
	}
	if NeedFlow.Can(n.Status, p)["take"] {
		// The village's volunteer list carries no teams: the form to give a need showed only once
		// it was drawn from the members of the need's team.
		d.Volunteers, err = s.givenTo(ctx, n)
	}
	return d, err
}

// NeedFilter selects needs: staff see their villages' (VillageID narrows, Status filters, Mine
// only those the caller can take as a volunteer); residents see their own.
type NeedFilter struct {
	VillageID int64  `json:"village_id"`
	Status    string `json:"status"`
}

// Needs lists needs, the open and most urgent first, then the longest waiting.
func (s *Service) Needs(ctx context.Context, a *auth.Actor, f NeedFilter) ([]Need, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	q := `SELECT ` + needCols + needFrom + `WHERE `
	if a.IsStaff() && a.ActingFor == nil {
		scope, ok, err := s.staffScope(ctx, a, f.VillageID, "n", arg)
		if err != nil || !ok {
			return []Need{}, err
		}
		q += scope
	} else {
		self := a.Self()
		if self == 0 {
			return nil, notFound
		}
		q += `(n.for_resident_id = ` + arg(self) + ` OR n.volunteer_id = (SELECT id FROM volunteers WHERE resident_id = ` + arg(self) + `)
			OR (n.status = 'assigned' AND n.team_id IN (SELECT m.team_id FROM volunteer_members m JOIN volunteers vv ON vv.id = m.volunteer_id WHERE vv.resident_id = ` + arg(self) + `)))`
	}
	if f.Status != "" {
		if f.Status == "active" {
			q += ` AND n.status IN ('open', 'assigned', 'taken')`
		} else {
			q += ` AND n.status = ` + arg(f.Status)
		}
	}
	q += ` ORDER BY n.id DESC LIMIT 500`
	rows, err := s.DB.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("volunteer: needs: %w", err)
	}
	defer rows.Close()
	out := []Need{}
	for rows.Next() {
		n, err := s.scanNeed(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := s.markOverdue(ctx, s.DB.Read(), out); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(x, y Need) int {
		if x.Closed() != y.Closed() {
			return boolInt(x.Closed()) - boolInt(y.Closed())
		}
		if ux, uy := slices.Index(Urgencies, x.Urgency), slices.Index(Urgencies, y.Urgency); ux != uy && !x.Closed() {
			return uy - ux
		}
		return x.CreatedAt.Compare(y.CreatedAt)
	})
	return out, nil
}

// MyNeeds splits the needs a resident sees in two: those raised for them (我提的需求), and those
// they serve, taken by them or waiting for a member of their team (我接的需求). A need they both
// raised and took is in both.
func (s *Service) MyNeeds(ctx context.Context, a *auth.Actor) (raised, serving []Need, err error) {
	all, err := s.Needs(ctx, a, NeedFilter{})
	if err != nil {
		return nil, nil, err
	}
	vid, _, err := s.memberOf(ctx, a, 0)
	if err != nil {
		return nil, nil, err
	}
	raised, serving = []Need{}, []Need{}
	for _, n := range all {
		mine := n.ForResidentID != 0 && n.ForResidentID == a.Self()
		if mine {
			raised = append(raised, n)
		}
		// Needs always lists a resident only needs they raised or may serve.
		if !mine || (vid != 0 && n.VolunteerID == vid) {
			serving = append(serving, n)
		}
	}
	return raised, serving, nil
}

// needSkill is the skill a category of need usually wants, for suggesting teams.
var needSkill = map[string]string{"daily_care": "care", "health": "medical", "repair": "repair", "haircut": "haircut", "legal": "legal", "dispute": "legal", "culture": "arts", "education": "tutoring"}

// Suggestion is a team that could answer a need: its kind fits the category, or members have the
// skill the need wants.
type Suggestion struct {
	Team    Team `json:"team"`
	KindFit bool `json:"kind_fit"`
	Skilled int  `json:"skilled"` // members with the skill the category wants
}

// Suggest ranks the teams of a need's village: kind fit first, then members with the skill.
func (s *Service) Suggest(ctx context.Context, a *auth.Actor, needID int64) ([]Suggestion, error) {
	n, err := s.need(ctx, s.DB.Read(), needID)
	if err != nil {
		return nil, err
	}
	if !mayLead(a, n) {
		return nil, notFound
	}
	teams, err := s.Teams(ctx, a, n.VillageID)
	if err != nil {
		return nil, err
	}
	skill := needSkill[n.Category]
	out := make([]Suggestion, 0, len(teams))
	for _, t := range teams {
		sg := Suggestion{Team: t, KindFit: Categories[n.Category] == t.Kind}
		if skill != "" {
			if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM volunteer_members m JOIN volunteers v ON v.id = m.volunteer_id
				WHERE m.team_id = $1 AND (',' || v.skills || ',') LIKE $2`, t.ID, "%,"+skill+",%").Scan(&sg.Skilled); err != nil {
				return nil, err
			}
		}
		out = append(out, sg)
	}
	slices.SortStableFunc(out, func(x, y Suggestion) int {
		if x.KindFit != y.KindFit {
			return boolInt(y.KindFit) - boolInt(x.KindFit)
		}
		return y.Skilled - x.Skilled
	})
	return out, nil
}

// Act moves a need on by NeedFlow; see NeedAction. Every step is kept with who took it and why,
// and told to whom it concerns (tellNeed) in the same transaction.
func (s *Service) Act(ctx context.Context, a *auth.Actor, needID int64, in NeedAction) (Need, error) {
	in.Action, in.Reason, in.Comment = strings.TrimSpace(in.Action), strings.TrimSpace(in.Reason), strings.TrimSpace(in.Comment)
	n, p, err := s.needFor(ctx, a, needID)
	if err != nil {
		return Need{}, err
	}
	if utf8.RuneCountInString(in.Reason) > 200 {
		return Need{}, errs.Field("reason", "field.too_long")
	}
	o := flow.Order{ID: n.ID, State: n.Status, Parties: p}
	act, err := NeedFlow.Check(o, in.Action, in.Reason, in.Rating)
	if err != nil {
		return Need{}, err
	}
	st := flow.Step{Action: act.Name, By: a, Reason: in.Reason, At: s.Now()}
	switch act.Name {
	case "assign":
		t, err := s.team(ctx, s.DB.Read(), in.TeamID)
		if err != nil || t.VillageID != n.VillageID {
			return Need{}, errs.Field("team_id", "volunteer.team_unknown")
		}
		st.Set, st.Args = `team_id = $1, volunteer_id = NULL`, []any{t.ID}
	case "take":
		vid, err := s.taker(ctx, a, n, p, in.VolunteerID)
		if err != nil {
			return Need{}, err
		}
		st.Set, st.Args = `volunteer_id = $1`, []any{vid}
	case "send_back":
		st.Set = map[string]string{NeedAssigned: `volunteer_id = NULL`, NeedOpen: `team_id = NULL`}[act.To]
	case "refuse", "done":
		st.Set, st.Args = `closed_at = $1`, []any{st.At}
	case "rate":
		if utf8.RuneCountInString(in.Comment) > 200 {
			return Need{}, errs.Field("comment", "field.too_long")
		}
		st.Set, st.Args, st.Rating = `rating = $1, rating_comment = $2`, []any{in.Rating, in.Comment}, in.Rating
		st.Reason = fmt.Sprintf("%d★ %s", in.Rating, in.Comment)
	}
	if p.Has(flow.Dispatcher) {
		st.Audit = &auth.AuditEntry{TownID: n.TownID, VillageID: n.VillageID}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := NeedFlow.Move(ctx, tx, o, st); err != nil {
			return err
		}
		return s.tellNeed(ctx, tx, a, n.ID, act, in.Reason)
	})
	if err != nil {
		return Need{}, err
	}
	return s.Need(ctx, a, n.ID)
}

// taker is the volunteer who takes a need: the person themself as a member of its team, or, when
// the village's staff give it, the member they name.
func (s *Service) taker(ctx context.Context, a *auth.Actor, n Need, p flow.Party, named int64) (int64, error) {
	if named == 0 || !p.Has(flow.Dispatcher) {
		vid, member, err := s.memberOf(ctx, a, n.TeamID)
		if err != nil {
			return 0, err
		}
		if !member {
			return 0, errs.New(errs.Forbidden, "volunteer.not_in_team")
		}
		return vid, nil
	}
	var k int
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM volunteer_members WHERE team_id = $1 AND volunteer_id = $2`, n.TeamID, named).Scan(&k); err != nil {
		return 0, fmt.Errorf("volunteer: need: %w", err)
	}
	if k == 0 {
		return 0, errs.Field("volunteer_id", "volunteer.not_in_team")
	}
	return named, nil
}

// givenTo are the members of the team a need is assigned to, whom its village's staff may give it to.
func (s *Service) givenTo(ctx context.Context, n Need) ([]Volunteer, error) {
	return s.volunteers(ctx, `v.id IN (SELECT volunteer_id FROM volunteer_members WHERE team_id = $1)`, n.TeamID)
}

// NeedStatusAfter is the status a need action moves a need to ("" for an unknown action; a
// send_back's depends on where the need was).
func NeedStatusAfter(action string) string { return NeedFlow.To(action) }
