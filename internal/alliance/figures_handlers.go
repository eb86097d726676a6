package alliance

import (
	"fmt"
	"net/http"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/period"
	"siwei/internal/web"
)

// ---- the figures page and API

// registerFigures adds 微联盟's figures page and its API.
func (h *Handlers) registerFigures() {
	h.App.Handle(web.Route{Method: "GET", Path: "/admin/alliance/figures", Access: web.Staff,
		Summary: "微联盟's figures over a period (period: 2026, 2026-11 or 2026-Q4; or from, to: 2026-01): the town's for its alliance staff, a unit's for its liaison"}, h.figuresPage)
	h.App.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/figures", Access: web.LoggedIn,
		Summary:  "微联盟's figures over a period (town_id; period: 2026, 2026-11 or 2026-Q4; or from, to: 2026-01; this year when absent): units, resources and needs matched, projects by state and their rates, activities and person-times, donations, the dispute centre's counts",
		Response: Figures{}}, h.apiFigures)
}

// figuresPeriod reads the period the address asks for, in the town's zone: period (a year, a
// month or a quarter) if given, else from and to; this year so far when none is.
func (h *Handlers) figuresPeriod(r *http.Request, townID int64) (period.Period, error) {
	loc, err := h.S.People.Zone(r.Context(), townID)
	if err != nil {
		return period.Period{}, err
	}
	q := r.URL.Query()
	if spec := strings.TrimSpace(q.Get("period")); spec != "" {
		from, to, err := periodSpec(spec)
		if err != nil {
			return period.Period{}, err
		}
		p, err := period.Parse(from, to, h.S.Now(), loc)
		if err != nil {
			return period.Period{}, errs.Field("period", "alliance.figures.period_invalid")
		}
		return p, nil
	}
	return period.Parse(q.Get("from"), q.Get("to"), h.S.Now(), loc)
}

func (h *Handlers) figuresPage(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if _, _, err := h.S.figuresScope(r.Context(), a, a.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p, perr := h.figuresPeriod(r, a.TownID)
	if perr != nil {
		if !errs.Is(perr, errs.Invalid) {
			h.App.Error(w, r, perr)
			return
		}
		// A wrong period is named on the form, and the year so far is shown meanwhile.
		loc, err := h.S.People.Zone(r.Context(), a.TownID)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		p, _ = period.Parse("", "", h.S.Now(), loc)
	}
	f, err := h.S.Figures(r.Context(), a, a.TownID, p)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	pg := h.App.NewPage(r, "alliance.figures.title", figuresView{Figures: f, ProjectStates: ProjectStatuses, CaseStates: CaseStatuses})
	pg.Form = r.URL.Query()
	if perr == nil && strings.TrimSpace(pg.Form.Get("period")) == "" {
		pg.Form.Set("period", periodWord(p))
	}
	h.App.RenderPage(w, r, "alliance_figures.html", pg, perr)
}

// periodWord writes a period as the form's one word where it is a year, a quarter or a month, and
// as from–to otherwise.
func periodWord(p period.Period) string {
	y := p.From[:4]
	switch {
	case p.From == p.To:
		return p.From
	case p.To[:4] == y && p.From[5:] == "01" && p.To[5:] == "12":
		return y
	}
	for n := 1; n <= 4; n++ {
		if p.From == fmt.Sprintf("%s-%02d", y, 3*n-2) && p.To == fmt.Sprintf("%s-%02d", y, 3*n) {
			return fmt.Sprintf("%s-Q%d", y, n)
		}
	}
	return ""
}

// figuresView is the figures page: the figures, and the states in the lists' order.
type figuresView struct {
	Figures
	ProjectStates []string
	CaseStates    []string
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
	townID := townOf(a, web.QueryInt(r, "town_id"))
	if _, _, err := h.S.figuresScope(r.Context(), a, townID); err != nil {
		h.App.Reply(w, r, http.StatusOK, nil, err)
		return
	}
	p, err := h.figuresPeriod(r, townID)
	if err != nil {
		h.App.Reply(w, r, http.StatusOK, nil, err)
		return
	}
	f, err := h.S.Figures(r.Context(), a, townID, p)
	h.App.Reply(w, r, http.StatusOK, f, err)
}
