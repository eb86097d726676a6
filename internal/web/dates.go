package web

import (
	"fmt"
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

// Date writes a calendar date (a shift's day, a birth date: a UTC midnight date) as people say
// it, with its weekday: "12月8日 周二", and the year when it is not this year's:
// "2025年12月8日 周一". {{$.Date .Day}}; the zero time is "".
func (p *Page) Date(d time.Time) string {
	if d.IsZero() {
		return ""
	}
	return p.day(d.Year(), d.Month(), d.Day(), d.Weekday())
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

// TimeOfDay writes a moment's time of day in the town's zone as people say it: "上午9:00",
// "下午3:30", "晚上8:00" ("9:00 am" in English).
func (p *Page) TimeOfDay(t time.Time) string {
	t = t.In(p.zone())
	h, m := t.Hour(), t.Minute()
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	c12, c24 := fmt.Sprintf("%d:%02d", h12, m), fmt.Sprintf("%d:%02d", h, m)
	key := "date.evening"
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
	return p.T(key, c12, c24)
}

func (p *Page) day(y int, m time.Month, d int, wd time.Weekday) string {
	key := "date.day"
	if y != p.now().Year() {
		key = "date.day_year"
	}
	return p.T(key, y, int(m), d, p.T(weekdayKeys[wd]), p.T(monthKeys[m-1]))
}
