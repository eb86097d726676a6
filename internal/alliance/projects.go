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
	"siwei/internal/web"
)

// The states of a project (项目清单): proposed by staff or a unit, agreed by the unit, agreed by the
// village (and so in progress, with milestones), done by the unit, and rated by the village; or
// declined, with a reason, by either side before work starts.
const (
	ProjectProposed   = "proposed"
	ProjectUnitAgreed = "unit_agreed"
	ProjectInProgress = "in_progress"
	ProjectDone       = "done"
	ProjectRated      = "rated"
	ProjectDeclined   = "declined"
)

// ProjectStatuses lists the states in the order the list shows them.
var ProjectStatuses = []string{ProjectProposed, ProjectUnitAgreed, ProjectInProgress, ProjectDone, ProjectRated, ProjectDeclined}

// Bounds of a project's text.
const (
	maxProjectTitle     = 60
	maxProjectNote      = 1000
	maxProjectReason    = 200
	maxMilestonePhotos  = 4
	projectRespondDays  = 7
	defaultRatesPeriodD = 365
)

// ProjectFlow is a project's flow, declared once. The unit (Provider: its liaison, or the town's
// alliance staff on its behalf) agrees, and later finishes the work; the village (Beneficiary: its
// admins or the town's staff) agrees, and rates it once done. Either side may decline before work
// starts. A unit should answer within a week.
var ProjectFlow = flow.New(flow.Flow{
	Name: "alliance.project", Table: "alliance_projects", Start: ProjectProposed,
	States: []flow.State{{Name: ProjectProposed, Deadline: projectRespondDays * 24 * time.Hour}, {Name: ProjectUnitAgreed, Responded: true},
		{Name: ProjectInProgress, Responded: true}, {Name: ProjectDone, Responded: true, Done: true}, {Name: ProjectRated, Responded: true, Done: true},
		{Name: ProjectDeclined, Responded: true}},
	Actions: []flow.Action{
		{Name: "unit_agree", From: []string{ProjectProposed}, To: ProjectUnitAgreed, By: flow.Provider},
		{Name: "village_agree", From: []string{ProjectUnitAgreed}, To: ProjectInProgress, By: flow.Beneficiary},
		{Name: "decline", From: []string{ProjectProposed, ProjectUnitAgreed}, To: ProjectDeclined, By: flow.Provider | flow.Beneficiary, Reason: true},
		{Name: "finish", From: []string{ProjectInProgress}, To: ProjectDone, By: flow.Provider},
		{Name: "rate", From: []string{ProjectDone}, To: ProjectRated, By: flow.Beneficiary, NotBy: flow.Provider, Rating: true}, // the village rates; staff who did the unit's side do not rate their own work
	},
	Keys: flow.Keys{Unknown: "alliance.project.action_invalid", NotNow: "alliance.project.not_now", ReasonRequired: "alliance.project.reason_required"},
})

// Project is a need matched to a unit's resource, and how far it has got.
type Project struct {
	ID         int64        `json:"id"`
	TownID     int64        `json:"town_id"`
	VillageID  int64        `json:"village_id"`
	Village    string       `json:"village"`
	UnitID     int64        `json:"unit_id"`
	Unit       string       `json:"unit"`
	NeedID     int64        `json:"need_id"`
	Need       string       `json:"need"`
	ResourceID int64        `json:"resource_id"`
	Resource   string       `json:"resource"`
	Kind       string       `json:"kind"`
	Title      string       `json:"title"`
	Note       string       `json:"note"`
	Status     string       `json:"status"`
	Rating     int          `json:"rating,omitzero"`
	Reason     string       `json:"reason,omitempty"`
	CreatedAt  time.Time    `json:"created_at"`
	UpdatedAt  time.Time    `json:"updated_at"`
	Milestones []Milestone  `json:"milestones,omitempty"`
	Events     []flow.Event `json:"events,omitempty"`
	// Actions are what the caller may do now: the flow's actions, and milestone while in progress.
	Actions []string `json:"actions"`
}

// Milestone is a step of the work on a project in progress, with its photos.
type Milestone struct {
	ID        int64     `json:"id"`
	Body      string    `json:"body"`
	ByName    string    `json:"by_name"`
	Photos    []int64   `json:"photos"`
	CreatedAt time.Time `json:"created_at"`
}

// ProjectInput matches a need to a resource. Title defaults to the need's first line.
type ProjectInput struct {
	NeedID     int64  `json:"need_id"`
	ResourceID int64  `json:"resource_id"`
	Title      string `json:"title"`
	Note       string `json:"note"`
}

// ProjectAction is a step on a project: unit_agree, village_agree, decline (reason), finish,
// rate (rating 1–5, reason as a comment), or milestone (body, photos from a form).
type ProjectAction struct {
	Action string   `json:"action"`
	Reason string   `json:"reason,omitempty"`
	Rating int      `json:"rating,omitzero"`
	Body   string   `json:"body,omitempty"`
	Photos [][]byte `json:"-"`
}

const projectCols = `p.id, p.town_id, p.village_id, v.name, p.unit_id, u.name, p.need_id, n.description, p.resource_id, r.description, r.kind,
	p.title, p.note, p.status, COALESCE(p.rating, 0), p.reason, p.created_at, p.updated_at`

const projectFrom = ` FROM alliance_projects p JOIN villages v ON v.id = p.village_id JOIN alliance_units u ON u.id = p.unit_id
	JOIN alliance_needs n ON n.id = p.need_id JOIN alliance_resources r ON r.id = p.resource_id `

func scanProject(sc interface{ Scan(...any) error }) (Project, error) {
	var p Project
	err := sc.Scan(&p.ID, &p.TownID, &p.VillageID, &p.Village, &p.UnitID, &p.Unit, &p.NeedID, &p.Need, &p.ResourceID, &p.Resource, &p.Kind,
		&p.Title, &p.Note, &p.Status, &p.Rating, &p.Reason, &p.CreatedAt, &p.UpdatedAt)
	p.Actions = []string{}
	return p, err
}

// project reads a project with no check of who asks.
func (s *Service) project(ctx context.Context, q db.Querier, id int64) (Project, error) {
	p, err := scanProject(q.QueryRowContext(ctx, `SELECT `+projectCols+projectFrom+`WHERE p.id = $1`, id))
	if db.IsNoRows(err) {
		return p, notFound
	}
	if err != nil {
		return p, fmt.Errorf("alliance: project %d: %w", id, err)
	}
	return p, nil
}

// projectParties is what the actor is to a project: the unit (its liaison, or the town's alliance
// staff), the village (its admins, or the town's staff), the town's staff as dispatcher. Zero is
// nobody, who may not see it.
func (s *Service) projectParties(ctx context.Context, q db.Querier, a *auth.Actor, p Project) (flow.Party, error) {
	var pt flow.Party
	if a == nil || a.AccountID == 0 {
		return 0, nil
	}
	if manages(a, p.TownID) {
		pt |= flow.Dispatcher | flow.Provider
	} else {
		mine, err := s.myUnit(ctx, q, a)
		if err != nil {
			return 0, err
		}
		if mine != 0 && mine == p.UnitID {
			pt |= flow.Provider
		}
	}
	if servesVillage(a, p.TownID, p.VillageID) {
		pt |= flow.Beneficiary
	}
	return pt, nil
}

// projectFor reads a project the actor may see, and what they are to it; another unit's or
// village's project answers NotFound, like a missing one.
func (s *Service) projectFor(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Project, flow.Party, error) {
	p, err := s.project(ctx, q, id)
	if err != nil {
		return p, 0, err
	}
	pt, err := s.projectParties(ctx, q, a, p)
	if err != nil {
		return p, 0, err
	}
	if pt == 0 {
		return Project{}, 0, notFound
	}
	return p, pt, nil
}

// projectActions are the actions the parties may take now.
func projectActions(p Project, pt flow.Party) []string {
	out := ProjectFlow.Allowed(p.Status, pt)
	if p.Status == ProjectInProgress && pt.Has(flow.Provider|flow.Beneficiary) {
		out = append(out, "milestone")
	}
	return out
}

// milestones are a project's milestones, oldest first, with their photos.
func (s *Service) milestones(ctx context.Context, q db.Querier, id int64) ([]Milestone, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, body, by_name, created_at FROM alliance_milestones WHERE project_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("alliance: milestones: %w", err)
	}
	out := []Milestone{}
	for rows.Next() {
		var m Milestone
		if err := rows.Scan(&m.ID, &m.Body, &m.ByName, &m.CreatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Photos, err = s.photoIDs(ctx, q, "milestone", out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Project returns a project to whoever takes part in it, with its milestones, timeline and the
// caller's actions.
func (s *Service) Project(ctx context.Context, a *auth.Actor, id int64) (Project, error) {
	q := s.DB.Read()
	p, pt, err := s.projectFor(ctx, q, a, id)
	if err != nil {
		return p, err
	}
	p.Actions = projectActions(p, pt)
	if p.Milestones, err = s.milestones(ctx, q, id); err != nil {
		return p, err
	}
	if p.Events, err = ProjectFlow.Timeline(ctx, q, id); err != nil {
		return p, err
	}
	return p, nil
}

// seesMilestonePhoto reports whether the actor may see a milestone's photo: whoever may see its
// project.
func (s *Service) seesMilestonePhoto(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (bool, error) {
	var pid int64
	err := q.QueryRowContext(ctx, `SELECT project_id FROM alliance_milestones WHERE id = $1`, id).Scan(&pid)
	if db.IsNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("alliance: milestone %d: %w", id, err)
	}
	_, _, err = s.projectFor(ctx, q, a, pid)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	return err == nil, err
}

// ProjectFilter narrows the projects list by state.
type ProjectFilter struct {
	Status string
}

// Projects lists the projects the actor takes part in, newest first: the town's for its alliance
// staff, a village admin's villages', a liaison's own unit's.
func (s *Service) Projects(ctx context.Context, a *auth.Actor, f ProjectFilter) ([]Project, error) {
	q := s.DB.Read()
	townID := townOf(a, 0)
	where, args := []string{"p.town_id = $1"}, []any{townID}
	if !manages(a, townID) {
		all, villages := villageScope(a, townID)
		mine, err := s.myUnit(ctx, q, a)
		if err != nil {
			return nil, err
		}
		var or []string
		if all {
			or = append(or, "TRUE")
		} else if len(villages) > 0 {
			or = append(or, "p.village_id IN ("+db.IDList(villages)+")")
		}
		if mine != 0 {
			or = append(or, fmt.Sprintf("p.unit_id = %d", mine))
		}
		if len(or) == 0 {
			return nil, auth.Refuse(a, PermVillage)
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	if slices.Contains(ProjectStatuses, f.Status) {
		args = append(args, f.Status)
		where = append(where, fmt.Sprintf("p.status = $%d", len(args)))
	}
	rows, err := q.QueryContext(ctx, `SELECT `+projectCols+projectFrom+`WHERE `+strings.Join(where, " AND ")+`
		ORDER BY CASE WHEN p.status IN ('rated', 'declined') THEN 1 ELSE 0 END, p.updated_at DESC, p.id DESC LIMIT `+fmt.Sprint(maxListRows), args...)
	if err != nil {
		return nil, fmt.Errorf("alliance: projects: %w", err)
	}
	defer rows.Close()
	out := []Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("alliance: projects: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ProjectRates are the flow kit's three rates of the projects opened in a period (响应率, 办结率,
// 满意率), for the town's alliance staff, or a liaison's own unit.
func (s *Service) ProjectRates(ctx context.Context, a *auth.Actor, from, to time.Time) (flow.Rates, error) {
	townID := townOf(a, 0)
	o := flow.Orders{SQL: `SELECT id, town_id FROM alliance_projects WHERE town_id = $1`, Args: []any{townID}}
	group := townID
	if !manages(a, townID) {
		mine, err := s.myUnit(ctx, s.DB.Read(), a)
		if err != nil {
			return flow.Rates{}, err
		}
		if mine == 0 {
			return flow.Rates{}, auth.Refuse(a, PermManage)
		}
		o = flow.Orders{SQL: `SELECT id, unit_id FROM alliance_projects WHERE unit_id = $1`, Args: []any{mine}}
		group = mine
	}
	m, err := ProjectFlow.Rates(ctx, s.DB.Read(), from, to, o)
	if err != nil {
		return flow.Rates{}, err
	}
	return m[group], nil
}

// CreateProject matches a need to a resource: the town's alliance staff for any, a unit's liaison
// for its own unit's resource (its proposal counts as the unit's agreement). The resource must be
// active, of an active unit, of the need's kind, reach the need's village and be offered before
// the need's by-day; a need is in one live project at a time. The unit's liaisons and the
// village's admins are told.
func (s *Service) CreateProject(ctx context.Context, a *auth.Actor, in ProjectInput) (Project, error) {
	in.Title, in.Note = strings.TrimSpace(in.Title), strings.TrimSpace(in.Note)
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		townID := townOf(a, 0)
		staff := manages(a, townID)
		mine, err := s.myUnit(ctx, tx, a)
		if err != nil {
			return err
		}
		if !staff && mine == 0 {
			return auth.Refuse(a, PermManage)
		}
		var f errs.Fields
		n, err := s.need(ctx, tx, in.NeedID)
		if errs.Is(err, errs.NotFound) || (err == nil && n.TownID != townID) {
			return &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "need_id", Key: "error.not_found"}}}
		} else if err != nil {
			return err
		}
		r, err := s.resource(ctx, tx, in.ResourceID)
		if errs.Is(err, errs.NotFound) || (err == nil && (r.TownID != townID || (!staff && r.UnitID != mine))) {
			return &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "resource_id", Key: "error.not_found"}}}
		} else if err != nil {
			return err
		}
		u, err := s.unit(ctx, tx, r.UnitID)
		if err != nil {
			return err
		}
		today, err := s.townToday(ctx, townID)
		if err != nil {
			return err
		}
		if in.Title == "" {
			in.Title = shortTitle(n.Description)
		}
		f.Text("title", in.Title, maxProjectTitle, true)
		f.Text("note", in.Note, maxProjectNote, false)
		switch {
		case n.Matched:
			f.Add("need_id", "alliance.project.need_matched")
		case n.By < today:
			f.Add("need_id", "alliance.project.need_past")
		}
		switch {
		case !r.Active || !u.Active:
			f.Add("resource_id", "alliance.project.resource_inactive")
		case !fits(r, n, today):
			f.Add("resource_id", "alliance.project.resource_unfit")
		}
		if err := f.Err(); err != nil {
			return err
		}
		now := s.Now()
		err = tx.QueryRowContext(ctx, `INSERT INTO alliance_projects (town_id, village_id, unit_id, need_id, resource_id, title, note, status, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'proposed', $8, $9, $9) RETURNING id`, townID, n.VillageID, r.UnitID, n.ID, r.ID, in.Title, in.Note, db.NullID(a.AccountID), now).Scan(&id)
		if db.IsUnique(err) {
			return &errs.Error{Code: errs.Conflict, Key: "alliance.project.need_matched", Fields: []errs.FieldError{{Field: "need_id", Key: "alliance.project.need_matched"}}}
		}
		if err != nil {
			return fmt.Errorf("alliance: project: %w", err)
		}
		if err := ProjectFlow.Open(ctx, tx, id, flow.Step{By: a, At: now,
			Audit: &auth.AuditEntry{TownID: townID, VillageID: n.VillageID, Summary: auth.Summarize(nil, map[string]any{"title": in.Title, "unit": u.Name})}}); err != nil {
			return err
		}
		o := notify.Outcome{Title: "alliance.project.told_proposed_title", Body: "alliance.project.told_proposed", Args: []any{in.Title, u.Name, n.Village},
			Link: fmt.Sprintf("/admin/alliance/projects/%d", id)}
		if !staff && mine == r.UnitID {
			// The unit proposed it: that is its agreement.
			if _, err := ProjectFlow.Move(ctx, tx, flow.Order{ID: id, State: ProjectProposed, Parties: flow.Provider}, flow.Step{Action: "unit_agree", By: a, At: now,
				Set: `updated_at = $1`, Args: []any{now}, Audit: &auth.AuditEntry{TownID: townID, VillageID: n.VillageID}}); err != nil {
				return err
			}
			o.Body = "alliance.project.told_unit_proposed"
			return s.tellVillage(ctx, tx, n.VillageID, o)
		}
		return s.tellBoth(ctx, tx, r.UnitID, n.VillageID, o)
	})
	if err != nil {
		return Project{}, err
	}
	return s.Project(ctx, a, id)
}

// shortTitle is the first line of a text, cut to a project's title.
func shortTitle(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	r := []rune(strings.TrimSpace(s))
	return string(r[:min(len(r), maxProjectTitle)])
}

// tellUnit tells a unit's liaisons that have a resident record (notify reaches residents only).
func (s *Service) tellUnit(ctx context.Context, tx *sql.Tx, unitID int64, o notify.Outcome) error {
	return s.Notify.TellEach(ctx, tx, `SELECT ac.resident_id FROM alliance_unit_accounts ua JOIN accounts ac ON ac.id = ua.account_id
		WHERE ua.unit_id = $1 AND ac.resident_id IS NOT NULL`, []any{unitID}, o)
}

// tellVillage tells a village's admins that have a resident record.
func (s *Service) tellVillage(ctx context.Context, tx *sql.Tx, villageID int64, o notify.Outcome) error {
	return s.Notify.TellEach(ctx, tx, `SELECT ac.resident_id FROM account_roles ar JOIN accounts ac ON ac.id = ar.account_id
		WHERE ar.role = $1 AND ar.village_id = $2 AND ac.resident_id IS NOT NULL`, []any{string(auth.VillageAdmin), villageID}, o)
}

// tellBoth tells the unit's liaisons and the village's admins.
func (s *Service) tellBoth(ctx context.Context, tx *sql.Tx, unitID, villageID int64, o notify.Outcome) error {
	if err := s.tellUnit(ctx, tx, unitID, o); err != nil {
		return err
	}
	return s.tellVillage(ctx, tx, villageID, o)
}

// projectTold are the title and body of what each action tells the other side.
var projectTold = map[string][2]string{
	"unit_agree":    {"alliance.project.told_unit_agree_title", "alliance.project.told_unit_agree"},
	"village_agree": {"alliance.project.told_village_agree_title", "alliance.project.told_village_agree"},
	"decline":       {"alliance.project.told_decline_title", "alliance.project.told_decline"},
	"finish":        {"alliance.project.told_finish_title", "alliance.project.told_finish"},
	"rate":          {"alliance.project.told_rate_title", "alliance.project.told_rate"},
}

// ActProject takes a step on a project: the flow's actions, or a milestone (up to four photos)
// while it is in progress. The other side is told of each step.
func (s *Service) ActProject(ctx context.Context, a *auth.Actor, id int64, in ProjectAction) (Project, error) {
	in.Action, in.Reason, in.Body = strings.TrimSpace(in.Action), strings.TrimSpace(in.Reason), strings.TrimSpace(in.Body)
	p, pt, err := s.projectFor(ctx, s.DB.Read(), a, id)
	if err != nil {
		return Project{}, err
	}
	if in.Action == "milestone" {
		return s.addMilestone(ctx, a, p, pt, in)
	}
	var f errs.Fields
	f.Text("reason", in.Reason, maxProjectReason, false)
	if err := f.Err(); err != nil {
		return Project{}, err
	}
	now := s.Now()
	link := fmt.Sprintf("/admin/alliance/projects/%d", id)
	st := flow.Step{Action: in.Action, By: a, Reason: in.Reason, Rating: in.Rating, At: now, Set: `updated_at = $1`, Args: []any{now},
		Audit: &auth.AuditEntry{TownID: p.TownID, VillageID: p.VillageID}}
	switch in.Action {
	case "decline":
		st.Set, st.Args = `reason = $1, updated_at = $2`, []any{in.Reason, now}
	case "rate":
		st.Set, st.Args = `rating = $1, updated_at = $2`, []any{in.Rating, now}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		act, err := ProjectFlow.Move(ctx, tx, flow.Order{ID: p.ID, State: p.Status, Parties: pt}, st)
		if err != nil {
			return err
		}
		told := projectTold[act.Name]
		o := notify.Outcome{Title: told[0], Body: told[1], Args: []any{p.Title, p.Unit, p.Village}, Link: link}
		switch act.Name {
		case "unit_agree", "finish":
			return s.tellVillage(ctx, tx, p.VillageID, o)
		case "village_agree", "rate":
			if act.Name == "rate" {
				o.Args = append(o.Args, in.Rating)
			}
			return s.tellUnit(ctx, tx, p.UnitID, o)
		default:
			o.Args = append(o.Args, in.Reason)
			return s.tellBoth(ctx, tx, p.UnitID, p.VillageID, o)
		}
	})
	if err != nil {
		return Project{}, err
	}
	return s.Project(ctx, a, id)
}

// addMilestone records a milestone of a project in progress, by its unit or village, and tells the
// other side.
func (s *Service) addMilestone(ctx context.Context, a *auth.Actor, p Project, pt flow.Party, in ProjectAction) (Project, error) {
	if !slices.Contains(projectActions(p, pt), "milestone") {
		if p.Status != ProjectInProgress {
			return Project{}, errs.New(errs.Conflict, ProjectFlow.Keys.NotNow)
		}
		return Project{}, errs.New(errs.Forbidden, "flow.not_your_part")
	}
	var f errs.Fields
	f.Text("body", in.Body, maxProjectNote, true)
	if len(in.Photos) > maxMilestonePhotos {
		f.Add("photos", "field.photos_too_many", maxMilestonePhotos)
	}
	if err := f.Err(); err != nil {
		return Project{}, err
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.Now()
		res, err := tx.ExecContext(ctx, `UPDATE alliance_projects SET updated_at = $1 WHERE id = $2 AND status = $3`, now, p.ID, ProjectInProgress)
		if err != nil {
			return fmt.Errorf("alliance: milestone: %w", err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return errs.New(errs.Conflict, ProjectFlow.Keys.NotNow)
		}
		var mid int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO alliance_milestones (project_id, body, by_name, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			p.ID, in.Body, a.Name, now).Scan(&mid); err != nil {
			return fmt.Errorf("alliance: milestone: %w", err)
		}
		if err := s.savePhotos(ctx, tx, "milestone", mid, in.Photos); err != nil {
			return err
		}
		if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.project.milestone", Entity: "alliance_project", EntityID: p.ID, TownID: p.TownID, VillageID: p.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"title": p.Title, "body": in.Body})}); err != nil {
			return err
		}
		return s.tellBoth(ctx, tx, p.UnitID, p.VillageID, notify.Outcome{Title: "alliance.project.told_milestone_title", Body: "alliance.project.told_milestone",
			Args: []any{p.Title, in.Body}, Link: fmt.Sprintf("/admin/alliance/projects/%d", p.ID)})
	})
	if err != nil {
		return Project{}, err
	}
	return s.Project(ctx, a, p.ID)
}

// ListsTodos counts the projects waiting for the actor: for a unit's liaison, those proposed to
// its unit and those it is carrying out; for a village's admins (and the town's staff, over the
// town), those the unit agreed to and those done and waiting for the village's rating. Staff
// logins without a resident record are told of nothing (notify reaches residents), so this is
// where they find their turn. The pillar's Todos calls it.
func (s *Service) ListsTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil || a.TownID == 0 {
		return nil, nil
	}
	q := s.DB.Read()
	var out []web.Todo
	mine, err := s.myUnit(ctx, q, a)
	if err != nil {
		return nil, err
	}
	if mine != 0 {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_projects WHERE unit_id = $1 AND status IN ('proposed', 'in_progress')`, mine).Scan(&n); err != nil {
			return nil, fmt.Errorf("alliance: project todos: %w", err)
		}
		if n > 0 {
			out = append(out, web.Todo{Key: "alliance.project.todo_unit", Count: n, Path: "/admin/alliance/projects"})
		}
	}
	// The village side's turn is a village's staff's to-do; the town's staff, who may act for a
	// village, see those in the lists and figures rather than as their own work.
	if all, villages := villageScope(a, a.TownID); !all && len(villages) > 0 {
		where := `town_id = $1 AND village_id IN (` + db.IDList(villages) + `)`
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_projects WHERE `+where+` AND status IN ('unit_agreed', 'done')`, a.TownID).Scan(&n); err != nil {
			return nil, fmt.Errorf("alliance: project todos: %w", err)
		}
		if n > 0 {
			out = append(out, web.Todo{Key: "alliance.project.todo_village", Count: n, Path: "/admin/alliance/projects"})
		}
	}
	return out, nil
}
