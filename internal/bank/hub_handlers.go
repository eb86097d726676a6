package bank

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"siwei/internal/clock"
	"siwei/internal/errs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"siwei/internal/auth"
	"siwei/internal/people"
	"siwei/internal/web"
)

// hubLink is an entry of the bank's hub.
type hubLink struct{ Path, Key string }

// hubLater are hub entries for pages built elsewhere in the bank; each shows once its route exists.
var hubLater = []hubLink{{"/bank/card", "bank.nav.card"}, {"/bank/claims", "bank.nav.claims"}, {"/bank/notices", "bank.nav.notices"}}

// hubView is the bank's resident home: the card and balance, and where to go from there.
type hubView struct {
	R       people.Resident
	Class   people.MemberClass
	Balance Balance
	More    []hubLink
}

func (h *Handlers) hub(w http.ResponseWriter, r *http.Request) {
	res, town, b, ok := h.myAccount(w, r)
	if !ok {
		return
	}
	v := hubView{R: res, Class: res.Class(town.Clock(h.S.Now).Today()), Balance: b}
	for _, l := range hubLater {
		if slices.ContainsFunc(h.App.Routes(), func(rt web.Route) bool { return rt.Method == "GET" && rt.Path == l.Path }) {
			v.More = append(v.More, l)
		}
	}
	h.App.RenderForm(w, r, "bank.html", "bank.title", v, nil, nil)
}

// statementView is a page of the 善行簿: oldest line first in the passbook's table (as printed),
// newest first in the list a phone shows.
type statementView struct {
	R       people.Resident
	Town    people.Town
	Balance Balance
	Lines   []Line
	Newest  []Line
	Period  string
	Months  []string
	Older   int64 // the entry number to ask for older lines with, 0 when there are none
	Printed time.Time
}

// lines reads the statement lines a request asks for, newest first: a month (?period=2026-11) or
// everything, a page of limit lines before the entry number before (0: the newest).
func (h *Handlers) lines(r *http.Request, residentID int64, loc *time.Location, before int64, limit int) ([]Line, error) {
	f := StatementFilter{Before: before, Limit: limit}
	if p := r.URL.Query().Get("period"); p != "" {
		var ok bool
		if f.From, f.To, ok = clock.ParseMonth(p, loc); !ok {
			return nil, errs.Field("period", "bank.period_invalid")
		}
	}
	return h.S.Statement(r.Context(), auth.From(r.Context()), residentID, f)
}

// months lists the twelve months up to today's, newest first.
func lastMonths(today time.Time) []string {
	out := make([]string, 12)
	first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = first.AddDate(0, -i, 0).Format(clock.MonthLayout)
	}
	return out
}

func (h *Handlers) statement(w http.ResponseWriter, r *http.Request) {
	res, town, b, ok := h.myAccount(w, r)
	if !ok {
		return
	}
	const page = 100
	lines, err := h.lines(r, res.ID, town.Location(), web.QueryInt(r, "before"), page)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := statementView{R: res, Town: town, Balance: b, Period: r.URL.Query().Get("period"), Months: lastMonths(town.Clock(h.S.Now).Today()), Printed: h.S.Now()}
	if len(lines) == page {
		v.Older = lines[len(lines)-1].Seq
	}
	v.Newest = lines
	v.Lines = slices.Clone(lines)
	slices.Reverse(v.Lines)
	h.App.RenderForm(w, r, "bank_statement.html", "bank.statement.title", v, nil, nil)
}

// maxExportLines bounds one statement download.
const maxExportLines = 100_000

func (h *Handlers) statementXLSX(w http.ResponseWriter, r *http.Request) {
	res, town, ok := h.me(w, r)
	if !ok {
		return
	}
	var all []Line
	for before := int64(0); ; {
		lines, err := h.lines(r, res.ID, town.Location(), before, 500)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		all = append(all, lines...)
		if len(lines) < 500 || len(all) >= maxExportLines {
			break
		}
		before = lines[len(lines)-1].Seq
	}
	slices.Reverse(all)
	p := h.App.NewPage(r, "bank.statement.title", nil)
	var buf bytes.Buffer
	if err := writeStatement(&buf, p, res, town.Location(), all); err != nil {
		h.App.Error(w, r, err)
		return
	}
	name := p.Title + "-" + res.Name
	if period := r.URL.Query().Get("period"); period != "" {
		name += "-" + period
	}
	w.Header().Set("Content-Type", xlsxType)
	w.Header().Set("Content-Disposition", `attachment; filename="statement.xlsx"; filename*=UTF-8''`+strings.ReplaceAll(url.PathEscape(name+".xlsx"), "'", "%27"))
	buf.WriteTo(w)
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// writeStatement writes a statement as a one-sheet workbook: who it is for, then a header row and
// one row per line, oldest first, amounts as numbers so that they can be summed.
func writeStatement(w io.Writer, p *web.Page, res people.Resident, loc *time.Location, lines []Line) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	widths := []float64{18, 10, 20, 30, 12, 8, 8, 10, 18}
	for i, wd := range widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return err
		}
	}
	rows := [][]any{
		{p.Title, res.Name, res.VillageName, res.HouseholdNumber},
		{p.T("bank.col.date"), p.T("bank.col.kind"), p.T("bank.col.rule"), p.T("bank.col.reason"), p.T("bank.col.approved_by"),
			p.T("bank.col.in"), p.T("bank.col.out"), p.T("bank.col.balance"), p.T("bank.col.hash")},
	}
	for _, l := range lines {
		var in, out any
		if l.Amount > 0 {
			in = l.Amount
		} else {
			out = -l.Amount
		}
		rule := l.RuleName
		if rule == "" {
			rule = l.RuleCode
		}
		rows = append(rows, []any{clock.Minute(l.At, loc), p.T("bank.kind." + l.Kind), rule, l.Reason, l.ApprovedBy, in, out, l.Balance, l.Hash[:min(12, len(l.Hash))]})
	}
	for i, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return err
		}
		for j, v := range row {
			if s, ok := v.(string); ok {
				row[j] = people.SafeCell(s) // a reason or a name may be typed as a formula
			}
		}
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	if err := f.SetSheetName(sheet, sheetName(p.Title)); err != nil {
		return err
	}
	return f.Write(w)
}

// sheetName makes a title usable as a sheet name: at most 31 characters, none of : \ / ? * [ ].
func sheetName(s string) string {
	r := []rune(s)
	out := r[:0]
	for _, c := range r {
		if !slices.Contains([]rune(`:\/?*[]`), c) {
			out = append(out, c)
		}
	}
	if len(out) > 31 {
		out = out[:31]
	}
	if len(out) == 0 {
		return "Sheet1"
	}
	return string(out)
}

// rulesView is a class's rules.
type rulesView struct {
	R     people.Resident
	Class people.MemberClass
	Rules []Rule
}

func (h *Handlers) rules(w http.ResponseWriter, r *http.Request) {
	res, _, ok := h.me(w, r)
	if !ok {
		return
	}
	_, class, rules, err := h.rulesFor(r.Context(), auth.From(r.Context()), res.ID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "bank_rules.html", "bank.rules.title", rulesView{R: res, Class: class, Rules: rules}, nil, nil)
}

// rankingsView is a ranking board with its tabs and period choices and, for a resident, where
// they and their household stand, on the board's list or below it.
type rankingsView struct {
	By, Range, Period string
	Items             []Ranked
	AsOf              time.Time // when the board's sums were read
	Me                *people.Resident
	Standing          Standing
}

// Mine reports whether a place on the board is the resident's own: themself, their household or
// their village, as the board ranks.
func (v rankingsView) Mine(x Ranked) bool {
	if v.Me == nil {
		return false
	}
	switch v.By {
	case "household":
		return x.ID == v.Me.HouseholdID
	case "village":
		return x.ID == v.Me.VillageID
	}
	return x.ID == v.Me.ID
}

// rangePeriod is the period of the town's today that a range names: this month, quarter or year.
func rangePeriod(rng string, today time.Time) string {
	switch rng {
	case "quarter":
		return strconv.Itoa(today.Year()) + "-Q" + strconv.Itoa((int(today.Month())-1)/3+1)
	case "year":
		return strconv.Itoa(today.Year())
	}
	return today.Format(clock.MonthLayout)
}

func (h *Handlers) rankings(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	q := r.URL.Query()
	v := rankingsView{By: q.Get("by"), Range: q.Get("range"), Period: q.Get("period")}
	if v.By == "" {
		v.By = "resident"
	}
	if v.Range != "quarter" && v.Range != "year" {
		v.Range = "month"
	}
	if v.Period == "" {
		town, err := h.town(r.Context(), a.TownID)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		v.Period = rangePeriod(v.Range, town.Clock(h.S.Now).Today())
	}
	var err error
	if v.Items, v.AsOf, err = h.S.Board(r.Context(), a.TownID, v.By, v.Period, 50); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if self := a.Self(); self != 0 {
		res, err := h.S.People.Resident(r.Context(), a, self)
		if err == nil {
			v.Me = &res
			v.Standing, err = h.S.Standing(r.Context(), a, self, v.Period)
		}
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	h.App.RenderForm(w, r, "bank_rankings.html", "bank.rankings.title", v, nil, nil)
}
