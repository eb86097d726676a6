package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"siwei/internal/errs"
)

// The kinds of period a figure may be asked for.
const (
	Month   = "month"   // 2026-11
	Quarter = "quarter" // 2026-Q4
	Year    = "year"    // 2026
	ToDate  = "todate"  // everything up to now (累计)
)

// Span is the period a report covers, in a town's calendar: whole months from From to To, or
// everything before End for ToDate. The current month is counted up to now.
type Span struct {
	Kind  string    `json:"kind"`
	Spec  string    `json:"spec"` // as asked: 2026-11, 2026-Q4, 2026, todate
	From  string    `json:"from"` // first month, YYYY-MM; empty for ToDate
	To    string    `json:"to"`   // last month, YYYY-MM
	Start time.Time `json:"start"`
	End   time.Time `json:"end"` // excluded
}

// maxYears bounds how far back or ahead a period may be asked for.
const maxYears = 30

// ParseSpan reads a period (2026-11, 2026-Q4, 2026 or todate; empty is this year) in loc. A
// period that has not begun is refused; the current one runs to the end of its months.
func ParseSpan(spec string, now time.Time, loc *time.Location) (Span, error) {
	spec = strings.TrimSpace(spec)
	now = now.In(loc)
	if spec == "" {
		spec = strconv.Itoa(now.Year())
	}
	bad := errs.Field("period", "report.period_invalid")
	var s Span
	switch {
	case spec == ToDate:
		m := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
		s = Span{Kind: ToDate, To: m.Format("2006-01"), End: m.AddDate(0, 1, 0)}
	case len(spec) == 4:
		y, err := strconv.Atoi(spec)
		if err != nil {
			return Span{}, bad
		}
		st := time.Date(y, 1, 1, 0, 0, 0, 0, loc)
		s = Span{Kind: Year, Start: st, End: st.AddDate(1, 0, 0)}
	case len(spec) == 7 && spec[4] == '-' && spec[5] == 'Q':
		y, err1 := strconv.Atoi(spec[:4])
		q, err2 := strconv.Atoi(spec[6:])
		if err1 != nil || err2 != nil || q < 1 || q > 4 {
			return Span{}, bad
		}
		st := time.Date(y, time.Month(3*q-2), 1, 0, 0, 0, 0, loc)
		s = Span{Kind: Quarter, Start: st, End: st.AddDate(0, 3, 0)}
	default:
		st, err := time.ParseInLocation("2006-01", spec, loc)
		if err != nil {
			return Span{}, bad
		}
		s = Span{Kind: Month, Start: st, End: st.AddDate(0, 1, 0)}
	}
	if s.Kind != ToDate {
		if y := s.Start.Year(); y < now.Year()-maxYears || y > now.Year()+1 {
			return Span{}, bad
		}
		if s.Start.After(now) {
			return Span{}, errs.Field("period", "report.period_future")
		}
		s.From, s.To = s.Start.Format("2006-01"), s.End.AddDate(0, -1, 0).Format("2006-01")
	}
	s.Spec = spec
	return s, nil
}

// Previous is the period before s of the same length: the month, quarter or year before, or for
// ToDate everything up to the end of the month before.
func (s Span) Previous() Span {
	loc := s.End.Location()
	switch s.Kind {
	case ToDate:
		end := s.End.AddDate(0, -1, 0)
		return Span{Kind: ToDate, Spec: ToDate, To: end.AddDate(0, -1, 0).Format("2006-01"), End: end}
	case Year:
		st := s.Start.AddDate(-1, 0, 0)
		return Span{Kind: Year, Spec: strconv.Itoa(st.Year()), Start: st, End: s.Start, From: st.Format("2006-01"), To: s.Start.AddDate(0, -1, 0).Format("2006-01")}
	case Quarter:
		st := s.Start.AddDate(0, -3, 0)
		return Span{Kind: Quarter, Spec: fmt.Sprintf("%d-Q%d", st.Year(), (int(st.Month())+2)/3), Start: st, End: s.Start, From: st.Format("2006-01"), To: s.Start.AddDate(0, -1, 0).Format("2006-01")}
	}
	st := time.Date(s.Start.Year(), s.Start.Month()-1, 1, 0, 0, 0, 0, loc)
	return Span{Kind: Month, Spec: st.Format("2006-01"), Start: st, End: s.Start, From: st.Format("2006-01"), To: st.Format("2006-01")}
}

// Months are the span's months, oldest first; for ToDate, the twelve up to To.
func (s Span) Months() []string {
	st := s.Start
	if s.Kind == ToDate {
		st = s.End.AddDate(0, -12, 0)
	}
	var out []string
	for m := st; m.Before(s.End); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// MonthSpan is the one month m (YYYY-MM) in loc.
func MonthSpan(m string, loc *time.Location) (Span, error) {
	st, err := time.ParseInLocation("2006-01", m, loc)
	if err != nil {
		return Span{}, errs.Field("period", "report.period_invalid")
	}
	return Span{Kind: Month, Spec: m, From: m, To: m, Start: st, End: st.AddDate(0, 1, 0)}, nil
}

// days are the span's first and last days, YYYY-MM-DD, for records kept by day.
func (s Span) days() (string, string) {
	first := "0000-01-01"
	if s.Kind != ToDate {
		first = s.Start.Format(time.DateOnly)
	}
	return first, s.End.AddDate(0, 0, -1).Format(time.DateOnly)
}

// fromMonth is the first month, or one before any record for ToDate.
func (s Span) fromMonth() string {
	if s.Kind == ToDate {
		return "0000-00"
	}
	return s.From
}

// period is the span's key in active_periods (2026-11, 2026-Q4, 2026, or all for to date), and
// false when it has none: to date as at the end of a month already over, which the key 'all' would
// overcount by what came after.
func (s Span) period(now time.Time) (string, bool) {
	switch s.Kind {
	case Month:
		return s.From, true
	case Quarter:
		return fmt.Sprintf("%d-Q%d", s.Start.Year(), (int(s.Start.Month())+2)/3), true
	case Year:
		return strconv.Itoa(s.Start.Year()), true
	case ToDate:
		if now.Before(s.End) {
			return "all", true
		}
	}
	return "", false
}

// startAt is the span's start; the zero time's stand-in for ToDate, which both engines compare.
func (s Span) startAt() time.Time {
	if s.Kind == ToDate {
		return time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return s.Start.UTC()
}
