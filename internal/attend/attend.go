// Package attend is the kit's attendance model (签到), shared by every pillar: an event (a lesson,
// a meeting, an activity) with its roll, and check-ins taken four ways: the attendee scanning the
// event's QR, which rotates so that a photo sent home does not count; a roll call by staff, for
// those without a phone; a check-in link for an online event, valid only while it runs; and a
// printed sign-in sheet (签到表) whose ticks staff type back. Person-times and distinct attendees
// are counted from it. The pillar that owns an event decides who may see it and act on it, and
// pays the points its attendance earns through the bank; the kit keeps the bank's answer beside
// the entry.
package attend

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"siwei/internal/db"
	"siwei/internal/errs"
)

// The ways of checking in.
const (
	QR    = "qr"    // the attendee scanned the event's rotating QR on arrival
	Roll  = "roll"  // staff called the roll
	Link  = "link"  // the attendee opened an online event's check-in link while it ran
	Sheet = "sheet" // staff typed back a tick of the printed sign-in sheet
)

// The windows of the self check-ins: the QR shown at the door changes every QRPeriod and a scan
// is taken of the code on screen or the one before it; check-in opens Early before the start and
// closes at the end (a QR scan: Late after it, for those who arrive as it ends).
const (
	QRPeriod = 30 * time.Second
	Early    = 30 * time.Minute
	Late     = 15 * time.Minute
)

// Service keeps events and their rolls.
type Service struct {
	DB  *db.DB
	Key []byte // signs the QR and link tokens
	Now func() time.Time
	// Zone is a town's time zone, whose calendar the person-months (attend_months) follow.
	Zone func(ctx context.Context, townID int64) (*time.Location, error)
}

// New returns the attendance service, signing its tokens with key.
func New(d *db.DB, key []byte) *Service { return &Service{DB: d, Key: key, Now: db.Now} }

// Event is something people attend, of a pillar's record: Kind names the record's kind
// ("school.lesson") and RefID its id.
type Event struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	RefID       int64     `json:"ref_id"`
	TownID      int64     `json:"town_id"`
	VillageID   int64     `json:"village_id,omitzero"`
	Title       string    `json:"title"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	Online      bool      `json:"online"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
	ClosedBy    string    `json:"closed_by,omitempty"`
	CancelledAt time.Time `json:"cancelled_at,omitzero"`
}

// Open reports whether self check-ins are taken at now: not cancelled, the roll not closed, and
// within the event's window.
func (e Event) Open(now time.Time) bool {
	return e.CancelledAt.IsZero() && e.ClosedAt.IsZero() && !now.Before(e.StartsAt.Add(-Early)) && !now.After(e.EndsAt)
}

// Entry is a person on an event's roll, and their check-in.
type Entry struct {
	ResidentID    int64     `json:"resident_id"`
	Name          string    `json:"name"`
	VillageName   string    `json:"village_name"`
	PartyMember   bool      `json:"party_member"`
	Invited       bool      `json:"invited"`
	CheckedInAt   time.Time `json:"checked_in_at,omitzero"`
	Method        string    `json:"method,omitempty"`
	CheckedBy     string    `json:"checked_by,omitempty"`
	TransactionID int64     `json:"transaction_id,omitzero"`
	PayNote       string    `json:"pay_note,omitempty"` // why attending was not paid: a message key
}

// Checked reports whether the person checked in.
func (e Entry) Checked() bool { return !e.CheckedInAt.IsZero() }

// Counts are an event's roll and how many of it checked in (person-times).
type Counts struct {
	Roll    int `json:"roll"`
	Checked int `json:"checked"`
}

var notFound = errs.New(errs.NotFound, "error.not_found")

const eventCols = `id, kind, ref_id, town_id, COALESCE(village_id, 0), title, starts_at, ends_at, online, closed_at, closed_by, cancelled_at`

func scanEvent(sc interface{ Scan(...any) error }) (Event, error) {
	var e Event
	var closed, cancelled sql.NullTime
	err := sc.Scan(&e.ID, &e.Kind, &e.RefID, &e.TownID, &e.VillageID, &e.Title, &e.StartsAt, &e.EndsAt, &e.Online, &closed, &e.ClosedBy, &cancelled)
	e.ClosedAt, e.CancelledAt = closed.Time, cancelled.Time
	return e, err
}

// Ensure returns the event of a pillar's record, creating it from in when it has none yet (two
// racing make one). Its time and title follow the record's while the roll is open.
func (s *Service) Ensure(ctx context.Context, q db.Querier, in Event) (Event, error) {
	if in.Kind == "" || in.RefID <= 0 || in.TownID <= 0 || !in.EndsAt.After(in.StartsAt) {
		return Event{}, fmt.Errorf("attend: event of %s %d: kind, record, town and a time span are required", in.Kind, in.RefID)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO attend_events (kind, ref_id, town_id, village_id, title, starts_at, ends_at, online, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (kind, ref_id) DO UPDATE SET title = excluded.title, starts_at = excluded.starts_at,
		ends_at = excluded.ends_at, online = excluded.online WHERE attend_events.closed_at IS NULL AND attend_events.cancelled_at IS NULL`,
		in.Kind, in.RefID, in.TownID, db.NullID(in.VillageID), in.Title, in.StartsAt.UTC(), in.EndsAt.UTC(), in.Online, s.Now())
	if err != nil {
		return Event{}, fmt.Errorf("attend: ensure %s %d: %w", in.Kind, in.RefID, err)
	}
	return s.EventOf(ctx, q, in.Kind, in.RefID)
}

// EventOf is the event of a pillar's record, or NotFound.
func (s *Service) EventOf(ctx context.Context, q db.Querier, kind string, refID int64) (Event, error) {
	e, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventCols+` FROM attend_events WHERE kind = $1 AND ref_id = $2`, kind, refID))
	if db.IsNoRows(err) {
		return Event{}, notFound
	}
	if err != nil {
		return Event{}, fmt.Errorf("attend: event of %s %d: %w", kind, refID, err)
	}
	return e, nil
}

// Event is an event by id, or NotFound. It checks no scope: the pillar that owns it does.
func (s *Service) Event(ctx context.Context, q db.Querier, id int64) (Event, error) {
	e, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventCols+` FROM attend_events WHERE id = $1`, id))
	if db.IsNoRows(err) {
		return Event{}, notFound
	}
	if err != nil {
		return Event{}, fmt.Errorf("attend: event %d: %w", id, err)
	}
	return e, nil
}

// Enrol puts on an event's roll, by membership, the active residents a condition on the residents
// table r picks (its arguments numbered from $2); those already on it stay as they are. A pillar
// calls it while the roll is open, so that someone who joined since is on it.
func (s *Service) Enrol(ctx context.Context, q db.Querier, eventID int64, where string, args ...any) error {
	res, err := q.ExecContext(ctx, `INSERT INTO attend_entries (event_id, resident_id, invited)
		SELECT $1, r.id, FALSE FROM residents r WHERE r.status = 'active' AND (`+where+`) ON CONFLICT (event_id, resident_id) DO NOTHING`,
		append([]any{eventID}, args...)...)
	if err != nil {
		return fmt.Errorf("attend: enrol %d: %w", eventID, err)
	}
	n, _ := res.RowsAffected()
	return s.count(ctx, q, eventID, "roll_count", n)
}

// count moves one of an event's counters by n.
func (s *Service) count(ctx context.Context, q db.Querier, eventID int64, column string, n int64) error {
	if n == 0 {
		return nil
	}
	if _, err := q.ExecContext(ctx, `UPDATE attend_events SET `+column+` = `+column+` + $1 WHERE id = $2`, n, eventID); err != nil {
		return fmt.Errorf("attend: count %d: %w", eventID, err)
	}
	return nil
}

// month is the month of the town's calendar an event falls in: 2026-12.
func (s *Service) month(ctx context.Context, ev Event) (string, error) {
	loc := time.UTC
	if s.Zone != nil {
		var err error
		if loc, err = s.Zone(ctx, ev.TownID); err != nil {
			return "", err
		}
	}
	return ev.StartsAt.In(loc).Format("2006-01"), nil
}

// attended adds a check-in of each resident named to their person-month of the event's kind.
func (s *Service) attended(ctx context.Context, q db.Querier, ev Event, residentIDs []int64) error {
	m, err := s.month(ctx, ev)
	if err != nil {
		return err
	}
	p := s.DB.Params()
	if _, err := q.ExecContext(ctx, `INSERT INTO attend_months (kind, town_id, month, party, village_id, resident_id, events)
		SELECT `+p.Add(ev.Kind)+`, `+p.Add(ev.TownID)+`, `+p.Add(m)+`, r.party_member, r.village_id, r.id, 1 FROM residents r WHERE r.id IN (`+p.List(residentIDs)+`)
		ON CONFLICT (kind, town_id, month, party, village_id, resident_id) DO UPDATE SET events = attend_months.events + 1`, p.Args...); err != nil {
		return fmt.Errorf("attend: months of %d: %w", ev.ID, err)
	}
	return nil
}

// unattended takes a check-in back from a resident's person-month: the row goes with its last.
func (s *Service) unattended(ctx context.Context, q db.Querier, ev Event, residentID int64) error {
	m, err := s.month(ctx, ev)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM attend_months WHERE resident_id = $1 AND kind = $2 AND month = $3 AND town_id = $4 AND events <= 1`,
		residentID, ev.Kind, m, ev.TownID); err != nil {
		return fmt.Errorf("attend: month of %d: %w", ev.ID, err)
	}
	if _, err := q.ExecContext(ctx, `UPDATE attend_months SET events = events - 1 WHERE resident_id = $1 AND kind = $2 AND month = $3 AND town_id = $4`,
		residentID, ev.Kind, m, ev.TownID); err != nil {
		return fmt.Errorf("attend: month of %d: %w", ev.ID, err)
	}
	return nil
}

// Invite adds one person to the roll as invited; added is false when they were on it already.
func (s *Service) Invite(ctx context.Context, q db.Querier, eventID, residentID int64) (added bool, err error) {
	res, err := q.ExecContext(ctx, `INSERT INTO attend_entries (event_id, resident_id, invited) VALUES ($1, $2, TRUE) ON CONFLICT (event_id, resident_id) DO NOTHING`,
		eventID, residentID)
	if err != nil {
		return false, fmt.Errorf("attend: invite to %d: %w", eventID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, s.count(ctx, q, eventID, "roll_count", n)
}

// Uninvite takes an invited person who has not checked in off the roll; removed is false for
// anyone else.
func (s *Service) Uninvite(ctx context.Context, q db.Querier, eventID, residentID int64) (removed bool, err error) {
	res, err := q.ExecContext(ctx, `DELETE FROM attend_entries WHERE event_id = $1 AND resident_id = $2 AND invited AND checked_in_at IS NULL`, eventID, residentID)
	if err != nil {
		return false, fmt.Errorf("attend: uninvite from %d: %w", eventID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, s.count(ctx, q, eventID, "roll_count", -n)
}

const entryCols = `a.resident_id, r.name, v.name, r.party_member, a.invited, a.checked_in_at, a.method, a.checked_by, COALESCE(a.transaction_id, 0), a.pay_note`

func scanEntry(sc interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	var at sql.NullTime
	err := sc.Scan(&e.ResidentID, &e.Name, &e.VillageName, &e.PartyMember, &e.Invited, &at, &e.Method, &e.CheckedBy, &e.TransactionID, &e.PayNote)
	e.CheckedInAt = at.Time
	return e, err
}

// Roll lists an event's roll: the party members first, then by village and name.
func (s *Service) Roll(ctx context.Context, q db.Querier, eventID int64) ([]Entry, error) {
	return s.entries(ctx, q, `a.event_id = $1`, eventID)
}

// Entry is one person's entry on a roll, or NotFound when they are not on it.
func (s *Service) Entry(ctx context.Context, q db.Querier, eventID, residentID int64) (Entry, error) {
	list, err := s.entries(ctx, q, `a.event_id = $1 AND a.resident_id = $2`, eventID, residentID)
	if err != nil {
		return Entry{}, err
	}
	if len(list) == 0 {
		return Entry{}, notFound
	}
	return list[0], nil
}

func (s *Service) entries(ctx context.Context, q db.Querier, where string, args ...any) ([]Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+entryCols+` FROM attend_entries a JOIN residents r ON r.id = a.resident_id JOIN villages v ON v.id = r.village_id
		WHERE `+where+` ORDER BY a.invited, v.name, r.name, a.resident_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("attend: roll: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("attend: roll: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Counts are the roll and check-ins of each of the events named, by id.
func (s *Service) Counts(ctx context.Context, q db.Querier, ids []int64) (map[int64]Counts, error) {
	out := map[int64]Counts{}
	if len(ids) == 0 {
		return out, nil
	}
	p := s.DB.Params()
	rows, err := q.QueryContext(ctx, `SELECT id, roll_count, checked_count FROM attend_events WHERE id IN (`+p.List(ids)+`)`, p.Args...)
	if err != nil {
		return nil, fmt.Errorf("attend: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c Counts
		if err := rows.Scan(&id, &c.Roll, &c.Checked); err != nil {
			return nil, fmt.Errorf("attend: counts: %w", err)
		}
		out[id] = c
	}
	return out, rows.Err()
}

// ---- tokens

// QRToken is what the event's QR carries at a moment: the event, the period of QRPeriod it was
// shown in, and a MAC. A scan takes the code of the present period or the one before it.
func (s *Service) QRToken(eventID int64, at time.Time) string {
	id, slot := strconv.FormatInt(eventID, 10), strconv.FormatInt(at.Unix()/int64(QRPeriod/time.Second), 10)
	return "AQ1." + id + "." + slot + "." + s.mac("qr:"+id+":"+slot)
}

// LinkToken is what an online event's check-in link carries: the event and a MAC. It is taken
// only while the event runs.
func (s *Service) LinkToken(eventID int64) string {
	id := strconv.FormatInt(eventID, 10)
	return "AL1." + id + "." + s.mac("link:"+id)
}

func (s *Service) mac(msg string) string {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// Token is a parsed check-in token: the event it names and the way it checks in (QR or Link).
type Token struct {
	EventID int64
	Method  string
}

// ParseToken reads a QR or link token at now. A token not made here is refused on the field
// "token" as attend.token_invalid; a QR shown more than one period ago (a photo of an old code) as
// attend.qr_expired.
func (s *Service) ParseToken(token string, now time.Time) (Token, error) {
	bad := errs.Field("token", "attend.token_invalid")
	if len(token) > 100 {
		return Token{}, bad
	}
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) < 3 {
		return Token{}, bad
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || id <= 0 {
		return Token{}, bad
	}
	switch {
	case parts[0] == "AL1" && len(parts) == 3:
		if !hmac.Equal([]byte(parts[2]), []byte(s.mac("link:"+parts[1]))) {
			return Token{}, bad
		}
		return Token{EventID: id, Method: Link}, nil
	case parts[0] == "AQ1" && len(parts) == 4:
		slot, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil || !hmac.Equal([]byte(parts[3]), []byte(s.mac("qr:"+parts[1]+":"+parts[2]))) {
			return Token{}, bad
		}
		cur := now.Unix() / int64(QRPeriod/time.Second)
		if slot > cur || slot < cur-1 {
			return Token{}, errs.Field("token", "attend.qr_expired")
		}
		return Token{EventID: id, Method: QR}, nil
	}
	return Token{}, bad
}

// ---- checking in

// Checkin is one check-in: who, how (QR, Link, Roll, Sheet), by whom (the staff member's name for
// a roll call or sheet; empty for a self check-in), at when (now if zero).
type Checkin struct {
	ResidentID int64
	Method     string
	By         string
	At         time.Time
}

// Check records a check-in on an event's roll. The self check-ins (QR, Link) are taken only while
// the event is Open and only of someone on the roll; staff's (Roll, Sheet) also after the roll was
// closed, for a late correction, and put someone not on the roll on it as invited (the pillar
// decided they may be). A person checks in once: fresh is false when they had already, and their
// first check-in stands. A cancelled event takes none.
func (s *Service) Check(ctx context.Context, q db.Querier, ev Event, c Checkin) (e Entry, fresh bool, err error) {
	now := s.Now()
	if c.At.IsZero() {
		c.At = now
	}
	if !ev.CancelledAt.IsZero() {
		return Entry{}, false, errs.New(errs.Conflict, "attend.cancelled")
	}
	switch c.Method {
	case QR, Link:
		switch {
		case !ev.ClosedAt.IsZero():
			return Entry{}, false, errs.New(errs.Conflict, "attend.closed")
		case c.Method == Link && !ev.Online:
			return Entry{}, false, errs.Field("token", "attend.token_invalid")
		case now.Before(ev.StartsAt.Add(-Early)):
			return Entry{}, false, errs.Field("token", "attend.not_yet")
		case c.Method == Link && now.After(ev.EndsAt), c.Method == QR && now.After(ev.EndsAt.Add(Late)):
			return Entry{}, false, errs.Field("token", "attend.over")
		}
	case Roll, Sheet:
		if c.By == "" {
			return Entry{}, false, fmt.Errorf("attend: a %s check-in names who took it", c.Method)
		}
		if now.Before(ev.StartsAt.Add(-Early)) {
			return Entry{}, false, errs.New(errs.Conflict, "attend.not_yet")
		}
		if _, err := s.Invite(ctx, q, ev.ID, c.ResidentID); err != nil {
			return Entry{}, false, err
		}
	default:
		return Entry{}, false, errs.Field("method", "attend.method_invalid")
	}
	res, err := q.ExecContext(ctx, `UPDATE attend_entries SET checked_in_at = $1, method = $2, checked_by = $3
		WHERE event_id = $4 AND resident_id = $5 AND checked_in_at IS NULL`, c.At.UTC(), c.Method, c.By, ev.ID, c.ResidentID)
	if err != nil {
		return Entry{}, false, fmt.Errorf("attend: check in to %d: %w", ev.ID, err)
	}
	n, _ := res.RowsAffected()
	if n == 1 {
		if err := s.count(ctx, q, ev.ID, "checked_count", 1); err != nil {
			return Entry{}, false, err
		}
		if err := s.attended(ctx, q, ev, []int64{c.ResidentID}); err != nil {
			return Entry{}, false, err
		}
	}
	e, err = s.Entry(ctx, q, ev.ID, c.ResidentID)
	if errs.Is(err, errs.NotFound) {
		return Entry{}, false, errs.New(errs.Conflict, "attend.not_on_roll")
	}
	return e, n == 1, err
}

// CheckMany checks in, by staff (Roll or Sheet, by), everyone named who is on the roll and not
// checked in yet, in a few statements whatever their number (a sign-in sheet typed back), and
// answers those it checked in. Someone named who is not on the roll is left out: the pillar
// checks the names first.
func (s *Service) CheckMany(ctx context.Context, q db.Querier, ev Event, residentIDs []int64, method, by string) ([]int64, error) {
	if !ev.CancelledAt.IsZero() {
		return nil, errs.New(errs.Conflict, "attend.cancelled")
	}
	if method != Roll && method != Sheet || by == "" {
		return nil, fmt.Errorf("attend: check many into %d: a staff method and who took it are required", ev.ID)
	}
	now := s.Now()
	if now.Before(ev.StartsAt.Add(-Early)) {
		return nil, errs.New(errs.Conflict, "attend.not_yet")
	}
	if len(residentIDs) == 0 {
		return nil, nil
	}
	p := s.DB.Params()
	set := `checked_in_at = ` + p.Add(now.UTC()) + `, method = ` + p.Add(method) + `, checked_by = ` + p.Add(by)
	rows, err := q.QueryContext(ctx, `UPDATE attend_entries SET `+set+` WHERE event_id = `+p.Add(ev.ID)+
		` AND checked_in_at IS NULL AND resident_id IN (`+p.List(residentIDs)+`) RETURNING resident_id`, p.Args...)
	if err != nil {
		return nil, fmt.Errorf("attend: check many into %d: %w", ev.ID, err)
	}
	var fresh []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("attend: check many into %d: %w", ev.ID, err)
		}
		fresh = append(fresh, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(fresh) == 0 {
		return fresh, nil
	}
	if err := s.count(ctx, q, ev.ID, "checked_count", int64(len(fresh))); err != nil {
		return nil, err
	}
	if err := s.attended(ctx, q, ev, fresh); err != nil {
		return nil, err
	}
	return fresh, nil
}

// Undo takes back a check-in staff entered by mistake, while the roll is open and nothing was paid
// for it; undone is false when there was nothing to take back.
func (s *Service) Undo(ctx context.Context, q db.Querier, ev Event, residentID int64) (undone bool, err error) {
	if !ev.ClosedAt.IsZero() {
		return false, errs.New(errs.Conflict, "attend.closed")
	}
	res, err := q.ExecContext(ctx, `UPDATE attend_entries SET checked_in_at = NULL, method = '', checked_by = ''
		WHERE event_id = $1 AND resident_id = $2 AND checked_in_at IS NOT NULL AND transaction_id IS NULL`, ev.ID, residentID)
	if err != nil {
		return false, fmt.Errorf("attend: undo check-in to %d: %w", ev.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	if err := s.count(ctx, q, ev.ID, "checked_count", -1); err != nil {
		return false, err
	}
	return true, s.unattended(ctx, q, ev, residentID)
}

// Close ends the check-in of an event once it has started: closed is true for the call that
// closed it, false when it was closed already. A cancelled event cannot be closed.
func (s *Service) Close(ctx context.Context, q db.Querier, ev Event, by string) (closed bool, err error) {
	if !ev.CancelledAt.IsZero() {
		return false, errs.New(errs.Conflict, "attend.cancelled")
	}
	if s.Now().Before(ev.StartsAt) {
		return false, errs.New(errs.Conflict, "attend.not_started")
	}
	res, err := q.ExecContext(ctx, `UPDATE attend_events SET closed_at = $1, closed_by = $2 WHERE id = $3 AND closed_at IS NULL AND cancelled_at IS NULL`, s.Now(), by, ev.ID)
	if err != nil {
		return false, fmt.Errorf("attend: close %d: %w", ev.ID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Cancel marks the event of a pillar's record cancelled, if it has one whose roll is still open:
// it takes no check-in after, and its attendance counts for nothing. A closed roll is refused
// (attend.closed): its attendance may have been paid.
func (s *Service) Cancel(ctx context.Context, q db.Querier, kind string, refID int64) error {
	ev, err := s.EventOf(ctx, q, kind, refID)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !ev.ClosedAt.IsZero() {
		return errs.New(errs.Conflict, "attend.closed")
	}
	res, err := q.ExecContext(ctx, `UPDATE attend_events SET cancelled_at = $1 WHERE id = $2 AND cancelled_at IS NULL`, s.Now(), ev.ID)
	if err != nil {
		return fmt.Errorf("attend: cancel %d: %w", ev.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil
	}
	// Its check-ins count for nothing: each leaves its person-month.
	rows, err := q.QueryContext(ctx, `SELECT resident_id FROM attend_entries WHERE event_id = $1 AND checked_in_at IS NOT NULL`, ev.ID)
	if err != nil {
		return fmt.Errorf("attend: cancel %d: %w", ev.ID, err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("attend: cancel %d: %w", ev.ID, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.unattended(ctx, q, ev, id); err != nil {
			return err
		}
	}
	return nil
}

// Unpaid are the checked-in entries of a closed event that have no answer from the bank yet, the
// party members only when partyOnly.
func (s *Service) Unpaid(ctx context.Context, q db.Querier, eventID int64, partyOnly bool) ([]Entry, error) {
	where := `a.event_id = $1 AND a.checked_in_at IS NOT NULL AND a.transaction_id IS NULL AND a.pay_note = ''`
	if partyOnly {
		where += ` AND r.party_member`
	}
	return s.entries(ctx, q, where, eventID)
}

// Paid keeps the bank's answer to an entry's earning: its transaction, or the message key of why
// it was not paid.
func (s *Service) Paid(ctx context.Context, q db.Querier, eventID, residentID, transactionID int64, note string) error {
	_, err := q.ExecContext(ctx, `UPDATE attend_entries SET transaction_id = $1, pay_note = $2 WHERE event_id = $3 AND resident_id = $4`,
		db.NullID(transactionID), note, eventID, residentID)
	if err != nil {
		return fmt.Errorf("attend: paid on %d: %w", eventID, err)
	}
	return nil
}
