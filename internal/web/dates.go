package web

import (
	"fmt"
	"strings"
	"time"

	"siwei/internal/clock"
)

// weekdayKeys name the days of the week, Sunday first as time.Weekday counts them.
var weekdayKeys = [7]string{"date.weekday.sun", "date.weekday.mon", "date.weekday.tue", "date.weekday.wed", "date.weekday.thu", "date.weekday.fri", "date.weekday.sat"}

// monthKeys name the months, January first.
var monthKeys = [12]string{"date.month.jan", "date.month.feb", "date.month.mar", "date.month.apr", "date.month.may", "date.month.jun",
	"date.month.jul", "date.month.aug", "date.month.sep", "date.month.oct", "date.month.nov", "date.month.dec"}

// dateNow is the time dates are compared with to leave out this year's year; tests fix it.
var dateNow = time.Now

// now is the moment the page compares dates with, in the page's zone.
func (p *Page) now() time.Time { return dateNow().In(p.zone()) }

func (p *Page) zone() *time.Location {
	if p.loc == nil { // a page not made by NewPage
		return clock.Zone("")
	}
	return p.loc
}

// Date writes a calendar date (a shift's day, a birth date: a UTC midnight date, or a day as
// forms and exports write it, "2026-12-08") as people say it, with its weekday: "12月8日 周二",
// and the year when it is not this year's: "2025年12月8日 周一", "1956年3月2日 周五".
// {{$.Date .Day}}; the zero time and "" are "", a string that is no day is written as it is.
func (p *Page) Date(d any) string {
	var t time.Time
	switch d := d.(type) {
	case time.Time:
		t = d
	case string:
		if d == "" {
			return ""
		}
		var err error
		if t, err = time.Parse(clock.DayLayout, d); err != nil {
			return d
		}
	default:
		return fmt.Sprint(d)
	}
	if t.IsZero() {
		return ""
	}
	return p.day(t.Year(), t.Month(), t.Day(), t.Weekday())
}

// DateOf writes the town's calendar day of a moment as Date writes a date: "12月8日 周二".
// {{$.DateOf .At}}; the zero time is "".
func (p *Page) DateOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(p.zone())
	return p.day(t.Year(), t.Month(), t.Day(), t.Weekday())
}

// When writes a moment in the town's zone as people say it: "12月8日 周二 上午9:00" (the year
// too when it is not this year). {{$.When .At}}; the zero time is "".
func (p *Page) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(p.zone())
	return p.T("date.when", p.day(t.Year(), t.Month(), t.Day(), t.Weekday()), p.TimeOfDay(t))
}

// Span writes a stretch of time in the town's zone, a shift's hours, as people say it:
// "12月8日 周二 上午9:00–11:00", "12月8日 周二 上午9:00–下午3:00" ("Tue 8 Dec, 9:00–11:00 am"); one
// that ends on another day names both: "12月8日 周二 晚上8:00–12月9日 周三 上午6:00". A zero end
// writes the start alone. {{$.Span .StartsAt .EndsAt}}; a zero start is "".
func (p *Page) Span(start, end time.Time) string {
	if start.IsZero() {
		return ""
	}
	if end.IsZero() {
		return p.When(start)
	}
	s, e := start.In(p.zone()), end.In(p.zone())
	if sy, sm, sd := s.Date(); !sameDay(e, sy, sm, sd) {
		return p.When(start) + "–" + p.When(end)
	}
	return p.T("date.when", p.DateOf(start), p.TimesOfDay(start, end))
}

// TimesOfDay writes the hours between two moments of one day, in the town's zone, when the
// day is written elsewhere (a check-in and a check-out): "上午9:02–11:00", "上午9:00–下午3:00"
// ("9:02–11:00 am"). The word of the part of the day is written once when both share it. A zero
// end leaves the end open: "上午9:02–". {{$.TimesOfDay .CheckedIn .CheckedOut}}; a zero start is "".
func (p *Page) TimesOfDay(start, end time.Time) string {
	if start.IsZero() {
		return ""
	}
	from := p.TimeOfDay(start)
	if end.IsZero() {
		return from + "–"
	}
	sk, _, _ := p.clock(start)
	ek, _, _ := p.clock(end)
	to := p.TimeOfDay(end)
	if sk == ek {
		// The part of the day's word alone ("上午", " am"): drop the copy that stands by the dash.
		word := p.T(sk, "", "")
		switch {
		case word == "":
		case strings.HasPrefix(to, word) && strings.HasPrefix(from, word):
			to = strings.TrimPrefix(to, word)
		case strings.HasSuffix(from, word) && strings.HasSuffix(to, word):
			from = strings.TrimSuffix(from, word)
		}
	}
	return from + "–" + to
}

// TimeOfDay writes a moment's time of day in the town's zone as people say it: "上午9:00",
// "下午3:30", "晚上8:00" ("9:00 am" in English); the zero time is "".
func (p *Page) TimeOfDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	key, c12, c24 := p.clock(t)
	return p.T(key, c12, c24)
}

// clock is a moment's part of the day (the key of its word) and its clock on a 12 and a 24 hour
// dial, in the town's zone.
func (p *Page) clock(t time.Time) (key, c12, c24 string) {
	t = t.In(p.zone())
	h, m := t.Hour(), t.Minute()
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	c12, c24 = fmt.Sprintf("%d:%02d", h12, m), fmt.Sprintf("%d:%02d", h, m)
	key = "date.evening"
	switch {
	case h < 6:
		key = "date.dawn"
	case h < 12:
		key = "date.morning"
	case h < 13:
		key = "date.noon"
	case h < 18:
		key = "date.afternoon"
	}
	return key, c12, c24
}

func sameDay(t time.Time, y int, m time.Month, d int) bool {
	ty, tm, td := t.Date()
	return ty == y && tm == m && td == d
}

func (p *Page) day(y int, m time.Month, d int, wd time.Weekday) string {
	key := "date.day"
	if y != p.now().Year() {
		key = "date.day_year"
	}
	return p.T(key, y, int(m), d, p.T(weekdayKeys[wd]), p.T(monthKeys[m-1]))
}
