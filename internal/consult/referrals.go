package consult

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/notify"
	"siwei/internal/web"
)

// The states of a referral (接诉即办): sent to its target departments (referred), owned by the
// first that accepted (accepted, 首接负责), done by it with a closing reply, and rated by the
// proposer or staff. A transfer sends it on to another department; a first 不满意 reopens it.
const (
	ReferralReferred = "referred"
	ReferralAccepted = "accepted"
	ReferralDone     = "done"
	ReferralRated    = "rated"
)

// ReferralStatuses lists the states in the order the board shows them.
var ReferralStatuses = []string{ReferralReferred, ReferralAccepted, ReferralDone, ReferralRated}

// Urgencies and their time to respond: 紧急 2 hours, 一般 24 hours.
var referralRespond = map[string]time.Duration{"urgent": 2 * time.Hour, "normal": 24 * time.Hour}

// Bounds of a referral's text and replies.
const (
	maxReferralTitle   = 60
	maxReferralBody    = 2000
	maxReplyBody       = 1000
	maxReplyPhotos     = 4
	maxReferralReason  = 200
	referralReopenDays = 7
	referralBatch      = 200
)

// ReferralFlow is a referral's flow, declared once. A target department (Provider) accepts it,
// the first one owning it, or transfers it with a reason; the owner finishes it; the proposer or
// the staff who referred it (Requester, Dispatcher) rate it, and a first 不满意 reopens it instead.
var ReferralFlow = flow.New(flow.Flow{
	Name: "consult.referral", Table: "consult_referrals", Start: ReferralReferred,
	States: []flow.State{{Name: ReferralReferred}, {Name: ReferralAccepted, Responded: true}, {Name: ReferralDone, Responded: true, Done: true},
		{Name: ReferralRated, Responded: true, Done: true}},
	Actions: []flow.Action{
		{Name: "accept", From: []string{ReferralReferred}, To: ReferralAccepted, By: flow.Provider},
		{Name: "transfer", From: []string{ReferralReferred}, To: ReferralReferred, By: flow.Provider, Reason: true},
		{Name: "finish", From: []string{ReferralAccepted}, To: ReferralDone, By: flow.Provider},
		{Name: "rate", From: []string{ReferralDone}, To: ReferralRated, By: flow.Requester | flow.Dispatcher, NotBy: flow.Provider, Rating: true},
		{Name: "reopen", From: []string{ReferralDone}, To: ReferralAccepted, By: flow.Requester | flow.Dispatcher, NotBy: flow.Provider, Rating: true},
	},
	Keys: flow.Keys{Unknown: "consult.referral.action_invalid", NotNow: "consult.referral.not_now", ReasonRequired: "consult.referral.reason_required"},
})

// Referral is a 接诉即办 referral of a meeting's decision, a topic or a care visit's finding to
// departments, with its deadlines and how far it has got.
type Referral struct {
	ID           int64        `json:"id"`
	TownID       int64        `json:"town_id"`
	VillageID    int64        `json:"village_id,omitzero"`
	VillageName  string       `json:"village_name"`
	Source       string       `json:"source"` // decision, topic or visit
	DecisionID   int64        `json:"decision_id,omitzero"`
	TopicID      int64        `json:"topic_id,omitzero"`
	VisitID      int64        `json:"visit_id,omitzero"`
	CategoryID   int64        `json:"category_id"`
	Category     string       `json:"category"`
	Title        string       `json:"title"`
	Description  string       `json:"description"`
	Urgency      string       `json:"urgency"`
	RespondBy    time.Time    `json:"respond_by"`
	FinishBy     time.Time    `json:"finish_by"`
	DepartmentID int64        `json:"department_id,omitzero"`
	Department   string       `json:"department,omitempty"`
	Targets      []string     `json:"targets"`
	Status       string       `json:"status"`
	Reopened     bool         `json:"reopened"`
	Rating       int          `json:"rating,omitzero"`
	Reply        string       `json:"reply,omitempty"`
	EscalatedAt  time.Time    `json:"escalated_at,omitzero"`
	CreatedAt    time.Time    `json:"created_at"`
	Due          time.Time    `json:"due,omitzero"` // by when its present state must be left
	Overdue      bool         `json:"overdue"`
	Replies      []Reply      `json:"replies,omitempty"`
	Events       []flow.Event `json:"events,omitempty"`
	// Actions are what the caller may do now: the flow's actions, and reply for the owner.
	Actions []string `json:"actions"`

	targetIDs []int64
	requester int64
	createdBy int64
}

// Reply is a department's progress note on a referral (答复), with its photos.
type Reply struct {
	ID         int64     `json:"id"`
	Department string    `json:"department"`
	Body       string    `json:"body"`
	ByName     string    `json:"by_name,omitempty"`
	Photos     []int64   `json:"photos"`
	CreatedAt  time.Time `json:"created_at"`
}

// ReferralInput refers a decision, a topic or a visit (one of them) to departments. Title,
// Description and CategoryID default to the source's; the finish time is FinishDays (7 or 15)
// from now or the day FinishOn (2026-12-20), by its end.
type ReferralInput struct {
	DecisionID    int64   `json:"decision_id,omitzero"`
	TopicID       int64   `json:"topic_id,omitzero"`
	VisitID       int64   `json:"visit_id,omitzero"`
	CategoryID    int64   `json:"category_id,omitzero"`
	Title         string  `json:"title"`
	Description   string  `json:"description"`
	DepartmentIDs []int64 `json:"department_ids"`
	Urgency       string  `json:"urgency"`
	FinishDays    int     `json:"finish_days,omitzero"`
	FinishOn      string  `json:"finish_on,omitempty"`
}

// ReferralAction is a step on a referral: accept, transfer (department_id, reason), reply (body,
// photos from a form), finish (body, the closing reply), rate (satisfaction: satisfied, basic or
// unsatisfied; reason as a comment).
type ReferralAction struct {
	Action       string   `json:"action"`
	DepartmentID int64    `json:"department_id,omitzero"`
	Reason       string   `json:"reason,omitempty"`
	Body         string   `json:"body,omitempty"`
	Satisfaction string   `json:"satisfaction,omitempty"`
	Photos       [][]byte `json:"-"`
}

// referralSource is what a referral is made from, as the new-referral form shows it.
type referralSource struct {
	TownID, VillageID, CategoryID, Requester int64
	Title, Description                       string
	DecisionID, TopicID, VisitID             int64
}

const referralCols = `r.id, r.town_id, COALESCE(r.village_id, 0), COALESCE(v.name, ''), COALESCE(r.decision_id, 0), COALESCE(r.topic_id, 0), COALESCE(r.visit_id, 0),
	r.category_id, c.code, c.name, r.title, r.description, r.urgency, r.respond_by, r.finish_by, COALESCE(r.department_id, 0), COALESCE(d.name, ''),
	r.status, r.reopened, COALESCE(r.rating, 0), r.reply, r.escalated_at, r.created_at, COALESCE(r.requester_id, 0), r.created_by`

const referralFrom = ` FROM consult_referrals r
	JOIN consult_categories c ON c.id = r.category_id
	LEFT JOIN villages v ON v.id = r.village_id
	LEFT JOIN consult_departments d ON d.id = r.department_id `

// scanReferral reads a row of referralCols.
func (s *Service) scanReferral(sc interface{ Scan(...any) error }) (Referral, error) {
	var r Referral
	var code, cname string
	var esc sql.NullTime
	err := sc.Scan(&r.ID, &r.TownID, &r.VillageID, &r.VillageName, &r.DecisionID, &r.TopicID, &r.VisitID, &r.CategoryID, &code, &cname, &r.Title, &r.Description,
		&r.Urgency, &r.RespondBy, &r.FinishBy, &r.DepartmentID, &r.Department, &r.Status, &r.Reopened, &r.Rating, &r.Reply, &esc, &r.CreatedAt, &r.requester, &r.createdBy)
	if err != nil {
		return r, err
	}
	r.Category = s.named(Category{Code: code, Name: cname}).Name
	r.EscalatedAt = esc.Time
	switch {
	case r.DecisionID != 0:
		r.Source = "decision"
	case r.VisitID != 0:
		r.Source = "visit"
	default:
		r.Source = "topic"
	}
	switch r.Status {
	case ReferralReferred:
		r.Due = r.RespondBy
	case ReferralAccepted:
		r.Due = r.FinishBy
	}
	r.Overdue = !r.Due.IsZero() && s.Now().After(r.Due)
	r.Actions = []string{}
	r.Targets = []string{}
	return r, nil
}

// referral reads a referral and its targets with no check of who asks.
func (s *Service) referral(ctx context.Context, q db.Querier, id int64) (Referral, error) {
	r, err := s.scanReferral(q.QueryRowContext(ctx, `SELECT `+referralCols+referralFrom+`WHERE r.id = $1`, id))
	if db.IsNoRows(err) {
		return r, notFound
	}
	if err != nil {
		return r, fmt.Errorf("consult: referral %d: %w", id, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT d.id, d.name FROM consult_referral_targets t JOIN consult_departments d ON d.id = t.department_id
		WHERE t.referral_id = $1 ORDER BY d.name`, id)
	if err != nil {
		return r, fmt.Errorf("consult: referral targets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tid int64
		var n string
		if err := rows.Scan(&tid, &n); err != nil {
			return r, err
		}
		r.targetIDs = append(r.targetIDs, tid)
		r.Targets = append(r.Targets, n)
	}
	return r, rows.Err()
}

// referralParties is what the actor is to a referral: a target department before it is accepted
// or its owner after (Provider), a host of its scope, the care member who made its visit or the
// town's manager (Dispatcher), its proposer or, for a visit, a resident of the household
// (Requester). Zero is nobody.
func (s *Service) referralParties(ctx context.Context, q db.Querier, a *auth.Actor, r Referral) (flow.Party, error) {
	var p flow.Party
	if a == nil || a.AccountID == 0 {
		return 0, nil
	}
	dept, err := s.myDepartment(ctx, q, a)
	if err != nil {
		return 0, err
	}
	if dept != 0 && ((r.Status == ReferralReferred && slices.Contains(r.targetIDs, dept)) || (r.Status != ReferralReferred && r.DepartmentID == dept)) {
		p |= flow.Provider
	}
	if hosts(a, r.TownID, r.VillageID) || manages(a, r.TownID) {
		p |= flow.Dispatcher
	} else if r.VisitID != 0 {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_visits v JOIN consult_care_members m ON m.id = v.member_id WHERE v.id = $1 AND m.account_id = $2`,
			r.VisitID, a.AccountID).Scan(&n); err != nil {
			return 0, fmt.Errorf("consult: referral visit: %w", err)
		}
		if n > 0 {
			p |= flow.Dispatcher
		}
	}
	m, ok, err := s.me(ctx, q, a)
	if err != nil {
		return 0, err
	}
	if ok {
		if r.requester != 0 && r.requester == m.ID {
			p |= flow.Requester
		}
		if r.VisitID != 0 {
			var n int
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_visits WHERE id = $1 AND household_id = $2`, r.VisitID, m.HouseholdID).Scan(&n); err != nil {
				return 0, fmt.Errorf("consult: referral visit: %w", err)
			}
			if n > 0 && m.Active {
				p |= flow.Requester
			}
		}
	}
	return p, nil
}

// referralSupporter reports whether the actor's resident supports the referral's topic.
func (s *Service) referralSupporter(ctx context.Context, q db.Querier, a *auth.Actor, r Referral) (bool, error) {
	if r.TopicID == 0 {
		return false, nil
	}
	m, ok, err := s.me(ctx, q, a)
	if err != nil || !ok {
		return false, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_supports WHERE topic_id = $1 AND resident_id = $2`, r.TopicID, m.ID).Scan(&n); err != nil {
		return false, fmt.Errorf("consult: referral supporter: %w", err)
	}
	return n > 0, nil
}

// referralFor reads a referral the actor may see, and what they are to it: a department's login
// sees only its own referrals, hosts their scope's, residents those of topics they proposed or
// support and of visits to their household. Anything else answers NotFound.
func (s *Service) referralFor(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Referral, flow.Party, error) {
	r, err := s.referral(ctx, q, id)
	if err != nil {
		return r, 0, err
	}
	p, err := s.referralParties(ctx, q, a, r)
	if err != nil {
		return r, 0, err
	}
	if p == 0 {
		// A department it was sent to still sees it once another accepted it (首接负责), and
		// is told so if it tries to accept.
		dept, err := s.myDepartment(ctx, q, a)
		if err != nil {
			return r, 0, err
		}
		if dept != 0 && slices.Contains(r.targetIDs, dept) {
			return r, 0, nil
		}
		ok, err := s.referralSupporter(ctx, q, a, r)
		if err != nil {
			return r, 0, err
		}
		if !ok {
			return Referral{}, 0, notFound
		}
	}
	return r, p, nil
}

// referralVisible is nil when the actor may see the referral (see referralFor), else NotFound.
func (s *Service) referralVisible(ctx context.Context, q db.Querier, a *auth.Actor, id int64) error {
	_, _, err := s.referralFor(ctx, q, a, id)
	return err
}

// replyVisible is nil when the actor may see a reply, and so its photos: whoever may see its
// referral.
func (s *Service) replyVisible(ctx context.Context, q db.Querier, a *auth.Actor, id int64) error {
	var ref int64
	err := q.QueryRowContext(ctx, `SELECT referral_id FROM consult_replies WHERE id = $1`, id).Scan(&ref)
	if db.IsNoRows(err) {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("consult: reply %d: %w", id, err)
	}
	return s.referralVisible(ctx, q, a, ref)
}

// replies are a referral's progress notes, oldest first, with their photos.
func (s *Service) replies(ctx context.Context, q db.Querier, id int64) ([]Reply, error) {
	rows, err := q.QueryContext(ctx, `SELECT p.id, COALESCE(d.name, ''), p.body, p.by_name, p.created_at FROM consult_replies p
		LEFT JOIN consult_departments d ON d.id = p.department_id WHERE p.referral_id = $1 ORDER BY p.id`, id)
	if err != nil {
		return nil, fmt.Errorf("consult: replies: %w", err)
	}
	out := []Reply{}
	for rows.Next() {
		var p Reply
		if err := rows.Scan(&p.ID, &p.Department, &p.Body, &p.ByName, &p.CreatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Photos, err = s.photoIDs(ctx, q, "reply", out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// referralActions are the actions the parties may take now: the flow's (rate and reopen shown as
// rate), and reply for the owner of an accepted referral.
func referralActions(r Referral, p flow.Party) []string {
	out := []string{}
	for _, n := range ReferralFlow.Allowed(r.Status, p) {
		if n == "reopen" {
			continue
		}
		out = append(out, n)
		if n == "finish" {
			out = append(out, "reply")
		}
	}
	return out
}

// Referral returns a referral to whoever may see it, with its replies, timeline and the caller's
// actions.
func (s *Service) Referral(ctx context.Context, a *auth.Actor, id int64) (Referral, error) {
	q := s.DB.Read()
	r, p, err := s.referralFor(ctx, q, a, id)
	if err != nil {
		return r, err
	}
	r.Actions = referralActions(r, p)
	if r.Replies, err = s.replies(ctx, q, id); err != nil {
		return r, err
	}
	if r.Events, err = ReferralFlow.Timeline(ctx, q, id); err != nil {
		return r, err
	}
	return r, nil
}

// referralSource reads the decision, topic or visit a referral is made from, and checks that the
// actor may refer it: a host of the decision's meeting or the topic's scope, the care member who
// made the visit or the town's manager. One the actor may not see answers as refuse does.
func (s *Service) referralSource(ctx context.Context, q db.Querier, a *auth.Actor, in ReferralInput) (referralSource, error) {
	var src referralSource
	n := 0
	for _, id := range []int64{in.DecisionID, in.TopicID, in.VisitID} {
		if id != 0 {
			n++
		}
	}
	if n != 1 {
		return src, errs.Field("source", "consult.referral.source_required")
	}
	var err error
	switch {
	case in.TopicID != 0:
		var village sql.NullInt64
		err = q.QueryRowContext(ctx, `SELECT town_id, village_id, category_id, title, description, COALESCE(proposer_resident, 0) FROM consult_topics WHERE id = $1`, in.TopicID).
			Scan(&src.TownID, &village, &src.CategoryID, &src.Title, &src.Description, &src.Requester)
		src.VillageID, src.TopicID = village.Int64, in.TopicID
	case in.DecisionID != 0:
		var village sql.NullInt64
		var topic sql.NullInt64
		err = q.QueryRowContext(ctx, `SELECT m.town_id, m.village_id, d.topic_id, d.body FROM consult_decisions d JOIN consult_meetings m ON m.id = d.meeting_id WHERE d.id = $1`,
			in.DecisionID).Scan(&src.TownID, &village, &topic, &src.Description)
		src.VillageID, src.DecisionID = village.Int64, in.DecisionID
		if err == nil && topic.Valid {
			src.TopicID = topic.Int64
			if err = q.QueryRowContext(ctx, `SELECT category_id, title, COALESCE(proposer_resident, 0) FROM consult_topics WHERE id = $1`, topic.Int64).
				Scan(&src.CategoryID, &src.Title, &src.Requester); db.IsNoRows(err) {
				err = nil
			}
		}
		src.Title = cmp.Or(src.Title, referralShort(src.Description))
	default:
		var member int64
		err = q.QueryRowContext(ctx, `SELECT town_id, village_id, member_id, notes FROM consult_visits WHERE id = $1`, in.VisitID).
			Scan(&src.TownID, &src.VillageID, &member, &src.Description)
		src.VisitID = in.VisitID
		if err == nil {
			var mine int
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_care_members WHERE id = $1 AND account_id = $2`, member, a.AccountID).Scan(&mine); err != nil {
				return src, fmt.Errorf("consult: referral visit: %w", err)
			}
			if mine == 0 && !manages(a, src.TownID) {
				return src, auth.Refuse(a, PermHost)
			}
			src.Title = referralShort(src.Description)
			return src, nil
		}
	}
	if db.IsNoRows(err) {
		return src, auth.Refuse(a, PermHost)
	}
	if err != nil {
		return src, fmt.Errorf("consult: referral source: %w", err)
	}
	if !hosts(a, src.TownID, src.VillageID) {
		return src, auth.Refuse(a, PermHost)
	}
	return src, nil
}

// referralShort is the first line of a text, cut to a referral's title.
func referralShort(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	r := []rune(strings.TrimSpace(s))
	return string(r[:min(len(r), maxReferralTitle)])
}

// referralFinish is the finish time: days from now, or the end of the day named, in the town's
// zone; refused on the field finish_on or finish_days.
func (s *Service) referralFinish(ctx context.Context, townID int64, in ReferralInput, now time.Time) (time.Time, error) {
	if in.FinishOn != "" {
		loc, err := s.People.Zone(ctx, townID)
		if err != nil {
			return time.Time{}, err
		}
		d, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(in.FinishOn), loc)
		if err != nil {
			return time.Time{}, errs.Field("finish_on", "consult.date_invalid")
		}
		end := d.AddDate(0, 0, 1).UTC()
		if !end.After(now.Add(24*time.Hour)) || end.After(now.AddDate(0, 6, 0)) {
			return time.Time{}, errs.Field("finish_on", "consult.referral.finish_range")
		}
		return end, nil
	}
	if in.FinishDays != 7 && in.FinishDays != 15 {
		return time.Time{}, errs.Field("finish_days", "consult.referral.finish_days")
	}
	return now.AddDate(0, 0, in.FinishDays), nil
}

// CreateReferral refers a decision, a topic or a visit to one or more departments of the town's
// directory: each department's logins are told, and it must be accepted within 2 hours (紧急) or
// 24 (一般) and done by its finish time.
func (s *Service) CreateReferral(ctx context.Context, a *auth.Actor, in ReferralInput) (Referral, error) {
	in.Title, in.Description, in.Urgency = strings.TrimSpace(in.Title), strings.TrimSpace(in.Description), strings.TrimSpace(in.Urgency)
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		src, err := s.referralSource(ctx, tx, a, in)
		if err != nil {
			return err
		}
		if in.Title == "" {
			in.Title = src.Title
		}
		if in.Description == "" {
			in.Description = src.Description
		}
		if in.CategoryID == 0 {
			in.CategoryID = src.CategoryID
		}
		var f errs.Fields
		f.Text("title", in.Title, maxReferralTitle, true)
		f.Text("description", in.Description, maxReferralBody, true)
		respond, ok := referralRespond[in.Urgency]
		if !ok {
			f.Add("urgency", "consult.referral.urgency_invalid")
		}
		if in.CategoryID == 0 {
			f.Add("category_id", "field.required")
		} else if _, err := s.category(ctx, tx, src.TownID, in.CategoryID); err != nil {
			if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
				f = append(f, e.Fields...)
			} else {
				return err
			}
		}
		now := s.Now()
		finish, err := s.referralFinish(ctx, src.TownID, in, now)
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			f = append(f, e.Fields...)
		} else if err != nil {
			return err
		}
		var depts []int64
		for _, d := range in.DepartmentIDs {
			if !slices.Contains(depts, d) {
				depts = append(depts, d)
			}
		}
		if len(depts) == 0 {
			f.Add("department_ids", "consult.referral.department_required")
		} else {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_departments WHERE town_id = $1 AND active = TRUE AND id IN (`+db.IDList(depts)+`)`, src.TownID).Scan(&n); err != nil {
				return fmt.Errorf("consult: referral departments: %w", err)
			}
			if n != len(depts) {
				f.Add("department_ids", "consult.referral.department_invalid")
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		respondBy := now.Add(respond)
		if err := tx.QueryRowContext(ctx, `INSERT INTO consult_referrals (town_id, village_id, decision_id, topic_id, visit_id, category_id, title, description, urgency,
			respond_by, finish_by, status, requester_id, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'referred', $12, $13, $14, $14) RETURNING id`,
			src.TownID, db.NullID(src.VillageID), db.NullID(src.DecisionID), db.NullID(src.TopicID), db.NullID(src.VisitID), in.CategoryID, in.Title, in.Description, in.Urgency,
			respondBy, finish, db.NullID(src.Requester), a.AccountID, now).Scan(&id); err != nil {
			return fmt.Errorf("consult: referral: %w", err)
		}
		for _, d := range depts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO consult_referral_targets (referral_id, department_id) VALUES ($1, $2)`, id, d); err != nil {
				return fmt.Errorf("consult: referral target: %w", err)
			}
		}
		if src.VisitID != 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO consult_visit_needs (visit_id, kind, ref_id) VALUES ($1, 'referral', $2) ON CONFLICT DO NOTHING`, src.VisitID, id); err != nil {
				return fmt.Errorf("consult: referral visit: %w", err)
			}
		}
		if err := ReferralFlow.Open(ctx, tx, id, flow.Step{By: a, At: now, Due: respondBy,
			Audit: &auth.AuditEntry{TownID: src.TownID, VillageID: src.VillageID, Summary: auth.Summarize(nil, map[string]any{"title": in.Title, "urgency": in.Urgency})}}); err != nil {
			return err
		}
		for _, d := range depts {
			if err := s.tellDepartment(ctx, tx, d, false, notify.Outcome{Title: "consult.referral.told_referred_title", Body: "consult.referral.told_referred",
				Args: []any{in.Title}, Link: fmt.Sprintf("/admin/consult/referrals/%d", id)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Referral{}, err
	}
	return s.Referral(ctx, a, id)
}

// referralRatingName is a rating's word (满意, 基本满意, 不满意) in the language outcomes are
// written in.
func (s *Service) referralRatingName(rating int) string {
	key := fmt.Sprintf("consult.referral.rating.%d", rating)
	if s.Notify != nil && s.Notify.T != nil {
		return s.Notify.T(key)
	}
	return key
}

// tellDepartment tells a department's logins that have a resident record, or only its head.
func (s *Service) tellDepartment(ctx context.Context, tx *sql.Tx, deptID int64, headOnly bool, o notify.Outcome) error {
	q := `SELECT ac.resident_id FROM consult_department_accounts da JOIN accounts ac ON ac.id = da.account_id WHERE da.department_id = $1 AND ac.resident_id IS NOT NULL`
	if headOnly {
		q += ` AND da.head = TRUE`
	}
	return s.Notify.TellEach(ctx, tx, q, []any{deptID}, o)
}

// tellConcerned tells the staff who referred it (when their login is a resident's), the topic's
// proposer and supporters, and the requester.
func (s *Service) tellConcerned(ctx context.Context, tx *sql.Tx, r Referral, o notify.Outcome) error {
	return s.Notify.TellEach(ctx, tx, `SELECT resident_id FROM accounts WHERE id = $1 AND resident_id IS NOT NULL
		UNION SELECT proposer_resident FROM consult_topics WHERE id = $2 AND proposer_resident IS NOT NULL
		UNION SELECT resident_id FROM consult_supports WHERE topic_id = $2
		UNION SELECT id FROM residents WHERE id = $3`, []any{r.createdBy, r.TopicID, r.requester}, o)
}

// ActReferral takes a step on a referral: a target department accepts it (the first owns it: a later one
// is refused with 409) or transfers it with a reason to another department; the owner replies
// (with up to four photos) and finishes it with a closing reply; the proposer or staff rate it,
// and a first 不满意 reopens it. Each step is kept in the timeline and told to whom it concerns.
func (s *Service) ActReferral(ctx context.Context, a *auth.Actor, id int64, in ReferralAction) (Referral, error) {
	in.Action, in.Reason, in.Body, in.Satisfaction = strings.TrimSpace(in.Action), strings.TrimSpace(in.Reason), strings.TrimSpace(in.Body), strings.TrimSpace(in.Satisfaction)
	r, p, err := s.referralFor(ctx, s.DB.Read(), a, id)
	if err != nil {
		return Referral{}, err
	}
	var f errs.Fields
	f.Text("reason", in.Reason, maxReferralReason, false)
	if err := f.Err(); err != nil {
		return Referral{}, err
	}
	if in.Action == "reply" {
		return s.referralReply(ctx, a, r, p, in)
	}
	rating := 0
	if in.Action == "rate" {
		v, ok := satisfactionRating(in.Satisfaction)
		if !ok {
			return Referral{}, errs.Field("satisfaction", "consult.referral.satisfaction_invalid")
		}
		rating = v
		if v == 1 && !r.Reopened {
			in.Action = "reopen"
		}
	}
	fo := flow.Order{ID: r.ID, State: r.Status, Parties: p}
	act, err := ReferralFlow.Check(fo, in.Action, in.Reason, rating)
	if in.Action == "accept" && errs.Is(err, errs.Conflict) && r.Status != ReferralReferred {
		return Referral{}, errs.New(errs.Conflict, "consult.referral.taken")
	}
	if err != nil {
		return Referral{}, err
	}
	dept, err := s.myDepartment(ctx, s.DB.Read(), a)
	if err != nil {
		return Referral{}, err
	}
	now := s.Now()
	st := flow.Step{Action: act.Name, By: a, Reason: in.Reason, Rating: rating, At: now,
		Audit: &auth.AuditEntry{TownID: r.TownID, VillageID: r.VillageID, Summary: auth.Summarize(nil, map[string]any{"title": r.Title})}}
	link := fmt.Sprintf("/consult/referrals/%d", r.ID)
	staffLink := fmt.Sprintf("/admin/consult/referrals/%d", r.ID)
	var to int64
	switch act.Name {
	case "accept":
		// The finish deadline is a new one: it escalates on its own.
		st.Set, st.Args, st.Due = `department_id = $1, escalated_at = NULL, updated_at = $2`, []any{dept, now}, r.FinishBy
	case "transfer":
		to = in.DepartmentID
		var n int
		if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_departments WHERE id = $1 AND town_id = $2 AND active = TRUE`, to, r.TownID).Scan(&n); err != nil {
			return Referral{}, fmt.Errorf("consult: transfer: %w", err)
		}
		if to == 0 || n == 0 || slices.Contains(r.targetIDs, to) {
			return Referral{}, errs.Field("department_id", "consult.referral.department_invalid")
		}
		respondBy := now.Add(referralRespond[r.Urgency])
		st.Set, st.Args, st.Due = `respond_by = $1, escalated_at = NULL, updated_at = $2`, []any{respondBy, now}, respondBy
	case "finish":
		var f errs.Fields
		f.Text("body", in.Body, maxReplyBody, true)
		if err := f.Err(); err != nil {
			return Referral{}, err
		}
		st.Set, st.Args = `reply = $1, updated_at = $2`, []any{in.Body, now}
	case "rate":
		st.Set, st.Args = `rating = $1, updated_at = $2`, []any{rating, now}
	case "reopen":
		finish := now.AddDate(0, 0, referralReopenDays)
		st.Set, st.Args, st.Due = `rating = $1, reopened = TRUE, finish_by = $2, escalated_at = NULL, updated_at = $3`, []any{rating, finish, now}, finish
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := ReferralFlow.Move(ctx, tx, fo, st); err != nil {
			if act.Name == "accept" && errs.Is(err, errs.Conflict) {
				return errs.New(errs.Conflict, "consult.referral.taken")
			}
			return err
		}
		switch act.Name {
		case "accept":
			// The other departments it was sent to need do nothing more.
			for _, other := range r.targetIDs {
				if other == dept {
					continue
				}
				if err := s.tellDepartment(ctx, tx, other, false, notify.Outcome{Title: "consult.referral.told_taken_title", Body: "consult.referral.told_taken",
					Args: []any{r.Title}, Link: staffLink}); err != nil {
					return err
				}
			}
			return s.tellConcerned(ctx, tx, Referral{createdBy: r.createdBy}, notify.Outcome{Title: "consult.referral.told_accepted_title", Body: "consult.referral.told_accepted",
				Args: []any{r.Title}, Link: staffLink})
		case "transfer":
			if _, err := tx.ExecContext(ctx, `DELETE FROM consult_referral_targets WHERE referral_id = $1 AND department_id = $2`, r.ID, dept); err != nil {
				return fmt.Errorf("consult: transfer: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO consult_referral_targets (referral_id, department_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, r.ID, to); err != nil {
				return fmt.Errorf("consult: transfer: %w", err)
			}
			if err := s.tellDepartment(ctx, tx, to, false, notify.Outcome{Title: "consult.referral.told_referred_title", Body: "consult.referral.told_transferred",
				Args: []any{r.Title, in.Reason}, Link: staffLink}); err != nil {
				return err
			}
			return s.tellConcerned(ctx, tx, Referral{createdBy: r.createdBy}, notify.Outcome{Title: "consult.referral.told_transferred_title", Body: "consult.referral.told_transferred",
				Args: []any{r.Title, in.Reason}, Link: staffLink})
		case "finish":
			if _, err := tx.ExecContext(ctx, `INSERT INTO consult_replies (referral_id, department_id, body, by_name, created_at) VALUES ($1, $2, $3, $4, $5)`,
				r.ID, db.NullID(dept), in.Body, a.Name, now); err != nil {
				return fmt.Errorf("consult: finish: %w", err)
			}
			return s.tellConcerned(ctx, tx, r, notify.Outcome{Title: "consult.referral.told_done_title", Body: "consult.referral.told_done", Args: []any{r.Title, in.Body}, Link: link})
		case "rate":
			return s.tellDepartment(ctx, tx, r.DepartmentID, false, notify.Outcome{Title: "consult.referral.told_rated_title", Body: "consult.referral.told_rated",
				Args: []any{r.Title, s.referralRatingName(rating)}, Link: staffLink})
		case "reopen":
			return s.tellDepartment(ctx, tx, r.DepartmentID, false, notify.Outcome{Title: "consult.referral.told_reopened_title", Body: "consult.referral.told_reopened",
				Args: []any{r.Title}, Link: staffLink})
		}
		return nil
	})
	if err != nil {
		return Referral{}, err
	}
	if act.Name == "transfer" {
		// It is no longer the department's to see: it gets the referral as it left it.
		out, err := s.referral(ctx, s.DB.Read(), id)
		out.Actions = []string{}
		return out, err
	}
	return s.Referral(ctx, a, id)
}

// referralReply adds the owner's progress note, with up to four photos, and tells the host, the
// proposer and the supporters.
func (s *Service) referralReply(ctx context.Context, a *auth.Actor, r Referral, p flow.Party, in ReferralAction) (Referral, error) {
	if !slices.Contains(referralActions(r, p), "reply") {
		if r.Status != ReferralAccepted {
			return Referral{}, errs.New(errs.Conflict, ReferralFlow.Keys.NotNow)
		}
		return Referral{}, errs.New(errs.Forbidden, "flow.not_your_part")
	}
	var f errs.Fields
	f.Text("body", in.Body, maxReplyBody, true)
	if len(in.Photos) > maxReplyPhotos {
		f.Add("photos", "field.photos_too_many", maxReplyPhotos)
	}
	if err := f.Err(); err != nil {
		return Referral{}, err
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var id int64
		now := s.Now()
		// The referral must still be the actor's department's, accepted: checked as it is written.
		res, err := tx.ExecContext(ctx, `UPDATE consult_referrals SET updated_at = $1 WHERE id = $2 AND status = $3 AND department_id = $4`, now, r.ID, ReferralAccepted, r.DepartmentID)
		if err != nil {
			return fmt.Errorf("consult: reply: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.New(errs.Conflict, ReferralFlow.Keys.NotNow)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO consult_replies (referral_id, department_id, body, by_name, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			r.ID, db.NullID(r.DepartmentID), in.Body, a.Name, now).Scan(&id); err != nil {
			return fmt.Errorf("consult: reply: %w", err)
		}
		if err := s.savePhotos(ctx, tx, "reply", id, in.Photos); err != nil {
			return err
		}
		if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.referral.reply", Entity: "consult_referral", EntityID: r.ID, TownID: r.TownID, VillageID: r.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"title": r.Title})}); err != nil {
			return err
		}
		return s.tellConcerned(ctx, tx, r, notify.Outcome{Title: "consult.referral.told_reply_title", Body: "consult.referral.told_reply", Args: []any{r.Title, in.Body},
			Link: fmt.Sprintf("/consult/referrals/%d", r.ID)})
	})
	if err != nil {
		return Referral{}, err
	}
	return s.Referral(ctx, a, r.ID)
}

// Escalate marks the referrals that are overdue (not accepted by their respond_by, or not done by
// their finish_by) as escalated, once each, and tells the head contact of each department
// concerned (its owner, or its targets while none has accepted). It looks at a bounded batch per
// call; the housekeeping loop calls it every few minutes. It returns how many it escalated.
func (s *Service) Escalate(ctx context.Context) (int, error) {
	now := s.Now()
	late, err := ReferralFlow.Overdue(ctx, s.DB.Read(), now, flow.Orders{SQL: `SELECT id, town_id FROM consult_referrals WHERE escalated_at IS NULL AND status IN ('referred', 'accepted')`})
	if err != nil {
		return 0, err
	}
	if len(late) > referralBatch {
		late = late[:referralBatch]
	}
	n := 0
	for _, l := range late {
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE consult_referrals SET escalated_at = $1 WHERE id = $2 AND escalated_at IS NULL AND status = $3`, now, l.OrderID, l.State)
			if err != nil {
				return fmt.Errorf("consult: escalate: %w", err)
			}
			if k, _ := res.RowsAffected(); k != 1 {
				return nil
			}
			n++
			r, err := s.referral(ctx, tx, l.OrderID)
			if err != nil {
				return err
			}
			depts := r.targetIDs
			if r.Status != ReferralReferred {
				depts = []int64{r.DepartmentID}
			}
			body := "consult.referral.told_overdue_respond"
			if r.Status == ReferralAccepted {
				body = "consult.referral.told_overdue_finish"
			}
			for _, d := range depts {
				if err := s.tellDepartment(ctx, tx, d, true, notify.Outcome{Title: "consult.referral.told_overdue_title", Body: body, Args: []any{r.Title},
					Link: fmt.Sprintf("/admin/consult/referrals/%d", r.ID)}); err != nil {
					return err
				}
			}
			return auth.Audit(ctx, tx, auth.System("escalate"), auth.AuditEntry{Action: "consult.referral.escalate", Entity: "consult_referral", EntityID: r.ID,
				TownID: r.TownID, VillageID: r.VillageID, Summary: auth.Summarize(nil, map[string]any{"title": r.Title, "state": r.Status})})
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReferralFilter narrows the staff's board: by status, and overdue only.
type ReferralFilter struct {
	Status  string `json:"status"`
	Overdue bool   `json:"overdue"`
}

// referralOverdueSQL is true for a referral past the due time of its present state.
const referralOverdueSQL = `((r.status = 'referred' AND r.respond_by < $1) OR (r.status = 'accepted' AND r.finish_by < $1))`

// Referrals lists the referrals the actor may act on, nearest deadline first: a department's own
// (sent to it and not yet accepted, or owned by it), a host's of their scope, a manager's of the
// town; for a resident, those of topics they proposed or support and of visits to their household.
func (s *Service) Referrals(ctx context.Context, a *auth.Actor, f ReferralFilter) ([]Referral, error) {
	if a == nil || a.AccountID == 0 {
		return nil, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	q := s.DB.Read()
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var where string
	dept, err := s.myDepartment(ctx, q, a)
	if err != nil {
		return nil, err
	}
	all, villages := hostScope(a, a.TownID)
	switch {
	case dept != 0:
		d := arg(dept)
		where = `((r.status = 'referred' AND EXISTS (SELECT 1 FROM consult_referral_targets t WHERE t.referral_id = r.id AND t.department_id = ` + d + `)) OR (r.status <> 'referred' AND r.department_id = ` + d + `))`
	case all || manages(a, a.TownID):
		where = `r.town_id = ` + arg(a.TownID)
	case len(villages) > 0:
		where = `r.town_id = ` + arg(a.TownID) + ` AND r.village_id IN (` + db.IDList(villages) + `)`
	default:
		m, ok, err := s.me(ctx, q, a)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, auth.Refuse(a, PermHost)
		}
		me, hh := arg(m.ID), arg(m.HouseholdID)
		where = `(r.requester_id = ` + me + ` OR EXISTS (SELECT 1 FROM consult_supports sp WHERE sp.topic_id = r.topic_id AND sp.resident_id = ` + me + `)
			OR EXISTS (SELECT 1 FROM consult_visits cv WHERE cv.id = r.visit_id AND cv.household_id = ` + hh + `))`
	}
	if slices.Contains(ReferralStatuses, f.Status) {
		where += ` AND r.status = ` + arg(f.Status)
	}
	if f.Overdue {
		now := arg(s.Now())
		where += ` AND ((r.status = 'referred' AND r.respond_by < ` + now + `) OR (r.status = 'accepted' AND r.finish_by < ` + now + `))`
	}
	rows, err := q.QueryContext(ctx, `SELECT `+referralCols+referralFrom+`WHERE `+where+`
		ORDER BY CASE WHEN r.status IN ('referred', 'accepted') THEN 0 ELSE 1 END,
		CASE r.status WHEN 'referred' THEN r.respond_by WHEN 'accepted' THEN r.finish_by ELSE r.created_at END, r.created_at DESC, r.id DESC LIMIT 500`, args...)
	if err != nil {
		return nil, fmt.Errorf("consult: referrals: %w", err)
	}
	out := []Referral{}
	for rows.Next() {
		r, err := s.scanReferral(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("consult: referrals: %w", err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		full, err := s.referral(ctx, q, out[i].ID)
		if err != nil {
			return nil, err
		}
		out[i].Targets = full.Targets
	}
	return out, nil
}

// Progress is a village's public 有事好商量 · 办理进度: what was referred, to which departments,
// how far it has got and the departments' replies, with no resident's name or phone.
type Progress struct {
	VillageName string         `json:"village_name"`
	Items       []ProgressItem `json:"items"`
}

// ProgressItem is one referral on the public progress page.
type ProgressItem struct {
	Title      string    `json:"title"`
	Category   string    `json:"category"`
	Department string    `json:"department"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	FinishBy   time.Time `json:"finish_by"`
	Replies    []string  `json:"replies"`
}

// VillageProgress is the public progress page of a village: its referrals, newest first.
func (s *Service) VillageProgress(ctx context.Context, villageID int64) (Progress, error) {
	q := s.DB.Read()
	var p Progress
	err := q.QueryRowContext(ctx, `SELECT name FROM villages WHERE id = $1`, villageID).Scan(&p.VillageName)
	if db.IsNoRows(err) {
		return p, notFound
	}
	if err != nil {
		return p, fmt.Errorf("consult: progress: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT r.id FROM consult_referrals r WHERE r.village_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT 100`, villageID)
	if err != nil {
		return p, fmt.Errorf("consult: progress: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return p, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	p.Items = []ProgressItem{}
	for _, id := range ids {
		r, err := s.referral(ctx, q, id)
		if err != nil {
			return p, err
		}
		it := ProgressItem{Title: r.Title, Category: r.Category, Department: r.Department, Status: r.Status, CreatedAt: r.CreatedAt, FinishBy: r.FinishBy, Replies: []string{}}
		if it.Department == "" {
			it.Department = strings.Join(r.Targets, "、")
		}
		reps, err := s.replies(ctx, q, id)
		if err != nil {
			return p, err
		}
		for _, x := range reps {
			it.Replies = append(it.Replies, x.Body)
		}
		p.Items = append(p.Items, it)
	}
	return p, nil
}

// referralTodos counts what waits in 接诉即办: for a department, the referrals sent to it and not
// accepted or owned by it and not done; for hosts, their scope's referrals past a deadline.
func (s *Service) referralTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil || a.TownID == 0 {
		return nil, nil
	}
	q := s.DB.Read()
	dept, err := s.myDepartment(ctx, q, a)
	if err != nil {
		return nil, err
	}
	var n int
	if dept != 0 {
		err = q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_referrals r WHERE (r.status = 'referred' AND EXISTS (SELECT 1 FROM consult_referral_targets t
			WHERE t.referral_id = r.id AND t.department_id = $1)) OR (r.status = 'accepted' AND r.department_id = $1)`, dept).Scan(&n)
		if err != nil {
			return nil, fmt.Errorf("consult: referral todos: %w", err)
		}
		if n == 0 {
			return nil, nil
		}
		return []web.Todo{{Key: "consult.referral.todo_waiting", Count: n, Path: "/admin/consult/referrals"}}, nil
	}
	all, villages := hostScope(a, a.TownID)
	if !all && len(villages) == 0 {
		return nil, nil
	}
	where := `r.town_id = $2`
	if !all {
		where += ` AND r.village_id IN (` + db.IDList(villages) + `)`
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_referrals r WHERE `+where+` AND `+referralOverdueSQL, s.Now(), a.TownID).Scan(&n); err != nil {
		return nil, fmt.Errorf("consult: referral todos: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	return []web.Todo{{Key: "consult.referral.todo", Count: n, Path: "/admin/consult/referrals?overdue=1"}}, nil
}
