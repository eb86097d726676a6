package alliance

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/web"
)

// The one-stop dispute centre (一站式多元解纷中心): consultations at intake (接待) here, cases in
// cases.go. Nothing of it is seen outside the centre's staff: the service asks for the grant of
// dispute_staff in the record's town itself, so that a district admin, who may do everything
// else, and the town's admins without the role are answered NotFound like anyone else.

// Bounds of a consultation's text.
const (
	maxDisputeName   = 30
	maxDisputePhone  = 20
	maxDisputeMatter = 1000
	maxDisputeAdvice = 2000
	maxBookingsOpen  = 3 // a resident's bookings waiting at once
)

// handlesDisputes reports whether the actor is the dispute centre's staff of the town: a grant of
// dispute_staff there. No other role, the district admin's included, sees the centre's records.
func handlesDisputes(a *auth.Actor, townID int64) bool {
	if a == nil || a.AccountID == 0 || townID == 0 {
		return false
	}
	for _, g := range a.Grants {
		if g.Role == auth.DisputeStaff && g.TownID == townID {
			return auth.Can(a, PermDispute, auth.Scope{TownID: townID}) == nil
		}
	}
	return false
}

// disputeTown is the town whose centre the actor staffs: the one named when they staff it, else
// the first town they hold dispute_staff in. Anyone else is refused: NotFound, so that the
// centre's pages and records do not show they exist (Unauthorized for nobody logged in).
func disputeTown(a *auth.Actor, townID int64) (int64, error) {
	if a == nil || a.AccountID == 0 {
		return 0, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if townID != 0 {
		if handlesDisputes(a, townID) {
			return townID, nil
		}
		return 0, notFound
	}
	if handlesDisputes(a, a.TownID) {
		return a.TownID, nil
	}
	for _, g := range a.Grants {
		if g.Role == auth.DisputeStaff && handlesDisputes(a, g.TownID) {
			return g.TownID, nil
		}
	}
	return 0, notFound
}

// MayHandleDisputes reports whether the actor staffs any town's dispute centre (the console
// entry, the landing page).
func MayHandleDisputes(a *auth.Actor) bool {
	_, err := disputeTown(a, 0)
	return err == nil
}

// Consultation statuses: booked by a resident and waiting, or answered at intake.
const (
	ConsultBooked   = "booked"
	ConsultAnswered = "answered"
)

// Consultation is a visit, call or booking at the centre's intake (接待): the day, the person (a
// resident, or a name and phone), the matter, the advice given and whether it became a case.
type Consultation struct {
	ID           int64     `json:"id"`
	TownID       int64     `json:"town_id"`
	VillageID    int64     `json:"village_id,omitzero"`
	VillageName  string    `json:"village_name"`
	Day          string    `json:"day"`
	ResidentID   int64     `json:"resident_id,omitzero"`
	Name         string    `json:"name"`
	Phone        string    `json:"phone"`
	Matter       string    `json:"matter"`
	Advice       string    `json:"advice"`
	Status       string    `json:"status"`
	PreferredDay string    `json:"preferred_day,omitempty"`
	BecameCase   bool      `json:"became_case"`
	CaseID       int64     `json:"case_id,omitzero"`
	CreatedAt    time.Time `json:"created_at"`
}

// ConsultationInput records a consultation at intake, or (ID of a booking) answers one. The person
// is ResidentID, or Name and Phone for someone who is not a resident. Day is the town's calendar
// day (2006-01-02), today when empty.
type ConsultationInput struct {
	ID         int64  `json:"id,omitzero"`
	TownID     int64  `json:"town_id,omitzero"`
	Day        string `json:"day"`
	ResidentID int64  `json:"resident_id,omitzero"`
	Name       string `json:"name"`
	Phone      string `json:"phone"`
	Matter     string `json:"matter"`
	Advice     string `json:"advice"`
	BecameCase bool   `json:"became_case"`
}

// BookingInput is a resident's request for a consultation: the matter and a preferred day.
type BookingInput struct {
	Matter       string `json:"matter"`
	PreferredDay string `json:"preferred_day"`
}

// ConsultationFilter narrows the intake list: booked ones only, a word of the name or matter.
type ConsultationFilter struct {
	TownID int64
	Booked bool
	Q      string
	Limit  int
}

const consultationCols = `c.id, c.town_id, COALESCE(c.village_id, 0), COALESCE(v.name, ''), c.day, COALESCE(c.resident_id, 0), c.name, c.phone, c.matter, c.advice,
	c.status, c.preferred_day, c.became_case, COALESCE(c.case_id, 0), c.created_at`

const consultationFrom = ` FROM dispute_consultations c LEFT JOIN villages v ON v.id = c.village_id `

func scanConsultation(sc interface{ Scan(...any) error }) (Consultation, error) {
	var c Consultation
	err := sc.Scan(&c.ID, &c.TownID, &c.VillageID, &c.VillageName, &c.Day, &c.ResidentID, &c.Name, &c.Phone, &c.Matter, &c.Advice,
		&c.Status, &c.PreferredDay, &c.BecameCase, &c.CaseID, &c.CreatedAt)
	return c, err
}

// Consultations lists a town's intake for its centre's staff: bookings waiting first, then the
// latest consultations.
func (s *Service) Consultations(ctx context.Context, a *auth.Actor, f ConsultationFilter) ([]Consultation, error) {
	townID, err := disputeTown(a, f.TownID)
	if err != nil {
		return nil, err
	}
	where, args := []string{"c.town_id = $1"}, []any{townID}
	if f.Booked {
		where = append(where, "c.status = 'booked'")
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		if utf8.RuneCountInString(q) > 30 {
			q = string([]rune(q)[:30])
		}
		args = append(args, "%"+db.LikePrefix(q))
		where = append(where, fmt.Sprintf("(c.name LIKE $%d ESCAPE '\\' OR c.matter LIKE $%d ESCAPE '\\')", len(args), len(args)))
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+consultationCols+consultationFrom+`WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY CASE WHEN c.status = 'booked' THEN 0 ELSE 1 END, c.day DESC, c.id DESC LIMIT %d`, limit), args...)
	if err != nil {
		return nil, fmt.Errorf("alliance: consultations: %w", err)
	}
	defer rows.Close()
	out := []Consultation{}
	for rows.Next() {
		c, err := scanConsultation(rows)
		if err != nil {
			return nil, fmt.Errorf("alliance: consultations: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// consultation reads a consultation with no check of who asks.
func (s *Service) consultation(ctx context.Context, q db.Querier, id int64) (Consultation, error) {
	c, err := scanConsultation(q.QueryRowContext(ctx, `SELECT `+consultationCols+consultationFrom+`WHERE c.id = $1`, id))
	if db.IsNoRows(err) {
		return c, notFound
	}
	if err != nil {
		return c, fmt.Errorf("alliance: consultation %d: %w", id, err)
	}
	return c, nil
}

// Consultation returns a consultation to its town's centre staff; anyone else is answered
// NotFound.
func (s *Service) Consultation(ctx context.Context, a *auth.Actor, id int64) (Consultation, error) {
	c, err := s.consultation(ctx, s.DB.Read(), id)
	if err != nil {
		return c, err
	}
	if !handlesDisputes(a, c.TownID) {
		return Consultation{}, notFound
	}
	return c, nil
}

// disputeResident reads a resident of the town named on a form: another town's, a missing or a
// departed one answers NotFound on the field.
func (s *Service) disputeResident(ctx context.Context, q db.Querier, townID, id int64, field string) (name, phone string, villageID int64, err error) {
	var t int64
	var status string
	err = q.QueryRowContext(ctx, `SELECT town_id, village_id, name, phone, status FROM residents WHERE id = $1`, id).Scan(&t, &villageID, &name, &phone, &status)
	if db.IsNoRows(err) || (err == nil && (t != townID || status != string(people.Active))) {
		return "", "", 0, &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: field, Key: "error.not_found"}}}
	}
	if err != nil {
		return "", "", 0, fmt.Errorf("alliance: dispute resident: %w", err)
	}
	return name, phone, villageID, nil
}

// disputeDay checks a typed calendar day on a field and, when it must not be in the future,
// against today.
func disputeDay(f *errs.Fields, field, day, today string, required bool) {
	switch {
	case day == "" && required:
		f.Add(field, "field.required")
	case day == "":
	case !isDisputeDay(day):
		f.Add(field, "field.day_invalid")
	case today != "" && day > today:
		f.Add(field, "alliance.dispute.day_future")
	}
}

func isDisputeDay(s string) bool {
	_, ok := clock.ParseDay(s, time.UTC)
	return ok
}

// SaveConsultation records a consultation at intake, or answers a booking (in.ID): the advice
// given, and whether it became a case. The resident who booked is told it was answered.
func (s *Service) SaveConsultation(ctx context.Context, a *auth.Actor, in ConsultationInput) (Consultation, error) {
	in.Day, in.Name, in.Phone = strings.TrimSpace(in.Day), strings.TrimSpace(in.Name), strings.TrimSpace(in.Phone)
	in.Matter, in.Advice = strings.TrimSpace(in.Matter), strings.TrimSpace(in.Advice)
	id := in.ID
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var booked Consultation
		townID := in.TownID
		if id != 0 {
			c, err := s.consultation(ctx, tx, id)
			if err != nil {
				return err
			}
			if !handlesDisputes(a, c.TownID) {
				return notFound
			}
			booked, townID = c, c.TownID
		}
		townID, err := disputeTown(a, townID)
		if err != nil {
			return err
		}
		today, err := s.townToday(ctx, townID)
		if err != nil {
			return err
		}
		if in.Day == "" {
			in.Day = today
		}
		var f errs.Fields
		disputeDay(&f, "day", in.Day, today, true)
		if id == 0 {
			if in.ResidentID == 0 {
				f.Text("name", in.Name, maxDisputeName, true)
				f.Text("phone", in.Phone, maxDisputePhone, false)
				if in.Phone != "" && strings.Trim(in.Phone, "0123456789-") != "" {
					f.Add("phone", "field.phone_invalid")
				}
			}
			f.Text("matter", in.Matter, maxDisputeMatter, true)
		}
		f.Text("advice", in.Advice, maxDisputeAdvice, true)
		if err := f.Err(); err != nil {
			return err
		}
		now := s.Now()
		if id != 0 {
			if booked.Status != ConsultBooked {
				return errs.New(errs.Conflict, "alliance.dispute.consultation_answered")
			}
			res, err := tx.ExecContext(ctx, `UPDATE dispute_consultations SET status = 'answered', day = $1, advice = $2, became_case = $3, created_by = $4, updated_at = $5
				WHERE id = $6 AND status = 'booked'`, in.Day, in.Advice, in.BecameCase, a.AccountID, now, id)
			if err != nil {
				return fmt.Errorf("alliance: answer consultation: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				if err != nil {
					return err
				}
				return errs.New(errs.Conflict, "alliance.dispute.consultation_answered")
			}
			if err := s.Notify.Tell(ctx, tx, booked.ResidentID, notify.Outcome{Title: "alliance.dispute.told_answered_title", Body: "alliance.dispute.told_answered",
				Args: []any{in.Day}, Link: "/alliance/disputes"}); err != nil {
				return err
			}
		} else {
			var village int64
			if in.ResidentID != 0 {
				name, phone, v, err := s.disputeResident(ctx, tx, townID, in.ResidentID, "resident_id")
				if err != nil {
					return err
				}
				in.Name, in.Phone, village = name, phone, v
			}
			if err := tx.QueryRowContext(ctx, `INSERT INTO dispute_consultations (town_id, village_id, day, resident_id, name, phone, matter, advice, status, became_case, created_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'answered', $9, $10, $11, $11) RETURNING id`,
				townID, db.NullID(village), in.Day, db.NullID(in.ResidentID), in.Name, in.Phone, in.Matter, in.Advice, in.BecameCase, a.AccountID, now).Scan(&id); err != nil {
				return fmt.Errorf("alliance: consultation: %w", err)
			}
		}
		// The audit names no party: the matter stays with the centre.
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "dispute.consultation.save", Entity: "dispute_consultation", EntityID: id, TownID: townID})
	})
	if err != nil {
		return Consultation{}, err
	}
	return s.Consultation(ctx, a, id)
}

// Booking is a resident's own booking, as they see it.
type Booking struct {
	ID           int64     `json:"id"`
	Matter       string    `json:"matter"`
	PreferredDay string    `json:"preferred_day"`
	Status       string    `json:"status"`
	Day          string    `json:"day"`
	CreatedAt    time.Time `json:"created_at"`
}

// Book asks the centre of the resident's town for a consultation: the matter and a preferred day
// (today or later, within 60 days). It shows on the centre's intake list as booked. A resident has
// at most three bookings waiting.
func (s *Service) Book(ctx context.Context, a *auth.Actor, in BookingInput) (Booking, error) {
	in.Matter, in.PreferredDay = strings.TrimSpace(in.Matter), strings.TrimSpace(in.PreferredDay)
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, ok, err := s.me(ctx, tx, a)
		if err != nil {
			return err
		}
		if !ok || !m.Active || a.ActingFor != nil { // a resident books for themself, never staff for them
			return errs.New(errs.Forbidden, "error.forbidden")
		}
		today, err := s.townToday(ctx, m.TownID)
		if err != nil {
			return err
		}
		var f errs.Fields
		f.Text("matter", in.Matter, maxDisputeMatter, true)
		switch {
		case in.PreferredDay == "":
			f.Add("preferred_day", "field.required")
		case !isDisputeDay(in.PreferredDay):
			f.Add("preferred_day", "field.day_invalid")
		default:
			t, _ := clock.ParseDay(today, time.UTC)
			if in.PreferredDay < today || in.PreferredDay > t.AddDate(0, 0, 60).Format(clock.DayLayout) {
				f.Add("preferred_day", "alliance.dispute.preferred_range")
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		// One resident's bookings are counted one request at a time, so that racing requests
		// cannot pass the limit together (PostgreSQL; SQLite has one writer already).
		if err := s.DB.Serialize(ctx, tx, fmt.Sprintf("dispute-bookings:%d", m.ID)); err != nil {
			return fmt.Errorf("alliance: bookings: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dispute_consultations WHERE resident_id = $1 AND status = 'booked'`, m.ID).Scan(&n); err != nil {
			return fmt.Errorf("alliance: bookings: %w", err)
		}
		if n >= maxBookingsOpen {
			return errs.New(errs.Conflict, "alliance.dispute.too_many_bookings")
		}
		var phone string
		if err := tx.QueryRowContext(ctx, `SELECT phone FROM residents WHERE id = $1`, m.ID).Scan(&phone); err != nil {
			return fmt.Errorf("alliance: booking: %w", err)
		}
		now := s.Now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO dispute_consultations (town_id, village_id, day, resident_id, name, phone, matter, status, preferred_day, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'booked', $8, $9, $9) RETURNING id`, m.TownID, m.VillageID, today, m.ID, m.Name, phone, in.Matter, in.PreferredDay, now).Scan(&id); err != nil {
			return fmt.Errorf("alliance: booking: %w", err)
		}
		// No audit row: the town's audit log is read outside the centre, and who asked the centre
		// for help is the centre's alone. The booking row is the record.
		return nil
	})
	if err != nil {
		return Booking{}, err
	}
	list, err := s.MyBookings(ctx, a)
	if err != nil {
		return Booking{}, err
	}
	for _, b := range list {
		if b.ID == id {
			return b, nil
		}
	}
	return Booking{}, notFound
}

// MyBookings are the resident's own bookings and consultations, newest first, without the
// advice's details beyond whether it was answered.
func (s *Service) MyBookings(ctx context.Context, a *auth.Actor) ([]Booking, error) {
	out := []Booking{}
	if a != nil && a.ActingFor != nil {
		return out, nil // staff acting for a resident in office mode do not see what they asked the centre
	}
	m, ok, err := s.me(ctx, s.DB.Read(), a)
	if err != nil || !ok {
		return out, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, matter, preferred_day, status, day, created_at FROM dispute_consultations
		WHERE resident_id = $1 AND preferred_day <> '' ORDER BY id DESC LIMIT 20`, m.ID)
	if err != nil {
		return nil, fmt.Errorf("alliance: my bookings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b Booking
		if err := rows.Scan(&b.ID, &b.Matter, &b.PreferredDay, &b.Status, &b.Day, &b.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// FindParties finds active residents of the staff's town by a part of the name or the start of
// the phone, for the intake and party forms.
func (s *Service) FindParties(ctx context.Context, a *auth.Actor, townID int64, q string) ([]ResidentChoice, error) {
	townID, err := disputeTown(a, townID)
	if err != nil {
		return nil, err
	}
	return s.findResidents(ctx, s.DB.Read(), townID, nil, q)
}

// DisputeCounts are the centre's figures outside it: counts only, no names and no matters.
type DisputeCounts struct {
	Consultations int            `json:"consultations"`
	Booked        int            `json:"booked"`
	BecameCases   int            `json:"became_cases"`
	Cases         int            `json:"cases"`
	ByOutcome     map[string]int `json:"by_outcome"`
	Overdue       int            `json:"overdue"`
	MedianDays    float64        `json:"median_days"`
}

// DisputeCounts are a town's centre figures, for its staff and for whoever manages the town's alliance
// (PermManage): counts only.
func (s *Service) DisputeCounts(ctx context.Context, a *auth.Actor, townID int64) (DisputeCounts, error) {
	townID = townOf(a, townID)
	out := DisputeCounts{ByOutcome: map[string]int{}}
	if !handlesDisputes(a, townID) && !manages(a, townID) {
		return out, auth.Refuse(a, PermManage)
	}
	q := s.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'booked' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN became_case THEN 1 ELSE 0 END), 0)
		FROM dispute_consultations WHERE town_id = $1`, townID).Scan(&out.Consultations, &out.Booked, &out.BecameCases); err != nil {
		return out, fmt.Errorf("alliance: dispute counts: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT status, COUNT(*) FROM dispute_cases WHERE town_id = $1 GROUP BY status`, townID)
	if err != nil {
		return out, fmt.Errorf("alliance: dispute counts: %w", err)
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return out, err
		}
		out.ByOutcome[st] = n
		out.Cases += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM dispute_cases WHERE town_id = $1 AND status = 'mediating' AND due_at < $2`, townID, s.Now()).Scan(&out.Overdue); err != nil {
		return out, fmt.Errorf("alliance: dispute counts: %w", err)
	}
	closed, err := q.QueryContext(ctx, `SELECT created_at, closed_at FROM dispute_cases WHERE town_id = $1 AND closed_at IS NOT NULL`, townID)
	if err != nil {
		return out, fmt.Errorf("alliance: dispute counts: %w", err)
	}
	defer closed.Close()
	var days []float64
	for closed.Next() {
		var from, to time.Time
		if err := closed.Scan(&from, &to); err != nil {
			return out, err
		}
		days = append(days, to.Sub(from).Hours()/24)
	}
	out.MedianDays = disputeMedian(days)
	return out, closed.Err()
}

// disputeMedian is the middle of the values, rounded to a tenth; 0 for none.
func disputeMedian(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return float64(int(m*10+0.5)) / 10
}

// DisputeTodos are what waits for the centre's staff: bookings to answer and cases past their
// time to mediate, for the pillar's Todos. Anyone else has none.
func (s *Service) DisputeTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	townID, err := disputeTown(a, 0)
	if err != nil {
		return nil, nil
	}
	var booked, overdue int
	q := s.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM dispute_consultations WHERE town_id = $1 AND status = 'booked'`, townID).Scan(&booked); err != nil {
		return nil, fmt.Errorf("alliance: dispute todos: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM dispute_cases WHERE town_id = $1 AND status = 'mediating' AND due_at < $2`, townID, s.Now()).Scan(&overdue); err != nil {
		return nil, fmt.Errorf("alliance: dispute todos: %w", err)
	}
	return []web.Todo{{Key: "alliance.dispute.todo_booked", Count: booked, Path: "/admin/disputes/consultations?booked=1"},
		{Key: "alliance.dispute.todo_overdue", Count: overdue, Path: "/admin/disputes/cases?overdue=1"}}, nil
}

// DisputeFigures are the centre's headline numbers for its own staff's overview of the town:
// consultations and cases, counts only, linking to the centre's lists. Others get none here (the
// alliance's figures may show DisputeCounts to those who manage the town).
func (s *Service) DisputeFigures(ctx context.Context, a *auth.Actor, townID int64) ([]web.Figure, error) {
	if !handlesDisputes(a, townOf(a, townID)) {
		return nil, nil
	}
	c, err := s.DisputeCounts(ctx, a, townID)
	if err != nil {
		return nil, err
	}
	return []web.Figure{{Key: "alliance.dispute.fig.consultations", Value: int64(c.Consultations), Path: "/admin/disputes/consultations"},
		{Key: "alliance.dispute.fig.cases", Value: int64(c.Cases), Path: "/admin/disputes/cases"},
		{Key: "alliance.dispute.status.filed", Value: int64(c.ByOutcome[CaseFiled]), Path: "/admin/disputes/cases?status=filed"}}, nil
}
