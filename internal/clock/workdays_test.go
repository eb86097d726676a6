package clock

import (
	"testing"
	"time"
)

func TestAddWorkdays(t *testing.T) {
	loc := Zone("Asia/Shanghai")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation(MinuteLayout, s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		from string
		n    int
		want string
	}{
		{"2026-12-02 10:00", 3, "2026-12-07 10:00"}, // Wednesday → Monday
		{"2026-12-04 10:00", 3, "2026-12-09 10:00"}, // Friday → Wednesday
		{"2026-12-04 10:00", 2, "2026-12-08 10:00"}, // Friday → Tuesday
		{"2026-12-05 15:30", 3, "2026-12-10 00:00"}, // Saturday counts from Monday 00:00
		{"2026-12-06 09:00", 1, "2026-12-08 00:00"}, // Sunday
		{"2026-12-07 09:00", 0, "2026-12-07 09:00"},
	} {
		if got := AddWorkdays(at(c.from), c.n, loc); !got.Equal(at(c.want)) {
			t.Errorf("%s + %d working days = %s, want %s", c.from, c.n, got.Format(MinuteLayout), c.want)
		}
	}
	// UTC in, the town's calendar out: 2026-12-04 20:00 UTC is Saturday 04:00 in Beijing.
	if got := AddWorkdays(time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC), 1, loc); !got.Equal(at("2026-12-08 00:00")) {
		t.Errorf("from UTC: %s", got.In(loc).Format(MinuteLayout))
	}
}
