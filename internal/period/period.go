// Package period is the kit's span of whole months of a town's calendar, which the pillars'
// figures, coverage and records are counted over: 2026-01 to 2026-12.
package period

import (
	"fmt"
	"strings"
	"time"

	"siwei/internal/errs"
)

// Period is a span of whole months of the town's calendar, From's first day to the end of To's
// month.
type Period struct {
	From string `json:"from"` // 2026-01
	To   string `json:"to"`   // 2026-12
	// start and end are the span's bounds, end excluded.
	start, end time.Time
}

// MaxMonths bounds a period: five years.
const MaxMonths = 60

// Parse reads a period of months in the town's zone; empty from is the year's January, empty to
// this month. Each wrong field is named.
func Parse(from, to string, now time.Time, loc *time.Location) (Period, error) {
	now = now.In(loc)
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	if from == "" {
		from = fmt.Sprintf("%04d-01", now.Year())
	}
	if to == "" {
		to = fmt.Sprintf("%04d-%02d", now.Year(), int(now.Month()))
	}
	var f errs.Fields
	fm, err1 := time.ParseInLocation("2006-01", from, loc)
	tm, err2 := time.ParseInLocation("2006-01", to, loc)
	if err1 != nil {
		f.Add("from", "period.month_invalid")
	}
	if err2 != nil {
		f.Add("to", "period.month_invalid")
	}
	if err := f.Err(); err != nil {
		return Period{}, err
	}
	end := tm.AddDate(0, 1, 0)
	if !end.After(fm) {
		return Period{}, errs.Field("to", "period.to_before_from")
	}
	if fm.AddDate(0, MaxMonths, 0).Before(end) {
		return Period{}, errs.Field("from", "period.too_long")
	}
	return Period{From: from, To: to, start: fm.UTC(), end: end.UTC()}, nil
}

// Bounds are the period's first moment and the first moment after it.
func (p Period) Bounds() (time.Time, time.Time) { return p.start, p.end }

// Start is the period's first moment; End the first moment after it.
func (p Period) Start() time.Time { return p.start }
func (p Period) End() time.Time   { return p.end }

// Contains reports whether a moment falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.start) && t.Before(p.end) }

// FromText and ToText write the period's months as a certificate does: 2026年1月.
func (p Period) FromText() string { return monthText(p.From) }
func (p Period) ToText() string   { return monthText(p.To) }

func monthText(m string) string {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return m
	}
	return fmt.Sprintf("%d年%d月", t.Year(), int(t.Month()))
}
