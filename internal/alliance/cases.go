package alliance

import (
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
)

// CaseKinds are the kinds of a dispute case (案件类型): 土地权属, 邻里, 婚姻家庭, 劳动, 合同, 其他.
var CaseKinds = []string{"land", "neighbour", "family", "labour", "contract", "other"}

// CaseSources are how a case came in: 热线, 窗口, 诉前委派 (from the court), 村委推荐.
var CaseSources = []string{"hotline", "window", "court", "village"}

// PartyRoles are a party's side: 申请人, 被申请人.
var PartyRoles = []string{"applicant", "respondent"}

// TeamRoles are the roles of a case's mediation team: 法官, 特邀调解员, 规划部门, 村两委, 乡贤.
var TeamRoles = []string{"judge", "mediator", "planning", "village", "elder"}

// SessionPlaces are where a session took place: 上门 (at the parties' homes) or at the centre.
var SessionPlaces = []string{"visit", "centre"}

// SessionWork is what a session did: 确权 (the boundary or right confirmed), 法律宣传, 政策解答.
var SessionWork = []string{"boundary", "law", "policy"}

// The states of a case: mediating until an outcome — 调解成功 (settled), 初步谅解 (understood, from
// which mediation may still end in any of the others), 现场立案 (filed in court), 终止 (ended).
const (
	CaseMediating  = "mediating"
	CaseSettled    = "settled"
	CaseUnderstood = "understood"
	CaseFiled      = "filed"
	CaseEnded      = "ended"
)

// CaseStatuses lists the states in the order the centre's list shows them.
var CaseStatuses = []string{CaseMediating, CaseUnderstood, CaseSettled, CaseFiled, CaseEnded}

// Bounds of a case.
const (
	caseMediateDays  = 30 // days to mediate, unless the parties agree to more
	maxCaseExtend    = 30 // days one extension may add
	maxCaseTitle     = 60
	maxCaseSummary   = 2000
	maxAgreement     = 2000
	maxCourtNumber   = 40
	maxCaseReason    = 200
	maxCaseParties   = 10
	maxCaseTeam      = 10
	maxAttendees     = 300
	maxSessionNotes  = 2000
	maxSessionPhotos = 6
)

// CaseFlow is a case's flow, declared once: the centre's staff (Dispatcher) take every step. An
// extension keeps the case mediating with a later due time and the parties' consent as its reason.
var CaseFlow = flow.New(flow.Flow{
	Name: "alliance.dispute_case", Table: "dispute_cases", Start: CaseMediating,
	States: []flow.State{{Name: CaseMediating, Deadline: caseMediateDays * 24 * time.Hour}, {Name: CaseUnderstood, Responded: true, Done: true},
		{Name: CaseSettled, Responded: true, Done: true}, {Name: CaseFiled, Responded: true, Done: true}, {Name: CaseEnded, Done: true}},
	Actions: []flow.Action{
		{Name: "extend", From: []string{CaseMediating}, To: CaseMediating, By: flow.Dispatcher, Reason: true},
		{Name: "settle", From: []string{CaseMediating, CaseUnderstood}, To: CaseSettled, By: flow.Dispatcher},
		{Name: "understand", From: []string{CaseMediating}, To: CaseUnderstood, By: flow.Dispatcher},
		{Name: "file", From: []string{CaseMediating, CaseUnderstood}, To: CaseFiled, By: flow.Dispatcher},
		{Name: "end", From: []string{CaseMediating, CaseUnderstood}, To: CaseEnded, By: flow.Dispatcher, Reason: true},
	},
	Keys: flow.Keys{Unknown: "alliance.dispute.action_invalid", NotNow: "alliance.dispute.not_now", ReasonRequired: "alliance.dispute.reason_required"},
})

// Case is a dispute case (案件) of the centre, with its parties, team, sessions and timeline.
type Case struct {
	ID             int64        `json:"id"`
	TownID         int64        `json:"town_id"`
	VillageID      int64        `json:"village_id"`
	VillageName    string       `json:"village_name"`
	Title          string       `json:"title"`
	Kind           string       `json:"kind"`
	Source         string       `json:"source"`
	Summary        string       `json:"summary"`
	Status         string       `json:"status"`
	ConsultationID int64        `json:"consultation_id,omitzero"`
	Due            time.Time    `json:"due"`
	Overdue        bool         `json:"overdue"`
	Agreement      string       `json:"agreement,omitempty"`
	Confirmed      bool         `json:"confirmed"`
	CourtNumber    string       `json:"court_number,omitempty"`
	ClosedAt       time.Time    `json:"closed_at,omitzero"`
	CreatedAt      time.Time    `json:"created_at"`
	Parties        []CaseParty  `json:"parties"`
	Team           []TeamMember `json:"team"`
	Sessions       []Session    `json:"sessions,omitempty"`
	Events         []flow.Event `json:"events,omitempty"`
	Actions        []string     `json:"actions"`
}

// CaseParty is a party to a case: a resident of the town or someone else, and their side.
type CaseParty struct {
	ResidentID int64  `json:"resident_id,omitzero"`
	Name       string `json:"name"`
	Phone      string `json:"phone,omitempty"`
	Role       string `json:"role"`
}

// TeamMember is one of a case's mediators, by role, name and unit.
type TeamMember struct {
	Role string `json:"role"`
	Name string `json:"name"`
	Unit string `json:"unit"`
}

// Session is a mediation session of a case: when, where, who attended, what was done, notes and
// photos.
type Session struct {
	ID        int64     `json:"id"`
	Day       string    `json:"day"`
	Place     string    `json:"place"`
	Attendees string    `json:"attendees"`
	Work      []string  `json:"work"`
	Notes     string    `json:"notes"`
	Photos    []int64   `json:"photos"`
	CreatedAt time.Time `json:"created_at"`
}

// CaseInput opens a case: the village, a title, its kind and source, a summary, its parties (at
// least one on each side) and its mediation team; ConsultationID links the intake it came from.
type CaseInput struct {
	TownID         int64        `json:"town_id,omitzero"`
	VillageID      int64        `json:"village_id"`
	Title          string       `json:"title"`
	Kind           string       `json:"kind"`
	Source         string       `json:"source"`
	Summary        string       `json:"summary"`
	ConsultationID int64        `json:"consultation_id,omitzero"`
	Parties        []CaseParty  `json:"parties"`
	Team           []TeamMember `json:"team"`
}

// SessionInput records a session: Day (2006-01-02, not after today), Place, Attendees, Work (some
// of SessionWork), Notes and, from a form, photos.
type SessionInput struct {
	Day       string   `json:"day"`
	Place     string   `json:"place"`
	Attendees string   `json:"attendees"`
	Work      []string `json:"work"`
	Notes     string   `json:"notes"`
	Photos    [][]byte `json:"-"`
}

// CaseAction is a step on a case: extend (days, reason: the parties' consent), settle (agreement,
// confirmed for 司法确认), understand (reason as a note), file (court_number) or end (reason).
type CaseAction struct {
	Action      string `json:"action"`
	Reason      string `json:"reason,omitempty"`
	Days        int    `json:"days,omitzero"`
	Agreement   string `json:"agreement,omitempty"`
	Confirmed   bool   `json:"confirmed,omitempty"`
	CourtNumber string `json:"court_number,omitempty"`
}

// CaseFilter narrows the centre's cases: a status, overdue ones only.
type CaseFilter struct {
	TownID  int64
	Status  string
	Overdue bool
}

const caseCols = `c.id, c.town_id, c.village_id, v.name, c.title, c.kind, c.source, c.summary, c.status, COALESCE(c.consultation_id, 0), c.due_at,
	c.agreement, c.confirmed, c.court_number, c.closed_at, c.created_at`

const caseFrom = ` FROM dispute_cases c JOIN villages v ON v.id = c.village_id `

func (s *Service) scanCase(sc interface{ Scan(...any) error }) (Case, error) {
	var c Case
	var closed sql.NullTime
	err := sc.Scan(&c.ID, &c.TownID, &c.VillageID, &c.VillageName, &c.Title, &c.Kind, &c.Source, &c.Summary, &c.Status, &c.ConsultationID, &c.Due,
		&c.Agreement, &c.Confirmed, &c.CourtNumber, &closed, &c.CreatedAt)
	c.ClosedAt = closed.Time
	c.Overdue = c.Status == CaseMediating && s.Now().After(c.Due)
	c.Parties, c.Team, c.Actions = []CaseParty{}, []TeamMember{}, []string{}
	return c, err
}

// Cases lists a town's cases for its centre's staff: mediating ones by due time first (overdue
// on top), then the closed ones, newest first.
func (s *Service) Cases(ctx context.Context, a *auth.Actor, f CaseFilter) ([]Case, error) {
	townID, err := disputeTown(a, f.TownID)
	if err != nil {
		return nil, err
	}
	where, args := []string{"c.town_id = $1"}, []any{townID}
	if f.Status != "" {
		if !slices.Contains(CaseStatuses, f.Status) {
			return nil, errs.Field("status", "alliance.dispute.status_invalid")
		}
		args = append(args, f.Status)
		where = append(where, fmt.Sprintf("c.status = $%d", len(args)))
	}
	if f.Overdue {
		args = append(args, s.Now())
		where = append(where, fmt.Sprintf("c.status = 'mediating' AND c.due_at < $%d", len(args)))
	}
	q := s.DB.Read()
	rows, err := q.QueryContext(ctx, `SELECT `+caseCols+caseFrom+`WHERE `+strings.Join(where, " AND ")+`
		ORDER BY CASE WHEN c.status = 'mediating' THEN 0 ELSE 1 END, CASE WHEN c.status = 'mediating' THEN c.due_at END, c.id DESC LIMIT 500`, args...)
	if err != nil {
		return nil, fmt.Errorf("alliance: cases: %w", err)
	}
	out := []Case{}
	for rows.Next() {
		c, err := s.scanCase(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("alliance: cases: %w", err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Parties, err = s.caseParties(ctx, q, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// caseRow reads a case with no check of who asks.
func (s *Service) caseRow(ctx context.Context, q db.Querier, id int64) (Case, error) {
	c, err := s.scanCase(q.QueryRowContext(ctx, `SELECT `+caseCols+caseFrom+`WHERE c.id = $1`, id))
	if db.IsNoRows(err) {
		return c, notFound
	}
	if err != nil {
		return c, fmt.Errorf("alliance: case %d: %w", id, err)
	}
	return c, nil
}

// caseFor reads a case its town's centre staff handle; for anyone else, whatever else they may
// do, it answers NotFound.
func (s *Service) caseFor(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Case, error) {
	c, err := s.caseRow(ctx, q, id)
	if err != nil {
		return c, err
	}
	if !handlesDisputes(a, c.TownID) {
		if a == nil || a.AccountID == 0 {
			return Case{}, errs.New(errs.Unauthorized, "error.unauthorized")
		}
		return Case{}, notFound
	}
	return c, nil
}

func (s *Service) caseParties(ctx context.Context, q db.Querier, id int64) ([]CaseParty, error) {
	rows, err := q.QueryContext(ctx, `SELECT COALESCE(resident_id, 0), name, phone, role FROM dispute_parties WHERE case_id = $1 ORDER BY role, id`, id)
	if err != nil {
		return nil, fmt.Errorf("alliance: case parties: %w", err)
	}
	defer rows.Close()
	out := []CaseParty{}
	for rows.Next() {
		var p CaseParty
		if err := rows.Scan(&p.ResidentID, &p.Name, &p.Phone, &p.Role); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Service) caseTeam(ctx context.Context, q db.Querier, id int64) ([]TeamMember, error) {
	rows, err := q.QueryContext(ctx, `SELECT role, name, unit FROM dispute_team WHERE case_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("alliance: case team: %w", err)
	}
	defer rows.Close()
	out := []TeamMember{}
	for rows.Next() {
		var m TeamMember
		if err := rows.Scan(&m.Role, &m.Name, &m.Unit); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Service) caseSessions(ctx context.Context, q db.Querier, id int64) ([]Session, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, day, place, attendees, work, notes, created_at FROM dispute_sessions WHERE case_id = $1 ORDER BY day, id`, id)
	if err != nil {
		return nil, fmt.Errorf("alliance: case sessions: %w", err)
	}
	out := []Session{}
	for rows.Next() {
		var x Session
		var work string
		if err := rows.Scan(&x.ID, &x.Day, &x.Place, &x.Attendees, &work, &x.Notes, &x.CreatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		x.Work = []string{}
		if work != "" {
			x.Work = strings.Split(work, ",")
		}
		out = append(out, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Photos, err = s.photoIDs(ctx, q, "session", out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Case returns a case to its town's centre staff, with its parties, team, sessions, timeline and
// the steps they may take; NotFound to anyone else.
func (s *Service) Case(ctx context.Context, a *auth.Actor, id int64) (Case, error) {
	q := s.DB.Read()
	c, err := s.caseFor(ctx, q, a, id)
	if err != nil {
		return c, err
	}
	if c.Parties, err = s.caseParties(ctx, q, id); err != nil {
		return c, err
	}
	if c.Team, err = s.caseTeam(ctx, q, id); err != nil {
		return c, err
	}
	if c.Sessions, err = s.caseSessions(ctx, q, id); err != nil {
		return c, err
	}
	if c.Events, err = CaseFlow.Timeline(ctx, q, id); err != nil {
		return c, err
	}
	c.Actions = CaseFlow.Allowed(c.Status, flow.Dispatcher)
	if c.Status == CaseMediating || c.Status == CaseUnderstood {
		c.Actions = append(c.Actions, "session")
	}
	return c, nil
}

// seesSessionPhoto reports whether the actor may see a session's photo: the centre's staff of
// its case's town, nobody else.
func (s *Service) seesSessionPhoto(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (bool, error) {
	var town int64
	err := q.QueryRowContext(ctx, `SELECT c.town_id FROM dispute_sessions x JOIN dispute_cases c ON c.id = x.case_id WHERE x.id = $1`, id).Scan(&town)
	if db.IsNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("alliance: session photo: %w", err)
	}
	return handlesDisputes(a, town), nil
}

// tellParties tells each party who is a resident of a step of their case.
func (s *Service) tellParties(ctx context.Context, tx *sql.Tx, caseID int64, o notify.Outcome) error {
	return s.Notify.TellEach(ctx, tx, `SELECT resident_id FROM dispute_parties WHERE case_id = $1 AND resident_id IS NOT NULL`, []any{caseID}, o)
}

// disputeFields adds a refusal's field errors to f, or returns the refusal when it names no field.
func disputeFields(f *errs.Fields, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
		*f = append(*f, e.Fields...)
		return nil
	}
	return err
}

// CreateCase opens a case in a town whose centre the actor staffs: 30 days to mediate from now.
// Parties who are residents are told the case was opened.
func (s *Service) CreateCase(ctx context.Context, a *auth.Actor, in CaseInput) (Case, error) {
	in.Title, in.Summary, in.Kind, in.Source = strings.TrimSpace(in.Title), strings.TrimSpace(in.Summary), strings.TrimSpace(in.Kind), strings.TrimSpace(in.Source)
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		townID, err := disputeTown(a, in.TownID)
		if err != nil {
			return err
		}
		var f errs.Fields
		if in.VillageID == 0 {
			f.Add("village_id", "field.required")
		} else if err := disputeFields(&f, s.villageIn(ctx, tx, townID, in.VillageID, "village_id")); err != nil {
			return err
		}
		f.Text("title", in.Title, maxCaseTitle, true)
		f.Text("summary", in.Summary, maxCaseSummary, false)
		if !slices.Contains(CaseKinds, in.Kind) {
			f.Add("kind", "alliance.dispute.kind_invalid")
		}
		if !slices.Contains(CaseSources, in.Source) {
			f.Add("source", "alliance.dispute.source_invalid")
		}
		if in.ConsultationID != 0 {
			c, err := s.consultation(ctx, tx, in.ConsultationID)
			if errs.Is(err, errs.NotFound) || (err == nil && c.TownID != townID) {
				f.Add("consultation_id", "error.not_found")
			} else if err != nil {
				return err
			}
		}
		var parties []CaseParty
		sides := map[string]bool{}
		for i, p := range in.Parties {
			p.Name, p.Phone, p.Role = strings.TrimSpace(p.Name), strings.TrimSpace(p.Phone), strings.TrimSpace(p.Role)
			if p.ResidentID == 0 && p.Name == "" && p.Phone == "" {
				continue
			}
			field := fmt.Sprintf("party_%d", i)
			if !slices.Contains(PartyRoles, p.Role) {
				f.Add(field+"_role", "alliance.dispute.party_role_invalid")
			}
			if p.ResidentID != 0 && slices.ContainsFunc(parties, func(q CaseParty) bool { return q.ResidentID == p.ResidentID }) {
				f.Add(field+"_resident", "alliance.dispute.party_twice")
			} else if p.ResidentID != 0 {
				name, phone, _, err := s.disputeResident(ctx, tx, townID, p.ResidentID, field+"_resident")
				if err := disputeFields(&f, err); err != nil {
					return err
				}
				p.Name, p.Phone = name, phone
			} else {
				f.Text(field+"_name", p.Name, maxDisputeName, true)
				f.Text(field+"_phone", p.Phone, maxDisputePhone, false)
				if p.Phone != "" && strings.Trim(p.Phone, "0123456789-") != "" {
					f.Add(field+"_phone", "field.phone_invalid")
				}
			}
			sides[p.Role] = true
			parties = append(parties, p)
		}
		if len(parties) > maxCaseParties {
			f.Add("parties", "alliance.dispute.too_many")
		} else if !sides["applicant"] || !sides["respondent"] {
			f.Add("parties", "alliance.dispute.parties_required")
		}
		var team []TeamMember
		for i, m := range in.Team {
			m.Name, m.Unit, m.Role = strings.TrimSpace(m.Name), strings.TrimSpace(m.Unit), strings.TrimSpace(m.Role)
			if m.Name == "" && m.Unit == "" {
				continue
			}
			field := fmt.Sprintf("team_%d", i)
			if !slices.Contains(TeamRoles, m.Role) {
				f.Add(field+"_role", "alliance.dispute.team_role_invalid")
			}
			f.Text(field+"_name", m.Name, maxDisputeName, true)
			f.Text(field+"_unit", m.Unit, 60, false)
			team = append(team, m)
		}
		if len(team) > maxCaseTeam {
			f.Add("team", "alliance.dispute.too_many")
		}
		if err := f.Err(); err != nil {
			return err
		}
		now := s.Now()
		due := now.Add(caseMediateDays * 24 * time.Hour)
		if err := tx.QueryRowContext(ctx, `INSERT INTO dispute_cases (town_id, village_id, title, kind, source, summary, status, consultation_id, due_at, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'mediating', $7, $8, $9, $10, $10) RETURNING id`,
			townID, in.VillageID, in.Title, in.Kind, in.Source, in.Summary, db.NullID(in.ConsultationID), due, a.AccountID, now).Scan(&id); err != nil {
			return fmt.Errorf("alliance: case: %w", err)
		}
		for _, p := range parties {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dispute_parties (case_id, resident_id, name, phone, role) VALUES ($1, $2, $3, $4, $5)`,
				id, db.NullID(p.ResidentID), p.Name, p.Phone, p.Role); err != nil {
				return fmt.Errorf("alliance: case party: %w", err)
			}
		}
		for _, m := range team {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dispute_team (case_id, role, name, unit) VALUES ($1, $2, $3, $4)`, id, m.Role, m.Name, m.Unit); err != nil {
				return fmt.Errorf("alliance: case team: %w", err)
			}
		}
		if in.ConsultationID != 0 {
			// Compare-and-set: a consultation becomes one case, however many forms race for it.
			res, err := tx.ExecContext(ctx, `UPDATE dispute_consultations SET became_case = TRUE, case_id = $1, updated_at = $2 WHERE id = $3 AND case_id IS NULL`, id, now, in.ConsultationID)
			if err != nil {
				return fmt.Errorf("alliance: case consultation: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return &errs.Error{Code: errs.Conflict, Key: "alliance.dispute.consultation_has_case", Fields: []errs.FieldError{{Field: "consultation_id", Key: "alliance.dispute.consultation_has_case"}}}
			}
		}
		// The audit and the timeline name no party: the case stays with the centre.
		if err := CaseFlow.Open(ctx, tx, id, flow.Step{By: a, At: now, Due: due,
			Audit: &auth.AuditEntry{TownID: townID}} /* nothing of the case in the town's audit log, which is read outside the centre */); err != nil {
			return err
		}
		return s.tellParties(ctx, tx, id, notify.Outcome{Title: "alliance.dispute.told_opened_title", Body: "alliance.dispute.told_opened",
			Args: []any{caseMediateDays}, Link: "/alliance/disputes"})
	})
	if err != nil {
		return Case{}, err
	}
	return s.Case(ctx, a, id)
}

// AddSession records a mediation session of a case that is mediating or reached a first
// understanding, with up to six photos; the parties who are residents are told.
func (s *Service) AddSession(ctx context.Context, a *auth.Actor, id int64, in SessionInput) (Case, error) {
	in.Day, in.Place, in.Attendees, in.Notes = strings.TrimSpace(in.Day), strings.TrimSpace(in.Place), strings.TrimSpace(in.Attendees), strings.TrimSpace(in.Notes)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.caseFor(ctx, tx, a, id)
		if err != nil {
			return err
		}
		today, err := s.townToday(ctx, c.TownID)
		if err != nil {
			return err
		}
		var f errs.Fields
		disputeDay(&f, "day", in.Day, today, true)
		if !slices.Contains(SessionPlaces, in.Place) {
			f.Add("place", "alliance.dispute.place_invalid")
		}
		f.Text("attendees", in.Attendees, maxAttendees, true)
		var work []string
		for _, w := range in.Work {
			w = strings.TrimSpace(w)
			if !slices.Contains(SessionWork, w) {
				f.Add("work", "alliance.dispute.work_invalid")
				break
			}
			if !slices.Contains(work, w) {
				work = append(work, w)
			}
		}
		f.Text("notes", in.Notes, maxSessionNotes, false)
		if len(in.Photos) > maxSessionPhotos {
			f.Add("photos", "alliance.dispute.too_many_photos", maxSessionPhotos)
		}
		if err := f.Err(); err != nil {
			return err
		}
		if c.Status != CaseMediating && c.Status != CaseUnderstood {
			return errs.New(errs.Conflict, "alliance.dispute.not_now")
		}
		slices.SortFunc(work, func(x, y string) int { return slices.Index(SessionWork, x) - slices.Index(SessionWork, y) })
		var sid int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO dispute_sessions (case_id, day, place, attendees, work, notes, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, id, in.Day, in.Place, in.Attendees, strings.Join(work, ","), in.Notes, a.AccountID, s.Now()).Scan(&sid); err != nil {
			return fmt.Errorf("alliance: session: %w", err)
		}
		if err := s.savePhotos(ctx, tx, "session", sid, in.Photos); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dispute_cases SET updated_at = $1 WHERE id = $2`, s.Now(), id); err != nil {
			return fmt.Errorf("alliance: session: %w", err)
		}
		if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "dispute.session.add", Entity: "dispute_case", EntityID: id, TownID: c.TownID}); err != nil {
			return err
		}
		return s.tellParties(ctx, tx, id, notify.Outcome{Title: "alliance.dispute.told_session_title", Body: "alliance.dispute.told_session",
			Args: []any{in.Day}, Link: "/alliance/disputes"})
	})
	if err != nil {
		return Case{}, err
	}
	return s.Case(ctx, a, id)
}

// ActCase takes a step on a case: extend its time to mediate by 1–30 days with the parties'
// consent (the reason), settle it with the agreement (and whether a court confirmed it), record a
// first understanding, file it in court with the court's number, or end it with a reason. Each
// step is kept in the timeline and told to the parties who are residents.
func (s *Service) ActCase(ctx context.Context, a *auth.Actor, id int64, in CaseAction) (Case, error) {
	in.Action, in.Reason, in.Agreement, in.CourtNumber = strings.TrimSpace(in.Action), strings.TrimSpace(in.Reason), strings.TrimSpace(in.Agreement), strings.TrimSpace(in.CourtNumber)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.caseFor(ctx, tx, a, id)
		if err != nil {
			return err
		}
		var f errs.Fields
		f.Text("reason", in.Reason, maxCaseReason, false)
		switch in.Action {
		case "extend":
			if in.Days < 1 || in.Days > maxCaseExtend {
				f.Add("days", "alliance.dispute.days_invalid", maxCaseExtend)
			}
		case "settle":
			f.Text("agreement", in.Agreement, maxAgreement, true)
		case "file":
			f.Text("court_number", in.CourtNumber, maxCourtNumber, false)
		}
		if err := f.Err(); err != nil {
			return err
		}
		o := flow.Order{ID: c.ID, State: c.Status, Parties: flow.Dispatcher}
		act, err := CaseFlow.Check(o, in.Action, in.Reason, 0)
		if err != nil {
			return err
		}
		now := s.Now()
		st := flow.Step{Action: act.Name, By: a, Reason: in.Reason, At: now, Audit: &auth.AuditEntry{TownID: c.TownID, Summary: auth.Summarize(nil, map[string]any{"from": c.Status})}}
		body := "alliance.dispute.told." + act.Name
		args := []any{}
		switch act.Name {
		case "extend":
			due := c.Due.AddDate(0, 0, in.Days)
			st.Due, st.Set, st.Args = due, `due_at = $1, updated_at = $2`, []any{due, now}
			args = append(args, in.Days)
		case "settle":
			st.Set, st.Args = `agreement = $1, confirmed = $2, closed_at = $3, updated_at = $3`, []any{in.Agreement, in.Confirmed, now}
		case "file":
			st.Set, st.Args = `court_number = $1, closed_at = $2, updated_at = $2`, []any{in.CourtNumber, now}
		default:
			st.Set, st.Args = `closed_at = $1, updated_at = $1`, []any{now}
		}
		if _, err := CaseFlow.Move(ctx, tx, o, st); err != nil {
			return err
		}
		return s.tellParties(ctx, tx, id, notify.Outcome{Title: "alliance.dispute.told_step_title", Body: body, Args: args, Link: "/alliance/disputes"})
	})
	if err != nil {
		return Case{}, err
	}
	return s.Case(ctx, a, id)
}
