package web

import (
	"testing"
	"time"

	"siwei/internal/clock"
)

// Dates read the way people say them, with the weekday, in the page's language; the year shows
// only when it is not the current one.
func TestPageDates(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	loc := clock.Zone("Asia/Shanghai")
	now := time.Date(2026, 12, 3, 14, 0, 0, 0, loc)
	dateNow = func() time.Time { return now }
	t.Cleanup(func() { dateNow = time.Now })
	page := func(lang string) *Page { return &Page{Lang: lang, catalog: c, loc: loc} }
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, loc).UTC() }
	whens := []struct {
		at     time.Time
		zh, en string
	}{
		{at(2026, 12, 8, 9, 0), "12月8日 周二 上午9:00", "Tue 8 Dec, 9:00 am"},
		{at(2026, 11, 28, 0, 30), "11月28日 周六 凌晨0:30", "Sat 28 Nov, 12:30 am"},
		{at(2026, 11, 28, 12, 5), "11月28日 周六 中午12:05", "Sat 28 Nov, 12:05 pm"},
		{at(2026, 11, 28, 15, 30), "11月28日 周六 下午3:30", "Sat 28 Nov, 3:30 pm"},
		{at(2026, 1, 1, 20, 0), "1月1日 周四 晚上8:00", "Thu 1 Jan, 8:00 pm"},
		{at(2025, 12, 8, 9, 0), "2025年12月8日 周一 上午9:00", "Mon 8 Dec 2025, 9:00 am"},
		// The town's zone decides the day: 23:30 UTC is the next morning in Shanghai.
		{time.Date(2026, 12, 7, 23, 30, 0, 0, time.UTC), "12月8日 周二 上午7:30", "Tue 8 Dec, 7:30 am"},
		{time.Time{}, "", ""},
	}
	for _, w := range whens {
		if got := page("zh-CN").When(w.at); got != w.zh {
			t.Errorf("When(%v) = %q, want %q", w.at, got, w.zh)
		}
		if got := page("en").When(w.at); got != w.en {
			t.Errorf("en When(%v) = %q, want %q", w.at, got, w.en)
		}
	}
	// The day of a moment is the town's: 23:30 UTC on the 7th is the 8th in Shanghai.
	if got := page("zh-CN").DateOf(time.Date(2026, 12, 7, 23, 30, 0, 0, time.UTC)); got != "12月8日 周二" {
		t.Errorf("DateOf = %q", got)
	}
	dates := []struct {
		d      any
		zh, en string
	}{
		{time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), "12月8日 周二", "Tue 8 Dec"},
		{time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC), "2027年1月4日 周一", "Mon 4 Jan 2027"},
		// A birth date long ago has its year; a day as forms write it reads the same.
		{time.Date(1956, 3, 2, 0, 0, 0, 0, time.UTC), "1956年3月2日 周五", "Fri 2 Mar 1956"},
		{"2026-12-08", "12月8日 周二", "Tue 8 Dec"},
		{"2025-12-08", "2025年12月8日 周一", "Mon 8 Dec 2025"},
		{"", "", ""},
		{"不详", "不详", "不详"},
		{time.Time{}, "", ""},
	}
	for _, d := range dates {
		if got := page("zh-CN").Date(d.d); got != d.zh {
			t.Errorf("Date(%v) = %q, want %q", d.d, got, d.zh)
		}
		if got := page("en").Date(d.d); got != d.en {
			t.Errorf("en Date(%v) = %q, want %q", d.d, got, d.en)
		}
	}
	spans := []struct {
		start, end time.Time
		zh, en     string
	}{
		// One part of the day: its word once, by the dash's side the language puts it on.
		{at(2026, 12, 8, 9, 0), at(2026, 12, 8, 11, 0), "12月8日 周二 上午9:00–11:00", "Tue 8 Dec, 9:00–11:00 am"},
		{at(2026, 12, 8, 14, 0), at(2026, 12, 8, 17, 30), "12月8日 周二 下午2:00–5:30", "Tue 8 Dec, 2:00–5:30 pm"},
		// Across parts of the day: each keeps its word.
		{at(2026, 12, 8, 9, 0), at(2026, 12, 8, 15, 0), "12月8日 周二 上午9:00–下午3:00", "Tue 8 Dec, 9:00 am–3:00 pm"},
		{at(2026, 12, 8, 11, 30), at(2026, 12, 8, 12, 30), "12月8日 周二 上午11:30–中午12:30", "Tue 8 Dec, 11:30 am–12:30 pm"},
		// Into the next day: both days are named.
		{at(2026, 12, 8, 20, 0), at(2026, 12, 9, 6, 0), "12月8日 周二 晚上8:00–12月9日 周三 上午6:00", "Tue 8 Dec, 8:00 pm–Wed 9 Dec, 6:00 am"},
		// Another year: the year once, with the day.
		{at(2025, 12, 8, 9, 0), at(2025, 12, 8, 11, 0), "2025年12月8日 周一 上午9:00–11:00", "Mon 8 Dec 2025, 9:00–11:00 am"},
		// The town's zone decides the day and hours: 01:00–03:00 UTC is 9–11 in Shanghai.
		{time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC), time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC), "12月8日 周二 上午9:00–11:00", "Tue 8 Dec, 9:00–11:00 am"},
		{at(2026, 12, 8, 9, 0), time.Time{}, "12月8日 周二 上午9:00", "Tue 8 Dec, 9:00 am"},
		{time.Time{}, at(2026, 12, 8, 9, 0), "", ""},
	}
	for _, s := range spans {
		if got := page("zh-CN").Span(s.start, s.end); got != s.zh {
			t.Errorf("Span(%v, %v) = %q, want %q", s.start, s.end, got, s.zh)
		}
		if got := page("en").Span(s.start, s.end); got != s.en {
			t.Errorf("en Span(%v, %v) = %q, want %q", s.start, s.end, got, s.en)
		}
	}
	if got := page("zh-CN").TimesOfDay(at(2026, 12, 8, 9, 2), at(2026, 12, 8, 11, 0)); got != "上午9:02–11:00" {
		t.Errorf("TimesOfDay = %q", got)
	}
	if got := page("zh-CN").TimesOfDay(at(2026, 12, 8, 9, 2), time.Time{}); got != "上午9:02–" {
		t.Errorf("TimesOfDay with no end = %q", got)
	}
	if got := page("zh-CN").TimeOfDay(time.Time{}); got != "" {
		t.Errorf("TimeOfDay(zero) = %q", got)
	}
}
