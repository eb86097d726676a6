package report

import (
	"embed"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serves the dashboard, the monthly report and the figures' API.
type Handlers struct {
	S   *Service
	App *web.App
}

// Register adds the pages and the API.
func (h *Handlers) Register() {
	h.App.Templates(templates, "templates/*.html")
	h.App.Handle(web.Route{Method: "GET", Path: "/admin/report", Access: web.Staff,
		Summary: "the 驾驶舱: a scope's figures (scope=village|town|district, id, period=2026-11|2026-Q4|2026|todate), screen=1 for the big screen"}, h.page)
	h.App.Handle(web.Route{Method: "GET", Path: "/admin/report/monthly", Access: web.Staff,
		Summary: "the town's monthly report as a print page (A4): period=2026-11, town_id for a district admin"}, h.monthly)
	h.App.Handle(web.Route{Method: "GET", Path: "/admin/report/monthly.xlsx", Access: web.Staff,
		Summary: "the town's monthly report as a workbook: headline figures, a sheet per pillar by village, the notable items"}, h.monthlyXLSX)
	h.App.Handle(web.Route{Method: "GET", Path: "/api/v1/report/figures", API: true, Access: web.LoggedIn,
		Summary:  "a scope's figures over a period, each with its key, name, value and previous value: scope=village|town|district, id, period=2026-11|2026-Q4|2026|todate",
		Response: Document{}}, h.apiFigures)
}

// scopeOf reads scope and id from the address; none is the actor's home scope.
func scopeOf(r *http.Request, a *auth.Actor) (Scope, error) {
	q := r.URL.Query()
	level := strings.TrimSpace(q.Get("scope"))
	if level == "" {
		return Home(a), nil
	}
	sc := Scope{Level: level}
	if v := strings.TrimSpace(q.Get("id")); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return Scope{}, errs.Field("id", "report.scope_invalid")
		}
		sc.ID = id
	}
	if level != District && sc.ID == 0 {
		return Scope{}, errs.Field("id", "field.required")
	}
	return sc, nil
}

func (h *Handlers) apiFigures(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	sc, err := scopeOf(r, a)
	if err != nil {
		h.App.Reply(w, r, http.StatusOK, nil, err)
		return
	}
	doc, err := h.S.Figures(r.Context(), a, sc, r.URL.Query().Get("period"), false)
	if err == nil {
		h.name(&doc, web.Lang(r))
	}
	h.App.Reply(w, r, http.StatusOK, doc, err)
}

// name gives each figure its name and what it counts in lang.
func (h *Handlers) name(doc *Document, lang string) {
	for i := range doc.Figures {
		doc.Figures[i].Name = h.App.Catalog.T(lang, "report.fig."+doc.Figures[i].Key)
		doc.Figures[i].What = h.App.Catalog.T(lang, "report.what."+doc.Figures[i].Key)
	}
}

// option is a scope the picker offers.
type option struct {
	Level, Name string
	ID          int64
	On          bool
}

// options are the scopes the actor may open: the district, its towns, a town's villages.
func (h *Handlers) options(r *http.Request, a *auth.Actor, doc Document) []option {
	var out []option
	ctx := r.Context()
	if district(a) {
		out = append(out, option{Level: District, Name: h.App.Catalog.T(web.Lang(r), "report.district")})
		if rows, err := h.S.q().QueryContext(ctx, `SELECT id, name FROM towns ORDER BY code, id`); err == nil {
			for rows.Next() {
				var o option
				if rows.Scan(&o.ID, &o.Name) == nil {
					o.Level = Town
					out = append(out, o)
				}
			}
			rows.Close()
		}
	} else if doc.TownID != 0 {
		if all, _ := auth.Visible(a, PermView, doc.TownID); all {
			if t, err := h.S.People.Town(ctx, doc.TownID); err == nil {
				out = append(out, option{Level: Town, ID: t.ID, Name: t.Name})
			}
		}
	}
	if doc.TownID != 0 {
		all, villages := auth.Visible(a, PermView, doc.TownID)
		if rows, err := h.S.q().QueryContext(ctx, `SELECT id, name FROM villages WHERE town_id = $1 AND active ORDER BY code, id`, doc.TownID); err == nil {
			for rows.Next() {
				var o option
				if rows.Scan(&o.ID, &o.Name) == nil && (all || contains(villages, o.ID)) {
					o.Level = Village
					out = append(out, o)
				}
			}
			rows.Close()
		}
	}
	for i := range out {
		out[i].On = out[i].Level == doc.Scope.Level && out[i].ID == doc.Scope.ID
	}
	return out
}

func contains(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// view is the dashboard page.
type view struct {
	Doc      Document
	Options  []option
	Screen   bool
	Headline []Value
	Sections []section
	Compare  string // the figure the villages or towns are compared on
	Keys     []string
	PerHead  bool   // the district: figures per 1,000 residents beside the totals
	At       string // when the figures were computed, in the scope's time zone
	actor    *auth.Actor
}

// section is a pillar's figures.
type section struct {
	Pillar string
	Values []Value
}

// Sections are the pillars' order on the pages, after the headline figures.
var Sections = []string{"people", "bank", "volunteer", "school", "consult", "alliance", "honours"}

func (h *Handlers) page(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	sc, err := scopeOf(r, a)
	if err == nil && sc.Level == "" {
		err = auth.Refuse(a, PermView)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	doc, err := h.S.Figures(r.Context(), a, sc, r.URL.Query().Get("period"), true)
	if errs.Is(err, errs.Invalid) {
		// A wrong period is named, and this year is shown meanwhile.
		var again error
		if doc, again = h.S.Figures(r.Context(), a, sc, "", true); again != nil {
			h.App.Error(w, r, again)
			return
		}
	} else if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.name(&doc, web.Lang(r))
	v := view{Doc: doc, actor: a, Screen: r.URL.Query().Get("screen") == "1", PerHead: sc.Level == District, Compare: "bank.issued"}
	v.At = doc.At.In(doc.Period.End.Location()).Format("2006-01-02 15:04")
	v.Options = h.options(r, a, doc)
	bySection := map[string][]Value{}
	for _, f := range doc.Figures {
		if f.Headline {
			v.Headline = append(v.Headline, f)
		} else {
			bySection[f.Pillar] = append(bySection[f.Pillar], f)
		}
	}
	for _, p := range Sections {
		if len(bySection[p]) > 0 {
			v.Sections = append(v.Sections, section{Pillar: p, Values: bySection[p]})
		}
	}
	if c := r.URL.Query().Get("compare"); c != "" {
		if _, ok := doc.Figure(c); ok {
			v.Compare = c
		}
	}
	if _, ok := doc.Figure(v.Compare); !ok && len(doc.Figures) > 0 {
		v.Compare = doc.Figures[0].Key
	}
	for _, f := range doc.Figures {
		v.Keys = append(v.Keys, f.Key)
	}
	pg := h.App.NewPage(r, "report.title", v)
	pg.Form = r.URL.Query()
	pg.Form.Set("period", doc.Period.Spec)
	name := "admin_report.html"
	if v.Screen {
		name = "admin_report_screen.html"
	}
	h.App.RenderPage(w, r, name, pg, err)
}

// Format writes a figure's value in its unit: 18,754; 63.2%; 1,204.5.
func (view) Format(unit string, v float64) string { return format(unit, v) }

func format(unit string, v float64) string {
	switch unit {
	case Percent:
		return strconv.FormatFloat(v, 'f', 1, 64) + "%"
	case Hours, Score:
		return thousands(v, 1)
	}
	return thousands(v, 0)
}

// thousands writes v with thousands separators and prec decimals.
func thousands(v float64, prec int) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', prec, 64)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if v < 0 {
		out = "-" + out
	}
	return out
}

// Change writes the change from the previous period: +12.5% for counts, +3.1 个百分点 (pp) for
// rates, and nothing when there was none before.
func (view) Change(f Value) string {
	d := f.Value - f.Previous
	if f.Unit == Percent || f.Unit == Score {
		return signed(d, 1)
	}
	if f.Previous == 0 {
		if f.Value == 0 {
			return "0"
		}
		return ""
	}
	return signed(d/f.Previous*100, 1) + "%"
}

func signed(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if v > 0 {
		return "+" + s
	}
	return s
}

// Rate writes a ratio as a percentage, or a dash when nothing was counted.
func (view) Rate(r float64, of int) string {
	if of == 0 {
		return "—"
	}
	return strconv.FormatFloat(r*100, 'f', 1, 64) + "%"
}

// ShareValue is active of residents in percent, for the chart.
func (view) ShareValue(b Band) float64 {
	if b.Residents == 0 {
		return 0
	}
	return round(float64(b.Active) / float64(b.Residents) * 100)
}

// TrendKeys are the figures the trend draws, those the scope has.
func (v view) TrendKeys() []string {
	var out []string
	for _, k := range TrendKeys {
		if len(v.Doc.Trend) > 0 {
			if _, ok := v.Doc.Trend[0].Value[k]; ok {
				out = append(out, k)
			}
		}
	}
	return out
}

// PerHead writes a group's figure per 1,000 residents.
func (view) PerThousand(g Group, key string) string {
	if g.Residents == 0 {
		return "—"
	}
	return strconv.FormatFloat(g.Values[key]/g.Residents*1000, 'f', 1, 64)
}

// Share writes active of residents as a percentage.
func (view) Share(b Band) string {
	if b.Residents == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", float64(b.Active)/float64(b.Residents)*100)
}

// Link is the list behind a figure, which shows the viewer's own scope, or nothing when the
// viewer may not open it.
func (v view) Link(f Value) string {
	if f.See != "" {
		if all, villages := auth.Visible(v.actor, f.See, 0); !all && len(villages) == 0 {
			return ""
		}
	}
	return f.Path
}

// OverdueLink is the list of an overdue count, or nothing when the viewer may not open it.
func (v view) OverdueLink(o Overdue) string {
	return v.Link(Value{Def: &Def{Path: o.Path, See: o.See}})
}
