package clock

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	// 23:30 UTC on 2 December is already 3 December in Beijing.
	at := time.Date(2026, 12, 2, 23, 30, 0, 0, time.UTC)
	c := In(Zone("Asia/Shanghai"), func() time.Time { return at })
	if got := c.Day(); got != "2026-12-03" {
		t.Errorf("Day = %s, want 2026-12-03", got)
	}
	if got := c.Month(); got != "2026-12" {
		t.Errorf("Month = %s, want 2026-12", got)
	}
	if got := c.Today(); got != time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC) {
		t.Errorf("Today = %v", got)
	}
	utc := In(Zone("UTC"), func() time.Time { return at })
	if got := utc.Day(); got != "2026-12-02" {
		t.Errorf("UTC Day = %s, want 2026-12-02", got)
	}
	if got := Minute(at, Zone("Asia/Urumqi")); got != "2026-12-03 05:30" {
		t.Errorf("Minute in Urumqi = %s", got)
	}
}

func TestZoneFallsBack(t *testing.T) {
	for _, name := range []string{"", "Mars/Olympus"} {
		if got := Zone(name).String(); got != DefaultZone && got != "CST" {
			t.Errorf("Zone(%q) = %s, want %s", name, got, DefaultZone)
		}
	}
}

func TestParse(t *testing.T) {
	loc := Zone("Asia/Shanghai")
	for _, tc := range []struct {
		in string
		ok bool
	}{{"2026-12-03", true}, {" 2026-12-03 ", true}, {"", true}, {"2026-13-01", false}, {"12/03/2026", false}} {
		if _, ok := ParseDay(tc.in, loc); ok != tc.ok {
			t.Errorf("ParseDay(%q) ok = %v", tc.in, ok)
		}
	}
	from, until, ok := ParseMonth("2026-02", loc)
	if !ok || from.Day() != 1 || until.Month() != time.March {
		t.Errorf("ParseMonth = %v %v %v", from, until, ok)
	}
	if _, _, ok := ParseMonth("2026-2-1", loc); ok {
		t.Error("ParseMonth accepted a day")
	}
}
