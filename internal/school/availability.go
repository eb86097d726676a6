package school

import (
	"fmt"
	"strings"
	"time"

	"siwei/internal/clock"
	"siwei/internal/errs"
)

// Slot is a stretch of time an expert says they can teach in (可授课时间): a time of day on one
// weekday every week, or on every day from From to To. Times and days are the town's.
type Slot struct {
	Weekday int    `json:"weekday,omitempty"` // 1 Monday … 7 Sunday; 0 for a span of days
	From    string `json:"from,omitempty"`    // 2026-07-01; empty for a weekday
	To      string `json:"to,omitempty"`      // the last day of the span, From when not given
	Start   string `json:"start"`             // 09:00
	End     string `json:"end"`               // 12:00
}

// MaxSlots bounds how many slots an expert states.
const MaxSlots = 14

// maxSpanDays bounds a span of days, so that a typo does not make someone available for ever.
const maxSpanDays = 366

// empty reports whether nothing of the slot was filled in: a blank row of the form.
func (sl Slot) empty() bool {
	return sl.Weekday == 0 && strings.TrimSpace(sl.From+sl.To+sl.Start+sl.End) == ""
}

// checkSlots validates an expert's slots, naming the fields of each as availability[i].start,
// and returns them cleaned, blank rows left out.
func checkSlots(f *errs.Fields, in []Slot) []Slot {
	out := []Slot{}
	filled := 0
	for i, sl := range in {
		if sl.empty() {
			continue
		}
		if filled++; filled > MaxSlots {
			f.Add("availability", "school.slots_too_many", MaxSlots)
			break
		}
		p := fmt.Sprintf("availability[%d].", i)
		sl.From, sl.To, sl.Start, sl.End = strings.TrimSpace(sl.From), strings.TrimSpace(sl.To), strings.TrimSpace(sl.Start), strings.TrimSpace(sl.End)
		ok := true
		switch {
		case sl.Weekday != 0 && (sl.From != "" || sl.To != ""):
			f.Add(p+"weekday", "school.slot_either")
			ok = false
		case sl.Weekday == 0 && sl.From == "":
			f.Add(p+"weekday", "school.slot_when")
			ok = false
		case sl.Weekday < 0 || sl.Weekday > 7:
			f.Add(p+"weekday", "school.weekday_invalid")
			ok = false
		case sl.Weekday == 0:
			if sl.To == "" {
				sl.To = sl.From
			}
			from, ok1 := clock.ParseDay(sl.From, time.UTC)
			to, ok2 := clock.ParseDay(sl.To, time.UTC)
			switch {
			case !ok1:
				f.Add(p+"from", "school.day_invalid")
				ok = false
			case !ok2:
				f.Add(p+"to", "school.day_invalid")
				ok = false
			case to.Before(from):
				f.Add(p+"to", "school.to_before_from")
				ok = false
			case to.Sub(from) > maxSpanDays*24*time.Hour:
				f.Add(p+"to", "school.span_too_long", maxSpanDays)
				ok = false
			}
		}
		start, ok1 := minuteOfDay(sl.Start)
		end, ok2 := minuteOfDay(sl.End)
		switch {
		case !ok1:
			f.Add(p+"start", "school.time_invalid")
		case !ok2:
			f.Add(p+"end", "school.time_invalid")
		case end <= start:
			f.Add(p+"end", "school.end_before_start")
		case ok:
			out = append(out, sl)
		}
	}
	return out
}

// minuteOfDay reads HH:MM as minutes after midnight.
func minuteOfDay(s string) (int, bool) {
	t, err := time.Parse(clock.TimeLayout, s)
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// Covers reports whether a lesson from start to end, both in the town's zone loc, lies within one
// of the slots: on one day, between a slot's times, on its weekday or within its span of days.
// Assigning an expert to an order asks it.
func Covers(slots []Slot, start, end time.Time, loc *time.Location) bool {
	start, end = start.In(loc), end.In(loc)
	if !end.After(start) || clock.Day(start) != clock.Day(end.Add(-time.Nanosecond)) {
		return false
	}
	day := clock.Day(start)
	from := start.Hour()*60 + start.Minute()
	to := from + int(end.Sub(start).Round(time.Minute)/time.Minute)
	weekday := int(start.Weekday())
	if weekday == 0 {
		weekday = 7
	}
	for _, sl := range slots {
		s, ok1 := minuteOfDay(sl.Start)
		e, ok2 := minuteOfDay(sl.End)
		if !ok1 || !ok2 || from < s || to > e {
			continue
		}
		if sl.Weekday == weekday || (sl.Weekday == 0 && sl.From <= day && day <= sl.To) {
			return true
		}
	}
	return false
}
