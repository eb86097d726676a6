package clock

import "time"

// AddWorkdays is the moment n working days after t, at the same time of day in loc: Saturdays and
// Sundays are skipped, so an order made on a Friday at 10:00 with 3 working days is due on
// Wednesday at 10:00, and one made on a Saturday counts from Monday. Public holidays and the
// working weekends that make up for them (调休) are not known yet: every weekday counts.
// Deadlines the order flows state in working days are computed here, and only here.
func AddWorkdays(t time.Time, n int, loc *time.Location) time.Time {
	t = t.In(loc)
	for weekend(t) {
		t = nextDayAt(t, 0, 0)
	}
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if !weekend(t) {
			n--
		}
	}
	return t
}

func weekend(t time.Time) bool { return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday }

// nextDayAt is the next day after t's, at h:m.
func nextDayAt(t time.Time, h, m int) time.Time {
	y, mo, d := t.Date()
	return time.Date(y, mo, d+1, h, m, 0, 0, t.Location())
}
