package consult

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"siwei/internal/auth"
	"siwei/internal/period"
	"siwei/internal/web"
)

// Figures are 微协商's figures of a town over a period (the "figures per period"): the
// meetings held, the topics raised, accepted and decided, the referrals by state and each
// department's three rates, and the care team's visits, coverage of the tagged people, overdue
// visits and needs found at the door. This is the article's "20余项民生问题得到回应", counted.
type Figures struct {
	TownID         int64          `json:"town_id"`
	Period         period.Period  `json:"period"`
	MeetingsHeld   int            `json:"meetings_held"`
	TopicsRaised   int            `json:"topics_raised"`
	TopicsAccepted int            `json:"topics_accepted"`
	TopicsDecided  int            `json:"topics_decided"`
	Referrals      map[string]int `json:"referrals"` // opened in the period, by state now
	Answered       int            `json:"answered"`  // of those, done or rated
	Departments    []DeptRates    `json:"departments"`
	Care           CareFigures    `json:"care"`
}

// PeriodFigures counts a town's figures over a period, for those who manage the town.
func (s *Service) PeriodFigures(ctx context.Context, a *auth.Actor, townID int64, p period.Period) (Figures, error) {
	if townID == 0 && a != nil {
		townID = a.TownID
	}
	f := Figures{TownID: townID, Period: p, Referrals: map[string]int{}}
	if !manages(a, townID) {
		return f, auth.Refuse(a, PermManage)
	}
	q := s.DB.Read()
	from, to := p.Start(), p.End()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_meetings WHERE town_id = $1 AND status = 'closed' AND starts_at >= $2 AND starts_at < $3`,
		townID, from, to).Scan(&f.MeetingsHeld); err != nil {
		return f, fmt.Errorf("consult: figures: %w", err)
	}
	// A topic counts as accepted once it went onto an agenda, whether it has been decided since.
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status IN ('accepted', 'decided') THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'decided' THEN 1 ELSE 0 END), 0) FROM consult_topics WHERE town_id = $1 AND created_at >= $2 AND created_at < $3`,
		townID, from, to).Scan(&f.TopicsRaised, &f.TopicsAccepted, &f.TopicsDecided); err != nil {
		return f, fmt.Errorf("consult: figures: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT status, COUNT(*) FROM consult_referrals WHERE town_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY status`, townID, from, to)
	if err != nil {
		return f, fmt.Errorf("consult: figures: %w", err)
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return f, err
		}
		f.Referrals[st] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, err
	}
	f.Answered = f.Referrals[ReferralDone] + f.Referrals[ReferralRated]
	if f.Departments, err = s.DepartmentRates(ctx, a, townID, from, to); err != nil {
		return f, err
	}
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return f, err
	}
	// The care figures count days: the period's first day to its last.
	f.Care, err = s.CareFigures(ctx, a, townID, from.In(loc).Format(time.DateOnly), to.In(loc).AddDate(0, 0, -1).Format(time.DateOnly))
	return f, err
}

// OverviewFigures are 微协商's headline numbers on the staff overview of a town, this year so far:
// the meetings held and the referrals departments have answered.
func (s *Service) OverviewFigures(ctx context.Context, a *auth.Actor, townID int64) ([]web.Figure, error) {
	if !manages(a, townID) {
		return nil, nil
	}
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return nil, err
	}
	p, err := period.Parse("", "", s.Now(), loc)
	if err != nil {
		return nil, err
	}
	f, err := s.PeriodFigures(ctx, a, townID, p)
	if err != nil {
		return nil, err
	}
	return []web.Figure{
		{Key: "consult.figure.meetings", Value: int64(f.MeetingsHeld), Path: "/admin/consult/figures"},
		{Key: "consult.figure.answered", Value: int64(f.Answered), Path: "/admin/consult/figures"},
	}, nil
}

// ---- the figures page and API

// registerFigures adds the town's figures page and its API.
func (h *Handlers) registerFigures() {
	h.App.Handle(web.Route{Method: "GET", Path: "/admin/consult/figures", Access: web.Staff, Summary: "微协商's figures of the town over a period of months (from, to: 2026-01)"}, h.figuresPage)
	h.App.Handle(web.Route{Method: "GET", Path: "/api/v1/consult/figures", Access: web.LoggedIn,
		Summary: "微协商's figures of a town over a period of months (town_id, from, to: 2026-01; this year when absent): the town's admins", Response: Figures{}}, h.apiFigures)
}

// figuresPeriod reads the period the address asks for, in the town's zone.
func (h *Handlers) figuresPeriod(r *http.Request, townID int64) (period.Period, error) {
	loc, err := h.S.People.Zone(r.Context(), townID)
	if err != nil {
		return period.Period{}, err
	}
	q := r.URL.Query()
	return period.Parse(q.Get("from"), q.Get("to"), h.S.Now(), loc)
}

func (h *Handlers) figuresPage(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if !manages(a, a.TownID) {
		h.App.Error(w, r, auth.Refuse(a, PermManage))
		return
	}
	p, perr := h.figuresPeriod(r, a.TownID)
	if perr != nil {
		// A wrong month is named on the form, and the year so far is shown meanwhile.
		loc, err := h.S.People.Zone(r.Context(), a.TownID)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		p, _ = period.Parse("", "", h.S.Now(), loc)
	}
	f, err := h.S.PeriodFigures(r.Context(), a, a.TownID, p)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	pg := h.App.NewPage(r, "consult.figures.title", figuresView{Figures: f, Statuses: ReferralStatuses})
	pg.Form = r.URL.Query()
	if perr == nil {
		pg.Form.Set("from", p.From)
		pg.Form.Set("to", p.To)
	}
	h.App.RenderPage(w, r, "admin_consult_figures.html", pg, perr)
}

// figuresView is the figures page: the figures, and the referral states in the board's order.
type figuresView struct {
	Figures
	Statuses []string
}

// Percent writes a rate as a whole percentage, or a dash when nothing was counted.
func (figuresView) Percent(r float64, of int) string {
	if of == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", r*100)
}

func (h *Handlers) apiFigures(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	townID := web.QueryInt(r, "town_id")
	if townID == 0 {
		townID = a.TownID
	}
	if !manages(a, townID) {
		h.App.Reply(w, r, http.StatusOK, nil, auth.Refuse(a, PermManage))
		return
	}
	p, err := h.figuresPeriod(r, townID)
	if err != nil {
		h.App.Reply(w, r, http.StatusOK, nil, err)
		return
	}
	f, err := h.S.PeriodFigures(r.Context(), a, townID, p)
	h.App.Reply(w, r, http.StatusOK, f, err)
}
