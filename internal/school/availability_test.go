package school

import (
	"slices"
	"testing"
	"time"

	"siwei/internal/errs"
)

func TestCheckSlotsNamesTheRowAndField(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []Slot
		errs []string // field names refused
		kept int
	}{
		{"OK weekly and span", []Slot{{Weekday: 2, Start: "09:00", End: "12:00"}, {From: "2026-07-01", To: "2026-07-15", Start: "14:00", End: "17:00"}}, nil, 2},
		{"OK one day", []Slot{{From: "2026-07-01", Start: "14:00", End: "17:00"}}, nil, 1},
		{"blank rows skipped, index kept", []Slot{{}, {Weekday: 9, Start: "09:00", End: "10:00"}}, []string{"availability[1].weekday"}, 0},
		{"ErrNeitherWeekdayNorDay", []Slot{{Start: "09:00", End: "10:00"}}, []string{"availability[0].weekday"}, 0},
		{"ErrBoth", []Slot{{Weekday: 1, From: "2026-07-01", Start: "09:00", End: "10:00"}}, []string{"availability[0].weekday"}, 0},
		{"ErrEndBeforeStart", []Slot{{Weekday: 1, Start: "10:00", End: "09:00"}}, []string{"availability[0].end"}, 0},
		{"ErrTime", []Slot{{Weekday: 1, Start: "9点", End: "25:00"}}, []string{"availability[0].start"}, 0},
		{"ErrToBeforeFrom", []Slot{{From: "2026-07-10", To: "2026-07-01", Start: "09:00", End: "10:00"}}, []string{"availability[0].to"}, 0},
		{"ErrDay", []Slot{{From: "2026-02-30", Start: "09:00", End: "10:00"}}, []string{"availability[0].from"}, 0},
		{"ErrSpanTooLong", []Slot{{From: "2026-01-01", To: "2028-01-01", Start: "09:00", End: "10:00"}}, []string{"availability[0].to"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var f errs.Fields
			out := checkSlots(&f, c.in)
			var got []string
			for _, e := range f {
				got = append(got, e.Field)
			}
			if !slices.Equal(got, c.errs) || len(out) != c.kept {
				t.Errorf("errors %v, kept %d; want %v, %d", got, len(out), c.errs, c.kept)
			}
		})
	}
	var f errs.Fields
	many := make([]Slot, MaxSlots+1)
	for i := range many {
		many[i] = Slot{Weekday: 1 + i%7, Start: "09:00", End: "10:00"}
	}
	if checkSlots(&f, many); !f.Has("availability") {
		t.Errorf("%d slots accepted", len(many))
	}
}

func TestCovers(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	slots := []Slot{{Weekday: 2, Start: "09:00", End: "12:00"}, {From: "2026-07-01", To: "2026-07-03", Start: "14:00", End: "17:00"}}
	at := func(day string, hm string, minutes int) (time.Time, time.Time) {
		s, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, loc)
		if err != nil {
			t.Fatal(err)
		}
		return s, s.Add(time.Duration(minutes) * time.Minute)
	}
	for _, c := range []struct {
		day, at string
		minutes int
		want    bool
	}{
		{"2026-06-30", "09:00", 180, true}, // a Tuesday, the whole slot
		{"2026-06-30", "10:30", 90, true},  // ends as the slot does
		{"2026-06-30", "11:00", 90, false}, // runs past it
		{"2026-06-30", "08:30", 60, false}, // starts before it
		{"2026-07-01", "09:00", 60, false}, // a Wednesday
		{"2026-07-02", "14:30", 120, true}, // within the span of days
		{"2026-07-04", "14:30", 60, false}, // after it
		{"2026-06-30", "23:30", 60, false}, // past midnight
	} {
		s, e := at(c.day, c.at, c.minutes)
		if got := Covers(slots, s, e, loc); got != c.want {
			t.Errorf("%s %s for %d min: %v, want %v", c.day, c.at, c.minutes, got, c.want)
		}
		// The same moment given in another zone is the same lesson.
		if got := Covers(slots, s.UTC(), e.UTC(), loc); got != c.want {
			t.Errorf("%s %s in UTC: %v, want %v", c.day, c.at, got, c.want)
		}
	}
}
