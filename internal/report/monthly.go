package report

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/xuri/excelize/v2"

	"siwei/internal/auth"
	"siwei/internal/consult"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/people"
	"siwei/internal/web"
)

// Monthly is what a town sends up each month (月报): its figures of the month by village, and the
// notable items: the 流动红旗's holders, the new names on the 名录墙, and the referrals overdue now.
type Monthly struct {
	Doc     Document    `json:"figures"`
	Flag    []string    `json:"flag"`    // the villages that hold the month's flag
	Wall    []WallName  `json:"wall"`    // the names put on the wall in the month
	Overdue []LateOrder `json:"overdue"` // 微协商's referrals past their deadline now
}

// WallName is a name put on the 名录墙.
type WallName struct {
	Name     string `json:"name"`
	Village  string `json:"village"`
	Category string `json:"category"`
}

// LateOrder is a referral past its deadline.
type LateOrder struct {
	Title   string    `json:"title"`
	Village string    `json:"village"`
	State   string    `json:"state"`
	Due     time.Time `json:"due"`
}

// Monthly is a town's report for month (YYYY-MM; empty is last month).
func (s *Service) Monthly(ctx context.Context, a *auth.Actor, townID int64, month string) (Monthly, error) {
	sc := Scope{Level: Town, ID: townID}
	if _, _, loc, err := s.Resolve(ctx, a, sc); err != nil {
		return Monthly{}, err
	} else if month == "" {
		month = s.Now().In(loc).AddDate(0, -1, 0).Format("2006-01")
	}
	if len(month) != 7 {
		return Monthly{}, errs.Field("period", "report.monthly_month")
	}
	doc, err := s.Figures(ctx, a, sc, month, false)
	if err != nil {
		return Monthly{}, err
	}
	m := Monthly{Doc: doc, Flag: []string{}, Wall: []WallName{}, Overdue: []LateOrder{}}
	q := s.q()
	if err := rowsOf(ctx, q, `SELECT v.name FROM honours_flags f JOIN honours_flag_rows x ON x.flag_id = f.id JOIN villages v ON v.id = x.village_id
		WHERE f.town_id = $1 AND f.month = $2 AND x.rank = 1 ORDER BY v.code`, []any{townID, month}, func(scan func(...any) error) error {
		var n string
		err := scan(&n)
		m.Flag = append(m.Flag, n)
		return err
	}); err != nil {
		return m, err
	}
	if err := rowsOf(ctx, q, `SELECT w.name, v.name, c.name FROM honours_wall w JOIN villages v ON v.id = w.village_id JOIN honours_categories c ON c.id = w.category_id
		WHERE w.town_id = $1 AND w.created_at >= $2 AND w.created_at < $3 ORDER BY v.code, w.id`, []any{townID, doc.Period.Start.UTC(), doc.Period.End.UTC()}, func(scan func(...any) error) error {
		var n WallName
		err := scan(&n.Name, &n.Village, &n.Category)
		m.Wall = append(m.Wall, n)
		return err
	}); err != nil {
		return m, err
	}
	late, err := consult.ReferralFlow.Overdue(ctx, q, s.Now(), flow.Orders{SQL: `SELECT id, 0 FROM consult_referrals WHERE town_id = $1`, Args: []any{townID}})
	if err != nil {
		return m, err
	}
	for _, l := range late {
		o := LateOrder{State: l.State, Due: l.Due}
		if err := q.QueryRowContext(ctx, `SELECT f.title, COALESCE(v.name, '') FROM consult_referrals f LEFT JOIN villages v ON v.id = f.village_id WHERE f.id = $1`, l.OrderID).
			Scan(&o.Title, &o.Village); err != nil {
			return m, err
		}
		m.Overdue = append(m.Overdue, o)
	}
	return m, nil
}

// rowsOf runs a query and hands each row to fn.
func rowsOf(ctx context.Context, q db.Querier, sql string, args []any, fn func(scan func(...any) error) error) error {
	rows, err := q.QueryContext(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// monthlyTown is the town a monthly report is asked for: the actor's own, or town_id for a
// district admin.
func monthlyTown(r *http.Request, a *auth.Actor) int64 {
	if id := web.QueryInt(r, "town_id"); id != 0 {
		return id
	}
	if h := Home(a); h.Level == Town {
		return h.ID
	}
	return a.TownID
}

func (h *Handlers) monthly(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	m, err := h.S.Monthly(r.Context(), a, monthlyTown(r, a), r.URL.Query().Get("period"))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.name(&m.Doc, web.Lang(r))
	h.App.RenderForm(w, r, "admin_report_monthly.html", "report.monthly.title", monthlyView{Monthly: m, Sections: sections(m.Doc)}, nil, nil)
}

// monthlyView is the print page.
type monthlyView struct {
	Monthly
	Sections []section
}

// Format writes a value in its unit.
func (monthlyView) Format(unit string, v float64) string { return format(unit, v) }

// Cell is a village's value of a figure, or a dash where the figure is not kept by village.
func (monthlyView) Cell(g Group, f Value) string {
	v, ok := g.Values[f.Key]
	if !ok {
		return "—"
	}
	return format(f.Unit, v)
}

// sections are a document's figures by pillar, the headline figures first under "headline".
func sections(doc Document) []section {
	out := []section{{Pillar: "headline"}}
	by := map[string][]Value{}
	for _, f := range doc.Figures {
		if f.Headline {
			out[0].Values = append(out[0].Values, f)
		} else {
			by[f.Pillar] = append(by[f.Pillar], f)
		}
	}
	for _, p := range Sections {
		if len(by[p]) > 0 {
			out = append(out, section{Pillar: p, Values: by[p]})
		}
	}
	return out
}

func (h *Handlers) monthlyXLSX(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	m, err := h.S.Monthly(r.Context(), a, monthlyTown(r, a), r.URL.Query().Get("period"))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="report-`+m.Doc.Period.Spec+`.xlsx"`)
	if err := WriteMonthly(w, h.App.Catalog, web.Lang(r), m); err != nil {
		h.App.Log.Error("report: monthly xlsx", "err", err)
	}
}

// WriteMonthly writes the monthly report as a workbook: a sheet of the headline figures, a sheet
// per pillar with a row per village, and a sheet of the notable items. Names are written as text
// that a spreadsheet will not run.
func WriteMonthly(out io.Writer, cat web.Catalog, lang string, m Monthly) error {
	t := func(key string, args ...any) string { return cat.T(lang, key, args...) }
	x := excelize.NewFile()
	defer x.Close()
	write := func(sheet string, rows [][]any, widths ...float64) error {
		if _, err := x.NewSheet(sheet); err != nil {
			return err
		}
		for i, row := range rows {
			cell, err := excelize.CoordinatesToCellName(1, i+1)
			if err == nil {
				err = x.SetSheetRow(sheet, cell, &row)
			}
			if err != nil {
				return err
			}
		}
		for i, wd := range widths {
			col, _ := excelize.ColumnNumberToName(i + 1)
			if err := x.SetColWidth(sheet, col, col, wd); err != nil {
				return err
			}
		}
		return nil
	}
	doc := m.Doc
	head := [][]any{{t("report.monthly.sheet_title", people.SafeCell(doc.Name), doc.Period.Spec)},
		{t("report.col.figure"), t("report.col.value"), t("report.col.previous"), t("report.col.what")}}
	for _, f := range sections(doc)[0].Values {
		head = append(head, []any{t("report.fig." + f.Key), f.Value, f.Previous, t("report.what." + f.Key)})
	}
	first := t("report.monthly.sheet_headline")
	if err := write(first, head, 24, 14, 14, 60); err != nil {
		return err
	}
	for _, sec := range sections(doc)[1:] {
		row := []any{t("report.col.village")}
		var keys []string
		for _, f := range sec.Values {
			if f.Stock && f.Unit != Percent && len(f.Scopes) < 3 {
				continue
			}
			keys = append(keys, f.Key)
			row = append(row, t("report.fig."+f.Key))
		}
		rows := [][]any{row}
		for _, g := range doc.Groups {
			r := []any{people.SafeCell(g.Name)}
			for _, k := range keys {
				if v, ok := g.Values[k]; ok {
					r = append(r, v)
				} else {
					r = append(r, "")
				}
			}
			rows = append(rows, r)
		}
		total := []any{t("report.col.total")}
		for _, k := range keys {
			f, _ := doc.Figure(k)
			total = append(total, f.Value)
		}
		rows = append(rows, total)
		widths := []float64{14}
		for range keys {
			widths = append(widths, 14)
		}
		if err := write(t("report.pillar."+sec.Pillar), rows, widths...); err != nil {
			return err
		}
	}
	notable := [][]any{{t("report.monthly.flag")}}
	for _, v := range m.Flag {
		notable = append(notable, []any{people.SafeCell(v)})
	}
	if len(m.Flag) == 0 {
		notable = append(notable, []any{t("report.monthly.none")})
	}
	notable = append(notable, []any{}, []any{t("report.monthly.wall")}, []any{t("report.col.name"), t("report.col.village"), t("report.col.category")})
	for _, n := range m.Wall {
		notable = append(notable, []any{people.SafeCell(n.Name), people.SafeCell(n.Village), people.SafeCell(n.Category)})
	}
	notable = append(notable, []any{}, []any{t("report.monthly.overdue")}, []any{t("report.col.title"), t("report.col.village"), t("report.col.due")})
	for _, o := range m.Overdue {
		notable = append(notable, []any{people.SafeCell(o.Title), people.SafeCell(o.Village), o.Due.In(doc.Period.End.Location()).Format("2006-01-02 15:04")})
	}
	if err := write(t("report.monthly.sheet_notable"), notable, 30, 14, 18); err != nil {
		return err
	}
	if err := x.DeleteSheet("Sheet1"); err != nil {
		return err
	}
	x.SetActiveSheet(0)
	_, err := x.WriteTo(out)
	return err
}
