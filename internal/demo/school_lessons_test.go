package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/school"
	"siwei/internal/server"
)

// TestSchoolLessons: the demo's year of 微党校 lessons, made through the services. Lessons were held
// in most of the last twelve months; every closed roll's checked-in party members were paid once
// each, under the lesson rule, in the lesson's month, or carry the bank's reason why not, and no
// one else was paid; attendees rated lessons and branches rated most orders with 学后转化 lines; a
// few were cancelled and paid nothing; the coverage the service reports is the count of distinct
// party members checked in that plain SQL finds. A second run adds nothing.
func TestSchoolLessons(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sys, err := server.New(d, bytes.Repeat([]byte{5}, 32))
		if err != nil {
			t.Fatal(err)
		}
		info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, demo.Options{Seed: 3, Residents: 600})
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []demo.Step{demo.Bank, demo.Volunteer, demo.School} { // the steps up to 微党校, whose year this checks
			if err := step(ctx, d, sys.People, info, 3); err != nil {
				t.Fatal(err)
			}
		}
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := d.Read().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		const lessonTx = `SELECT COUNT(*) FROM bank_transactions WHERE idem_key LIKE 'school:lesson:%'`
		before := []int{count(`SELECT COUNT(*) FROM school_orders`), count(`SELECT COUNT(*) FROM attend_entries`), count(lessonTx)}
		if err := demo.School(ctx, d, sys.People, info, 3); err != nil {
			t.Fatal(err)
		}
		if after := []int{count(`SELECT COUNT(*) FROM school_orders`), count(`SELECT COUNT(*) FROM attend_entries`), count(lessonTx)}; fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("a second run changed orders, entries, payments: %v to %v", before, after)
		}
		loc, err := sys.People.Zone(ctx, info.TownID)
		if err != nil {
			t.Fatal(err)
		}
		today := clock.In(loc, time.Now).Today()

		// Lessons held (rolls closed) in most of the last twelve months.
		months := map[string]int{}
		rows, err := d.Read().QueryContext(ctx, `SELECT e.starts_at FROM attend_events e WHERE e.kind = $1 AND e.town_id = $2 AND e.closed_at IS NOT NULL AND e.cancelled_at IS NULL`,
			school.LessonKind, info.TownID)
		if err != nil {
			t.Fatal(err)
		}
		held, heldInYear := 0, 0
		yearFrom := today.AddDate(0, -11, 1-today.Day())
		for rows.Next() {
			var at time.Time
			if err := rows.Scan(&at); err != nil {
				t.Fatal(err)
			}
			held++
			if !at.Before(yearFrom) {
				heldInYear++
			}
			months[at.In(loc).Format("2006-01")]++
		}
		rows.Close()
		inYear := 0
		for m := range 12 {
			if months[yearFrom.AddDate(0, m, 0).Format("2006-01")] > 0 {
				inYear++
			}
		}
		if held < 20 || inYear < 10 {
			t.Errorf("%d lessons held, in %d of the last 12 months: %v", held, inYear, months)
		}

		// Paid once per person per lesson: each checked-in party member of a closed roll has the
		// transaction of their key, or the bank's reason; nobody else has one.
		type entry struct {
			lesson, resident, tx int64
			note                 string
			party                bool
			starts               time.Time
		}
		var entries []entry
		rows, err = d.Read().QueryContext(ctx, `SELECT e.ref_id, a.resident_id, COALESCE(a.transaction_id, 0), a.pay_note, r.party_member, e.starts_at
			FROM attend_entries a JOIN attend_events e ON e.id = a.event_id JOIN residents r ON r.id = a.resident_id
			WHERE e.kind = $1 AND e.town_id = $2 AND e.closed_at IS NOT NULL AND e.cancelled_at IS NULL AND a.checked_in_at IS NOT NULL`, school.LessonKind, info.TownID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var e entry
			if err := rows.Scan(&e.lesson, &e.resident, &e.tx, &e.note, &e.party, &e.starts); err != nil {
				t.Fatal(err)
			}
			entries = append(entries, e)
		}
		rows.Close()
		type paid struct {
			resident, amount int64
			rule             string
			at               time.Time
		}
		txs := map[string]paid{}
		rows, err = d.Read().QueryContext(ctx, `SELECT idem_key, resident_id, amount, rule_code, created_at FROM bank_transactions WHERE idem_key LIKE 'school:lesson:%'`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			var p paid
			if err := rows.Scan(&k, &p.resident, &p.amount, &p.rule, &p.at); err != nil {
				t.Fatal(err)
			}
			if _, dup := txs[k]; dup {
				t.Errorf("key %s paid twice", k)
			}
			txs[k] = p
		}
		rows.Close()
		var party, paidN, invited int
		notes := map[string]int{}
		for _, e := range entries {
			key := fmt.Sprintf("school:lesson:%d:resident:%d", e.lesson, e.resident)
			p, ok := txs[key]
			switch {
			case !e.party:
				invited++
				if ok || e.tx != 0 {
					t.Errorf("lesson %d: resident %d, no party member, was paid", e.lesson, e.resident)
				}
			case e.tx != 0:
				party++
				paidN++
				if !ok || p.resident != e.resident || p.rule != school.RuleCode || p.amount <= 0 {
					t.Errorf("lesson %d: resident %d: entry names transaction %d, the bank holds %+v under %s", e.lesson, e.resident, e.tx, p, key)
				}
				if p.at.In(loc).Format("2006-01") != e.starts.In(loc).Format("2006-01") {
					t.Errorf("lesson %d of %s paid on %s", e.lesson, e.starts.In(loc).Format("2006-01-02"), p.at.In(loc).Format("2006-01-02"))
				}
			default:
				party++
				notes[e.note]++
				if e.note == "" || ok {
					t.Errorf("lesson %d: resident %d checked in, not paid, note %q, transaction under the key: %t", e.lesson, e.resident, e.note, ok)
				}
			}
		}
		if len(txs) != paidN {
			t.Errorf("%d lesson payments in the bank, %d paid entries", len(txs), paidN)
		}
		// The 党员 rule set's lesson rule is in force from its effective day, before the year's
		// first lesson: nearly every attending party member is paid.
		var effective string
		if err := d.Read().QueryRowContext(ctx, `SELECT MIN(v.effective_from) FROM bank_rule_versions v JOIN bank_rule_sets s ON s.id = v.rule_set_id
			WHERE s.town_id = $1 AND s.class = $2`, info.TownID, string(people.PartyMember)).Scan(&effective); err != nil {
			t.Fatal(err)
		}
		var since, sincePaid int
		for _, e := range entries {
			if e.party && clock.Day(e.starts.In(loc)) >= effective {
				since++
				if e.tx != 0 {
					sincePaid++
				}
			}
		}
		t.Logf("%d lessons held; %d party members' check-ins, %d paid, unpaid by reason %v; %d others; since %s %d of %d paid",
			held, party, paidN, notes, invited, effective, sincePaid, since)
		if party < 50 || invited == 0 || since != party || sincePaid*10 < since*9 {
			t.Errorf("%d party members' check-ins, %d others; %d of %d paid since %s", party, invited, sincePaid, since, effective)
		}

		// Ratings, 评单 with 学后转化, and a few cancelled that paid nothing.
		ratings := count(`SELECT COUNT(*) FROM school_ratings sr JOIN school_lessons l ON l.id = sr.lesson_id WHERE l.town_id = $1`, info.TownID)
		rated := count(`SELECT COUNT(*) FROM school_orders WHERE town_id = $1 AND status = 'rated'`, info.TownID)
		applied := count(`SELECT COUNT(*) FROM school_lessons WHERE town_id = $1 AND branch_rating IS NOT NULL AND applied <> ''`, info.TownID)
		cancelled := count(`SELECT COUNT(*) FROM attend_events e WHERE e.kind = $1 AND e.town_id = $2 AND e.cancelled_at IS NOT NULL`, school.LessonKind, info.TownID)
		cancelledPaid := count(`SELECT COUNT(*) FROM attend_entries a JOIN attend_events e ON e.id = a.event_id WHERE e.kind = $1 AND e.cancelled_at IS NOT NULL
			AND (a.transaction_id IS NOT NULL OR a.checked_in_at IS NOT NULL)`, school.LessonKind)
		if ratings == 0 || rated < held/2 || applied*2 < rated || cancelled == 0 || cancelledPaid != 0 {
			t.Errorf("%d ratings, %d orders rated, %d with 学后转化, %d lessons cancelled, %d check-ins or payments on them", ratings, rated, applied, cancelled, cancelledPaid)
		}

		// The demo party member's 我的党课: a lesson or more a month of their branch's, most of the
		// held ones attended and paid, some rated.
		login := func(phone string) *auth.Actor {
			t.Helper()
			sess, err := sys.Auth.Login(ctx, phone, demo.DemoPassword, "127.0.0.1", "api")
			if err != nil {
				t.Fatal(err)
			}
			a, err := sys.Auth.Authenticate(ctx, sess.Token)
			if err != nil || a == nil {
				t.Fatal(err)
			}
			return a
		}
		mine, err := sys.School.Mine(ctx, login(demo.PhonePartyMember))
		if err != nil {
			t.Fatal(err)
		}
		var mineHeld, mineCame, minePaid, mineRated int
		for _, m := range mine {
			if m.Status == "cancelled" || !m.EndsAt.Before(time.Now()) {
				continue
			}
			mineHeld++
			if !m.CheckedInAt.IsZero() {
				mineCame++
			}
			if m.Points > 0 {
				minePaid++
			}
			if m.Rating > 0 {
				mineRated++
			}
		}
		t.Logf("the demo party member: %d lessons held on their roll, came to %d, paid for %d, rated %d", mineHeld, mineCame, minePaid, mineRated)
		if mineHeld < 10 || mineCame*3 < mineHeld*2 || minePaid != mineCame || mineRated == 0 {
			t.Errorf("the demo party member: %d lessons held on their roll, came to %d, paid for %d, rated %d", mineHeld, mineCame, minePaid, mineRated)
		}

		// Coverage of the last twelve months, by the service and by plain SQL.
		office := login(demo.PhoneSchoolAdmin)
		p, err := school.ParsePeriod(yearFrom.Format("2006-01"), today.Format("2006-01"), time.Now(), loc)
		if err != nil {
			t.Fatal(err)
		}
		cov, err := sys.School.Coverage(ctx, office, info.TownID, p)
		if err != nil {
			t.Fatal(err)
		}
		from, to := p.Bounds()
		reached := count(`SELECT COUNT(DISTINCT r.id) FROM residents r JOIN villages v ON v.id = r.village_id
			JOIN attend_entries a ON a.resident_id = r.id JOIN attend_events e ON e.id = a.event_id
			WHERE v.town_id = $1 AND r.party_member AND r.status = 'active' AND e.kind = $2 AND e.cancelled_at IS NULL
			AND a.checked_in_at IS NOT NULL AND e.starts_at >= $3 AND e.starts_at < $4`, info.TownID, school.LessonKind, from, to)
		members := count(`SELECT COUNT(*) FROM residents r JOIN villages v ON v.id = r.village_id WHERE v.town_id = $1 AND r.party_member AND r.status = 'active'`, info.TownID)
		t.Logf("coverage %s–%s: %d of %d party members (SQL: %d of %d)", p.From, p.To, cov.Reached, cov.Members, reached, members)
		if cov.Reached != reached || cov.Members != members || reached*2 < members {
			t.Errorf("coverage: service %d of %d, SQL %d of %d", cov.Reached, cov.Members, reached, members)
		}
		f, err := sys.School.PeriodFigures(ctx, office, info.TownID, p)
		if err != nil || f.Reached != reached || f.Lessons < heldInYear || f.Lessons > heldInYear+3 {
			t.Errorf("figures: %+v, %v", f, err)
		}
	})
}
