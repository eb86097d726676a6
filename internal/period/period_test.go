package period

import (
	"testing"
	"time"

	"siwei/internal/errs"
)

func TestParse(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC) // 09:00 in Beijing
	p, err := Parse("", "", now, loc)
	if err != nil {
		t.Fatal(err)
	}
	if p.From != "2026-01" || p.To != "2026-12" || p.FromText() != "2026年1月" || p.ToText() != "2026年12月" {
		t.Errorf("default period %+v %s %s", p, p.FromText(), p.ToText())
	}
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); !p.Start().Equal(want) {
		t.Errorf("start %v, want %v", p.Start(), want)
	}
	if want := time.Date(2027, 1, 1, 0, 0, 0, 0, loc); !p.End().Equal(want) {
		t.Errorf("end %v, want %v", p.End(), want)
	}
	// The last moment of December in Beijing is inside, the first of January outside.
	if !p.Contains(time.Date(2026, 12, 31, 23, 59, 0, 0, loc)) || p.Contains(time.Date(2027, 1, 1, 0, 0, 0, 0, loc)) || p.Contains(time.Date(2025, 12, 31, 23, 59, 0, 0, loc)) {
		t.Error("Contains does not follow the town's calendar")
	}
	for _, c := range []struct{ from, to, want string }{
		{"2026-13", "", "from:period.month_invalid"},
		{"2026-01", "x", "to:period.month_invalid"},
		{"2026-05", "2026-04", "to:period.to_before_from"},
		{"2020-01", "2026-12", "from:period.too_long"},
	} {
		_, err := Parse(c.from, c.to, now, loc)
		e, ok := errs.As(err)
		if !ok || len(e.Fields) == 0 || e.Fields[0].Field+":"+e.Fields[0].Key != c.want {
			t.Errorf("Parse(%q, %q) = %v, want %s", c.from, c.to, err, c.want)
		}
	}
	if _, err := Parse("2022-01", "2026-12", now, loc); err != nil {
		t.Errorf("five years refused: %v", err)
	}
}
