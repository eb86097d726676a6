// Package clock is the one home of a town's calendar: what day and month it is in the town's
// zone, how days, months and times are written, and how a day typed into a form is read. Every
// pillar asks it instead of formatting or loading zones itself.
package clock

import (
	"strings"
	"sync"
	"time"
)

// The layouts siwei writes and reads.
const (
	DayLayout    = "2006-01-02"       // a calendar day, as forms and exports write it
	MonthLayout  = "2006-01"          // a month: statements, caps, figures
	MinuteLayout = "2006-01-02 15:04" // a moment, as pages show it
	TimeLayout   = "15:04"            // a time of day
)

// DefaultZone is the zone of a town that names none or names one this machine does not know.
const DefaultZone = "Asia/Shanghai"

// zones caches loaded time zones by name: loading one reads and parses its zoneinfo, which every
// award, cap and ranking asks for.
var zones sync.Map

// Zone loads a zone by name, DefaultZone when the name is empty or unknown, and China Standard
// Time when the machine has no zoneinfo at all.
func Zone(name string) *time.Location {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		if loc, err = time.LoadLocation(DefaultZone); err != nil {
			loc = time.FixedZone("CST", 8*3600)
		}
	}
	zones.Store(name, loc)
	return loc
}

// Clock is a town's calendar at a moment that a service supplies (its Now, which tests fix).
type Clock struct {
	Loc *time.Location
	now func() time.Time
}

// In is the clock of the zone loc, reading the time from now.
func In(loc *time.Location, now func() time.Time) Clock {
	if now == nil {
		now = time.Now
	}
	return Clock{Loc: loc, now: now}
}

// Now is the current moment in the clock's zone.
func (c Clock) Now() time.Time { return c.now().In(c.Loc) }

// Today is the town's calendar day now, as a UTC midnight date (the form birth dates, shift days
// and rule dates are compared in).
func (c Clock) Today() time.Time { return Date(c.now().In(c.Loc)) }

// Day is today written as a day: 2026-12-03.
func (c Clock) Day() string { return c.Today().Format(DayLayout) }

// Month is this month written as a month: 2026-12.
func (c Clock) Month() string { return c.Today().Format(MonthLayout) }

// Date is t's calendar day in t's own zone, as a UTC midnight date.
func Date(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Day writes t's calendar day in t's zone; the zero time is the empty string.
func Day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(DayLayout)
}

// Minute writes t as a page shows a moment, in loc; the zero time is the empty string.
func Minute(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(MinuteLayout)
}

// ParseDay reads a day typed as 2026-12-03 (spaces around it ignored) as its first instant in
// loc; the empty string is the zero time. ok is false for anything else.
func ParseDay(s string, loc *time.Location) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.ParseInLocation(DayLayout, s, loc)
	return t, err == nil
}

// ParseMonth reads a month typed as 2026-12 as its first instant in loc, and the first instant of
// the month after it.
func ParseMonth(s string, loc *time.Location) (from, until time.Time, ok bool) {
	t, err := time.ParseInLocation(MonthLayout, strings.TrimSpace(s), loc)
	if err != nil {
		return t, t, false
	}
	return t, t.AddDate(0, 1, 0), true
}
