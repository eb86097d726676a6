package consult

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/attend"
	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/web"
)

// MeetingKind names a meeting's event on the kit's attendance model.
const MeetingKind = "consult.meeting"

// A meeting's states: planned until it is closed with its minutes and decisions, or cancelled.
const (
	MeetingPlanned   = "planned"
	MeetingClosed    = "closed"
	MeetingCancelled = "cancelled"
)

// A registration's states: within the capacity, waiting for a place, or cancelled.
const (
	RegRegistered = "registered"
	RegWaiting    = "waiting"
	RegCancelled  = "cancelled"
)

// MeetingLevels are the levels of a meeting: a village's 村级议事会, the town's 镇级议事厅, or the
// district's 议事厅 extended to a village.
var MeetingLevels = []string{"village", "town", "district"}

// ParticipantKinds are the types of people who take part in a meeting: 区政协委员, 民主党派成员,
// 职能部门, 村党支部书记, 村两委, 第三方机构, 村民代表, 村民小组长, 居民.
var ParticipantKinds = []string{"cppcc", "party", "department", "secretary", "committee", "third_party", "representative", "group_leader", "resident"}

// Bounds of a meeting's text.
const (
	maxMeetingTitle   = 60
	maxMeetingPlace   = 100
	maxMeetingText    = 500
	maxMeetingHost    = 30
	maxMeetingBody    = 2000
	maxMeetingMinutes = 10000
	maxMeetingCap     = 10000
)

// Meeting is a 协商议事会: where and when, who hosts it, whether residents may register and how
// many, and, once held, its site notes, minutes, attendance and decisions. The lists are filled
// by MeetingDetail for what the caller may see.
type Meeting struct {
	ID          int64     `json:"id"`
	TownID      int64     `json:"town_id"`
	VillageID   int64     `json:"village_id,omitzero"`
	VillageName string    `json:"village_name"`
	Level       string    `json:"level"`
	Title       string    `json:"title"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	Place       string    `json:"place"`
	SiteVisit   string    `json:"site_visit,omitempty"`
	Host        string    `json:"host"`
	Open        bool      `json:"open"`
	Capacity    int       `json:"capacity"`
	Status      string    `json:"status"`
	SiteNotes   string    `json:"site_notes,omitempty"`
	Minutes     string    `json:"minutes,omitempty"`
	NoDecision  bool      `json:"no_decision"`
	Attendance  int       `json:"attendance"`
	Reason      string    `json:"reason,omitempty"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
	ClosedBy    string    `json:"closed_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Registered  int       `json:"registered"`
	Waiting     int       `json:"waiting"`
	// Hosts is whether the caller hosts it; Mine the caller's registration ("" for none);
	// CanRegister whether they may register now.
	Hosts       bool   `json:"hosts"`
	Mine        string `json:"mine,omitempty"`
	CanRegister bool   `json:"can_register"`
}

// AgendaTopic is a topic on a meeting's agenda and what became of it.
type AgendaTopic struct {
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	Status   string `json:"status"`
	Outcome  string `json:"outcome,omitempty"`
	Supports int    `json:"supports"`
}

// Participant is someone who takes part in a meeting, by type: a resident of the scope (on the
// attendance roll) or a contact from outside with a unit and phone, marked present by staff.
type Participant struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Unit       string `json:"unit,omitempty"`
	Phone      string `json:"phone,omitempty"`
	ResidentID int64  `json:"resident_id,omitzero"`
	HasAccount bool   `json:"has_account"`
	Present    bool   `json:"present"`
}

// Registration is a resident's registration for an open meeting.
type Registration struct {
	ResidentID  int64     `json:"resident_id"`
	Name        string    `json:"name"`
	VillageName string    `json:"village_name"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
}

// Opinion is what a participant said at the meeting (你说我听 我说你听), in their capacity (Kind, a
// participant type), optionally on a topic of the agenda. To anyone but the hosts a resident
// speaker shows by type and surname only.
type Opinion struct {
	ID            int64     `json:"id"`
	ParticipantID int64     `json:"participant_id,omitzero"`
	TopicID       int64     `json:"topic_id,omitzero"`
	TopicTitle    string    `json:"topic_title,omitempty"`
	Speaker       string    `json:"speaker"`
	Kind          string    `json:"kind"`
	Body          string    `json:"body"`
	CreatedAt     time.Time `json:"created_at"`
}

// Decision is a 协商成果 of the meeting, on a topic of its agenda or on the meeting as a whole.
type Decision struct {
	ID         int64     `json:"id"`
	TopicID    int64     `json:"topic_id,omitzero"`
	TopicTitle string    `json:"topic_title,omitempty"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

// RollEntry is a resident expected at the meeting (registered, or a resident participant) and
// whether they checked in on the kit's roll.
type RollEntry struct {
	ResidentID int64     `json:"resident_id"`
	Name       string    `json:"name"`
	Checked    bool      `json:"checked"`
	CheckedAt  time.Time `json:"checked_at,omitzero"`
}

// MeetingDetail is a meeting with its agenda and record: the hosts see everything; a resident of
// its scope sees the agenda, and after closing the site notes, opinions (resident speakers by
// surname) and decisions.
type MeetingDetail struct {
	Meeting
	Agenda        []AgendaTopic  `json:"agenda"`
	Participants  []Participant  `json:"participants,omitempty"`
	Registrations []Registration `json:"registrations,omitempty"`
	Roll          []RollEntry    `json:"roll,omitempty"`
	Checked       int            `json:"checked"`
	Opinions      []Opinion      `json:"opinions"`
	Decisions     []Decision     `json:"decisions"`
}

// MeetingInput is a meeting to create or edit. StartsAt and EndsAt are Beijing (the town's) wall
// time, "2026-12-10 09:00" or "2026-12-10T09:00". VillageID 0 is the whole town (level town only).
type MeetingInput struct {
	TownID    int64  `json:"town_id,omitzero"`
	VillageID int64  `json:"village_id"`
	Level     string `json:"level"`
	Title     string `json:"title"`
	StartsAt  string `json:"starts_at"`
	EndsAt    string `json:"ends_at"`
	Place     string `json:"place"`
	SiteVisit string `json:"site_visit"`
	Host      string `json:"host"`
	Open      bool   `json:"open"`
	Capacity  int    `json:"capacity"`
}

// ParticipantInput adds a participant: a resident of the scope (resident_id, found by search), or
// a contact from outside (name, unit, phone). A login with the same resident or phone is linked.
type ParticipantInput struct {
	Kind       string `json:"kind"`
	ResidentID int64  `json:"resident_id,omitzero"`
	Name       string `json:"name,omitempty"`
	Unit       string `json:"unit,omitempty"`
	Phone      string `json:"phone,omitempty"`
}

// OpinionInput records what a participant said, optionally on an agenda topic.
type OpinionInput struct {
	ParticipantID int64  `json:"participant_id"`
	TopicID       int64  `json:"topic_id,omitzero"`
	Body          string `json:"body"`
}

// DecisionInput records a decision, optionally for an agenda topic.
type DecisionInput struct {
	TopicID int64  `json:"topic_id,omitzero"`
	Body    string `json:"body"`
}

// CloseInput closes a meeting: its minutes (or those saved before), the attendance when counted
// by hand (else the check-ins and outside participants present), and no_decision when the meeting
// reached none.
type CloseInput struct {
	Minutes    string `json:"minutes"`
	Attendance int    `json:"attendance,omitzero"`
	NoDecision bool   `json:"no_decision"`
}

// CheckinInput checks residents in on the roll (resident_ids) and marks participants from
// outside present (participant_ids).
type CheckinInput struct {
	ResidentIDs    []int64 `json:"resident_ids"`
	ParticipantIDs []int64 `json:"participant_ids"`
}

// ResidentChoice is a resident of the meeting's scope found by name, to add as a participant.
type ResidentChoice struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	VillageName string `json:"village_name"`
}

const meetingCols = `m.id, m.town_id, COALESCE(m.village_id, 0), COALESCE(v.name, ''), m.level, m.title, m.starts_at, m.ends_at, m.place, m.site_visit,
	m.host, m.open, m.capacity, m.status, m.site_notes, m.minutes, m.no_decision, m.attendance, m.reason, m.closed_at, m.closed_by, m.created_at, m.updated_at,
	(SELECT COUNT(*) FROM consult_registrations g WHERE g.meeting_id = m.id AND g.status = 'registered'),
	(SELECT COUNT(*) FROM consult_registrations g WHERE g.meeting_id = m.id AND g.status = 'waiting')`

const meetingFrom = ` FROM consult_meetings m LEFT JOIN villages v ON v.id = m.village_id `

func scanMeeting(sc interface{ Scan(...any) error }) (Meeting, error) {
	var m Meeting
	var closed sql.NullTime
	err := sc.Scan(&m.ID, &m.TownID, &m.VillageID, &m.VillageName, &m.Level, &m.Title, &m.StartsAt, &m.EndsAt, &m.Place, &m.SiteVisit,
		&m.Host, &m.Open, &m.Capacity, &m.Status, &m.SiteNotes, &m.Minutes, &m.NoDecision, &m.Attendance, &m.Reason, &closed, &m.ClosedBy,
		&m.CreatedAt, &m.UpdatedAt, &m.Registered, &m.Waiting)
	m.ClosedAt = closed.Time
	return m, err
}

// meeting reads a meeting with no check of who asks.
func (s *Service) meeting(ctx context.Context, q db.Querier, id int64) (Meeting, error) {
	m, err := scanMeeting(q.QueryRowContext(ctx, `SELECT `+meetingCols+meetingFrom+`WHERE m.id = $1`, id))
	if db.IsNoRows(err) {
		return m, notFound
	}
	if err != nil {
		return m, fmt.Errorf("consult: meeting %d: %w", id, err)
	}
	return m, nil
}

// meetingFor reads a meeting the actor may see: its hosts, and the residents of its scope. Anyone
// else gets NotFound, exactly as for a missing one.
func (s *Service) meetingFor(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Meeting, Me, bool, error) {
	m, err := s.meeting(ctx, q, id)
	if err != nil {
		return m, Me{}, false, err
	}
	me, ok, err := s.me(ctx, q, a)
	if err != nil {
		return m, me, ok, err
	}
	m.Hosts = hosts(a, m.TownID, m.VillageID)
	if !m.Hosts && !(ok && me.inScope(m.TownID, m.VillageID)) {
		return m, me, ok, notFound
	}
	return m, me, ok, nil
}

// meetingHosted reads a meeting the actor hosts: a resident of its scope is forbidden, anyone else
// refused as refuse says.
func (s *Service) meetingHosted(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Meeting, error) {
	if a == nil || a.AccountID == 0 {
		return Meeting{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	m, _, _, err := s.meetingFor(ctx, q, a, id)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return m, auth.Refuse(a, PermHost)
		}
		return m, err
	}
	if !m.Hosts {
		return m, errs.New(errs.Forbidden, "error.forbidden")
	}
	return m, nil
}

// meetingPlanned is meetingHosted for a change that only a planned meeting takes.
func (s *Service) meetingPlanned(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Meeting, error) {
	m, err := s.meetingHosted(ctx, q, a, id)
	if err == nil && m.Status != MeetingPlanned {
		err = errs.New(errs.Conflict, "consult.meeting.not_planned")
	}
	return m, err
}

// meetingTime parses a wall time of the town's zone.
func meetingTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), true
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// checkMeeting validates a meeting's fields, naming each one wrong, and returns its times.
func (s *Service) checkMeeting(ctx context.Context, in *MeetingInput) (time.Time, time.Time, error) {
	in.Title, in.Place, in.SiteVisit, in.Host = strings.TrimSpace(in.Title), strings.TrimSpace(in.Place), strings.TrimSpace(in.SiteVisit), strings.TrimSpace(in.Host)
	var f errs.Fields
	if !slices.Contains(MeetingLevels, in.Level) {
		f.Add("level", "consult.meeting.level_invalid")
	}
	if in.Level != "town" && in.Level != "" && in.VillageID == 0 {
		f.Add("village_id", "consult.meeting.village_required")
	}
	f.Text("title", in.Title, maxMeetingTitle, true)
	f.Text("place", in.Place, maxMeetingPlace, true)
	f.Text("site_visit", in.SiteVisit, maxMeetingText, false)
	f.Text("host", in.Host, maxMeetingHost, true)
	loc, err := s.People.Zone(ctx, in.TownID)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	start, ok1 := meetingTime(in.StartsAt, loc)
	end, ok2 := meetingTime(in.EndsAt, loc)
	switch {
	case in.StartsAt == "":
		f.Add("starts_at", "field.required")
	case !ok1:
		f.Add("starts_at", "consult.meeting.invalid_value")
	}
	switch {
	case in.EndsAt == "":
		f.Add("ends_at", "field.required")
	case !ok2:
		f.Add("ends_at", "consult.meeting.invalid_value")
	case ok1 && !end.After(start):
		f.Add("ends_at", "consult.meeting.ends_before")
	}
	if in.Capacity < 0 || in.Capacity > maxMeetingCap {
		f.Add("capacity", "consult.meeting.invalid_value")
	} else if in.Open && in.Capacity == 0 {
		f.Add("capacity", "consult.meeting.capacity_required")
	}
	if !in.Open {
		in.Capacity = 0
	}
	return start, end, f.Err()
}

// CreateMeeting plans a meeting: the hosts of its village, or the town's for a town-wide one.
func (s *Service) CreateMeeting(ctx context.Context, a *auth.Actor, in MeetingInput) (MeetingDetail, error) {
	if a == nil || a.AccountID == 0 {
		return MeetingDetail{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	townID, err := s.placeIn(ctx, s.DB.Read(), a, in.TownID, in.VillageID)
	if err != nil {
		if !hosts(a, a.TownID, 0) {
			return MeetingDetail{}, auth.Refuse(a, PermHost)
		}
		return MeetingDetail{}, err
	}
	if !hosts(a, townID, in.VillageID) {
		return MeetingDetail{}, auth.Refuse(a, PermHost)
	}
	in.TownID = townID
	start, end, err := s.checkMeeting(ctx, &in)
	if err != nil {
		return MeetingDetail{}, err
	}
	var id int64
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.Now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO consult_meetings (town_id, village_id, level, title, starts_at, ends_at, place, site_visit, host, open, capacity,
			created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id`,
			townID, db.NullID(in.VillageID), in.Level, in.Title, start, end, in.Place, in.SiteVisit, in.Host, in.Open, in.Capacity, a.AccountID, now).Scan(&id); err != nil {
			return fmt.Errorf("consult: insert meeting: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.meeting.create", Entity: "consult_meeting", EntityID: id, TownID: townID, VillageID: in.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"title": in.Title, "level": in.Level})})
	})
	if err != nil {
		return MeetingDetail{}, err
	}
	return s.MeetingDetail(ctx, a, id)
}

// UpdateMeeting edits a planned meeting's title, time, place, site visit, host and registration;
// its village and level stay. A capacity below the registered count is refused.
func (s *Service) UpdateMeeting(ctx context.Context, a *auth.Actor, id int64, in MeetingInput) (MeetingDetail, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.meetingPlanned(ctx, tx, a, id)
		if err != nil {
			return err
		}
		in.TownID, in.VillageID, in.Level = m.TownID, m.VillageID, m.Level
		start, end, err := s.checkMeeting(ctx, &in)
		if err != nil {
			return err
		}
		if in.Open && in.Capacity < m.Registered {
			return errs.Field("capacity", "consult.meeting.capacity_below", m.Registered)
		}
		if !in.Open && m.Registered+m.Waiting > 0 {
			return errs.Field("open", "consult.meeting.has_registrations")
		}
		res, err := tx.ExecContext(ctx, `UPDATE consult_meetings SET title = $1, starts_at = $2, ends_at = $3, place = $4, site_visit = $5, host = $6, open = $7,
			capacity = $8, updated_at = $9 WHERE id = $10 AND status = 'planned'`, in.Title, start, end, in.Place, in.SiteVisit, in.Host, in.Open, in.Capacity, s.Now(), id)
		if err != nil {
			return fmt.Errorf("consult: update meeting: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.New(errs.Conflict, "consult.meeting.not_planned")
		}
		if in.Capacity > m.Capacity {
			if err := s.meetingPromote(ctx, tx, m, in.Capacity-m.Registered); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.meeting.update", Entity: "consult_meeting", EntityID: id, TownID: m.TownID, VillageID: m.VillageID,
			Summary: auth.Summarize(map[string]any{"title": m.Title, "place": m.Place}, map[string]any{"title": in.Title, "place": in.Place})})
	})
	if err != nil {
		return MeetingDetail{}, err
	}
	return s.MeetingDetail(ctx, a, id)
}

// Meetings lists the meetings the actor hosts in a town, upcoming first (soonest first), then past
// ones (latest first); villageID narrows it to a village (NotFound outside what they host).
func (s *Service) Meetings(ctx context.Context, a *auth.Actor, townID, villageID int64) ([]Meeting, error) {
	if townID == 0 && a != nil {
		townID = a.TownID
	}
	all, villages := hostScope(a, townID)
	if !all && len(villages) == 0 {
		return nil, auth.Refuse(a, PermHost)
	}
	where := []string{fmt.Sprintf("m.town_id = %d", townID)}
	if !all {
		where = append(where, "m.village_id IN ("+db.IDList(villages)+")")
	}
	if villageID != 0 {
		if _, err := s.placeIn(ctx, s.DB.Read(), a, townID, villageID); err != nil || !hosts(a, townID, villageID) {
			return nil, notFound
		}
		where = append(where, fmt.Sprintf("m.village_id = %d", villageID))
	}
	list, err := s.listMeetings(ctx, s.DB.Read(), `WHERE `+strings.Join(where, " AND ")+` ORDER BY m.starts_at DESC, m.id DESC LIMIT 500`)
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Hosts = true
	}
	return meetingSplit(list, s.Now()), nil
}

// meetingSplit orders a list read latest first: the upcoming planned ones soonest first, then the
// rest as read.
func meetingSplit(list []Meeting, now time.Time) []Meeting {
	var up, past []Meeting
	for _, m := range list {
		if m.Status == MeetingPlanned && m.EndsAt.After(now) {
			up = append(up, m)
		} else {
			past = append(past, m)
		}
	}
	slices.Reverse(up)
	return append(append([]Meeting{}, up...), past...)
}

// MyMeetings lists a resident's village's and town's meetings: the upcoming planned ones with
// their registration, and the closed ones (whose minutes are published).
func (s *Service) MyMeetings(ctx context.Context, a *auth.Actor) ([]Meeting, error) {
	q := s.DB.Read()
	me, ok, err := s.me(ctx, q, a)
	if err != nil || !ok || !me.Active {
		return []Meeting{}, err
	}
	list, err := s.listMeetings(ctx, q, fmt.Sprintf(`WHERE m.town_id = %d AND (m.village_id IS NULL OR m.village_id = %d) AND (m.status = 'closed' OR (m.status = 'planned' AND m.ends_at > $1))
		ORDER BY m.starts_at DESC, m.id DESC LIMIT 300`, me.TownID, me.VillageID), s.Now())
	if err != nil {
		return nil, err
	}
	mine := map[int64]string{}
	rows, err := q.QueryContext(ctx, `SELECT meeting_id, status FROM consult_registrations WHERE resident_id = $1 AND status <> 'cancelled'`, me.ID)
	if err != nil {
		return nil, fmt.Errorf("consult: my registrations: %w", err)
	}
	for rows.Next() {
		var id int64
		var st string
		if err := rows.Scan(&id, &st); err != nil {
			rows.Close()
			return nil, err
		}
		mine[id] = st
	}
	rows.Close()
	for i := range list {
		m := &list[i]
		m.Mine = mine[m.ID]
		m.Hosts = hosts(a, m.TownID, m.VillageID)
		m.CanRegister = m.Status == MeetingPlanned && m.Open && m.StartsAt.After(s.Now()) && m.Mine == ""
	}
	return meetingSplit(list, s.Now()), nil
}

func (s *Service) listMeetings(ctx context.Context, q db.Querier, tail string, args ...any) ([]Meeting, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+meetingCols+meetingFrom+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("consult: meetings: %w", err)
	}
	defer rows.Close()
	out := []Meeting{}
	for rows.Next() {
		m, err := scanMeeting(rows)
		if err != nil {
			return nil, fmt.Errorf("consult: meetings: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MeetingDetail is a meeting as the caller may see it (MeetingDetail's doc says what each sees).
func (s *Service) MeetingDetail(ctx context.Context, a *auth.Actor, id int64) (MeetingDetail, error) {
	q := s.DB.Read()
	m, me, ok, err := s.meetingFor(ctx, q, a, id)
	if err != nil {
		return MeetingDetail{}, err
	}
	d := MeetingDetail{Meeting: m, Agenda: []AgendaTopic{}, Opinions: []Opinion{}, Decisions: []Decision{}}
	if ok {
		var st string
		err := q.QueryRowContext(ctx, `SELECT status FROM consult_registrations WHERE meeting_id = $1 AND resident_id = $2`, id, me.ID).Scan(&st)
		if err != nil && !db.IsNoRows(err) {
			return d, fmt.Errorf("consult: registration: %w", err)
		}
		if st != RegCancelled {
			d.Mine = st
		}
		d.CanRegister = me.inScope(m.TownID, m.VillageID) && m.Status == MeetingPlanned && m.Open && m.StartsAt.After(s.Now()) && d.Mine == ""
	}
	if d.Agenda, err = s.meetingAgenda(ctx, q, id); err != nil {
		return d, err
	}
	if !m.Hosts && m.Status != MeetingClosed {
		d.SiteNotes, d.Minutes, d.Attendance = "", "", 0
		return d, nil
	}
	if d.Opinions, err = s.meetingOpinions(ctx, q, id, m.Hosts); err != nil {
		return d, err
	}
	if d.Decisions, err = s.meetingDecisions(ctx, q, id); err != nil {
		return d, err
	}
	if !m.Hosts {
		return d, nil
	}
	if d.Participants, err = s.meetingParticipants(ctx, q, id); err != nil {
		return d, err
	}
	if d.Registrations, err = s.meetingRegistrations(ctx, q, id); err != nil {
		return d, err
	}
	if d.Roll, err = s.meetingRoll(ctx, q, id); err != nil {
		return d, err
	}
	for _, e := range d.Roll {
		if e.Checked {
			d.Checked++
		}
	}
	for _, p := range d.Participants {
		if p.ResidentID == 0 && p.Present {
			d.Checked++
		}
	}
	return d, nil
}

func (s *Service) meetingAgenda(ctx context.Context, q db.Querier, id int64) ([]AgendaTopic, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, title, status, outcome, supports FROM consult_topics WHERE meeting_id = $1 AND status IN ('accepted', 'decided')
		ORDER BY supports DESC, id`, id)
	if err != nil {
		return nil, fmt.Errorf("consult: agenda: %w", err)
	}
	defer rows.Close()
	out := []AgendaTopic{}
	for rows.Next() {
		var t AgendaTopic
		if err := rows.Scan(&t.ID, &t.Title, &t.Status, &t.Outcome, &t.Supports); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Service) meetingParticipants(ctx context.Context, q db.Querier, id int64) ([]Participant, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, kind, name, unit, phone, COALESCE(resident_id, 0), account_id IS NOT NULL, present FROM consult_participants
		WHERE meeting_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("consult: participants: %w", err)
	}
	defer rows.Close()
	out := []Participant{}
	for rows.Next() {
		var p Participant
		if err := rows.Scan(&p.ID, &p.Kind, &p.Name, &p.Unit, &p.Phone, &p.ResidentID, &p.HasAccount, &p.Present); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Service) meetingRegistrations(ctx context.Context, q db.Querier, id int64) ([]Registration, error) {
	rows, err := q.QueryContext(ctx, `SELECT g.resident_id, r.name, v.name, g.status, g.created_at FROM consult_registrations g
		JOIN residents r ON r.id = g.resident_id JOIN villages v ON v.id = r.village_id
		WHERE g.meeting_id = $1 AND g.status <> 'cancelled' ORDER BY CASE g.status WHEN 'registered' THEN 0 ELSE 1 END, g.created_at, g.resident_id`, id)
	if err != nil {
		return nil, fmt.Errorf("consult: registrations: %w", err)
	}
	defer rows.Close()
	out := []Registration{}
	for rows.Next() {
		var g Registration
		if err := rows.Scan(&g.ResidentID, &g.Name, &g.VillageName, &g.Status, &g.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Unchecked reports whether anyone expected at the meeting is not checked in yet: a resident on
// the roll, or an outside participant not marked present.
func (d MeetingDetail) Unchecked() bool {
	for _, e := range d.Roll {
		if !e.Checked {
			return true
		}
	}
	for _, p := range d.Participants {
		if p.ResidentID == 0 && !p.Present {
			return true
		}
	}
	return false
}

// meetingRoll is the residents expected (registered, or resident participants), with their
// check-in on the kit's roll when the event has one.
func (s *Service) meetingRoll(ctx context.Context, q db.Querier, id int64) ([]RollEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.name FROM residents r WHERE r.id IN (
		SELECT resident_id FROM consult_registrations WHERE meeting_id = $1 AND status = 'registered'
		UNION SELECT resident_id FROM consult_participants WHERE meeting_id = $1 AND resident_id IS NOT NULL) ORDER BY r.name, r.id`, id)
	if err != nil {
		return nil, fmt.Errorf("consult: roll: %w", err)
	}
	out := []RollEntry{}
	for rows.Next() {
		var e RollEntry
		if err := rows.Scan(&e.ResidentID, &e.Name); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ev, err := s.Attend.EventOf(ctx, q, MeetingKind, id)
	if errs.Is(err, errs.NotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	entries, err := s.Attend.Roll(ctx, q, ev.ID)
	if err != nil {
		return nil, err
	}
	at := map[int64]time.Time{}
	for _, e := range entries {
		if e.Checked() {
			at[e.ResidentID] = e.CheckedInAt
		}
	}
	for i := range out {
		if t, ok := at[out[i].ResidentID]; ok {
			out[i].Checked, out[i].CheckedAt = true, t
		}
	}
	return out, nil
}

// meetingMask writes a resident speaker as their surname and a mark: 张＊.
func meetingMask(name string) string {
	r, _ := utf8.DecodeRuneInString(name)
	if r == utf8.RuneError {
		return "＊"
	}
	return string(r) + "＊"
}

func (s *Service) meetingOpinions(ctx context.Context, q db.Querier, id int64, full bool) ([]Opinion, error) {
	rows, err := q.QueryContext(ctx, `SELECT o.id, COALESCE(o.participant_id, 0), COALESCE(o.topic_id, 0), COALESCE(t.title, ''), o.speaker, o.kind, o.body, o.created_at,
		p.resident_id IS NOT NULL FROM consult_opinions o LEFT JOIN consult_participants p ON p.id = o.participant_id LEFT JOIN consult_topics t ON t.id = o.topic_id
		WHERE o.meeting_id = $1 ORDER BY o.id`, id)
	if err != nil {
		return nil, fmt.Errorf("consult: opinions: %w", err)
	}
	defer rows.Close()
	out := []Opinion{}
	for rows.Next() {
		var o Opinion
		var resident sql.NullBool
		if err := rows.Scan(&o.ID, &o.ParticipantID, &o.TopicID, &o.TopicTitle, &o.Speaker, &o.Kind, &o.Body, &o.CreatedAt, &resident); err != nil {
			return nil, err
		}
		if !full {
			o.ParticipantID = 0
			if resident.Bool || o.Kind == "resident" {
				o.Speaker = meetingMask(o.Speaker)
			}
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func (s *Service) meetingDecisions(ctx context.Context, q db.Querier, id int64) ([]Decision, error) {
	rows, err := q.QueryContext(ctx, `SELECT d.id, COALESCE(d.topic_id, 0), COALESCE(t.title, ''), d.body, d.created_at FROM consult_decisions d
		LEFT JOIN consult_topics t ON t.id = d.topic_id WHERE d.meeting_id = $1 ORDER BY d.id`, id)
	if err != nil {
		return nil, fmt.Errorf("consult: decisions: %w", err)
	}
	defer rows.Close()
	out := []Decision{}
	for rows.Next() {
		var d Decision
		if err := rows.Scan(&d.ID, &d.TopicID, &d.TopicTitle, &d.Body, &d.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// FindResidents finds the residents of a meeting's scope by name (or the start of a phone), for
// its hosts to add as participants.
func (s *Service) FindResidents(ctx context.Context, a *auth.Actor, id int64, name string) ([]ResidentChoice, error) {
	q := s.DB.Read()
	m, err := s.meetingHosted(ctx, q, a, id)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return []ResidentChoice{}, nil
	}
	if utf8.RuneCountInString(name) > 20 {
		name = string([]rune(name)[:20])
	}
	cond, arg := `r.name LIKE $3`, "%"+strings.NewReplacer("%", "", "_", "").Replace(name)+"%"
	if strings.Trim(name, "0123456789") == "" {
		cond, arg = `r.phone LIKE $3`, name+"%"
	}
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.name, v.name FROM residents r JOIN villages v ON v.id = r.village_id
		WHERE r.status = 'active' AND v.town_id = $1 AND ($2 = 0 OR r.village_id = $2) AND `+cond+` ORDER BY r.name, r.id LIMIT 20`, m.TownID, m.VillageID, arg)
	if err != nil {
		return nil, fmt.Errorf("consult: find residents: %w", err)
	}
	defer rows.Close()
	out := []ResidentChoice{}
	for rows.Next() {
		var c ResidentChoice
		if err := rows.Scan(&c.ID, &c.Name, &c.VillageName); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddParticipant adds a participant to a planned meeting: a resident of its scope by id (a
// resident elsewhere is named not found), or a contact from outside with a name, unit and phone.
// A login of the same resident or phone is linked.
func (s *Service) AddParticipant(ctx context.Context, a *auth.Actor, id int64, in ParticipantInput) (Participant, error) {
	in.Name, in.Unit, in.Phone = strings.TrimSpace(in.Name), strings.TrimSpace(in.Unit), strings.TrimSpace(in.Phone)
	var p Participant
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.meetingPlanned(ctx, tx, a, id)
		if err != nil {
			return err
		}
		var f errs.Fields
		if !slices.Contains(ParticipantKinds, in.Kind) {
			f.Add("kind", "consult.meeting.kind_invalid")
		}
		var account sql.NullInt64
		if in.ResidentID != 0 {
			var town, village int64
			var status string
			err := tx.QueryRowContext(ctx, `SELECT r.name, r.phone, v.town_id, r.village_id, r.status FROM residents r JOIN villages v ON v.id = r.village_id WHERE r.id = $1`, in.ResidentID).
				Scan(&in.Name, &in.Phone, &town, &village, &status)
			if err != nil && !db.IsNoRows(err) {
				return fmt.Errorf("consult: participant resident: %w", err)
			}
			if err != nil || town != m.TownID || (m.VillageID != 0 && village != m.VillageID) || status != "active" {
				f.Add("resident_id", "consult.meeting.resident_not_found")
			} else if err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE resident_id = $1`, in.ResidentID).Scan(&account); err != nil && !db.IsNoRows(err) {
				return err
			}
			in.Unit = ""
		} else {
			if in.Kind == "resident" {
				f.Add("resident_id", "field.required")
			}
			f.Text("name", in.Name, 30, true)
			f.Text("unit", in.Unit, 60, in.Kind != "resident")
			f.Text("phone", in.Phone, 20, false)
			if in.Phone != "" && strings.Trim(in.Phone, "0123456789-+ ") != "" {
				f.Add("phone", "field.phone_invalid")
			}
			if in.Phone != "" {
				if err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, in.Phone).Scan(&account); err != nil && !db.IsNoRows(err) {
					return err
				}
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		if in.ResidentID != 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_participants WHERE meeting_id = $1 AND resident_id = $2`, id, in.ResidentID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return errs.Field("resident_id", "consult.meeting.already_participant", in.Name)
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO consult_participants (meeting_id, kind, name, unit, phone, resident_id, account_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, id, in.Kind, in.Name, in.Unit, in.Phone, db.NullID(in.ResidentID), db.NullID(account.Int64), s.Now()).Scan(&p.ID); err != nil {
			return fmt.Errorf("consult: participant: %w", err)
		}
		p = Participant{ID: p.ID, Kind: in.Kind, Name: in.Name, Unit: in.Unit, Phone: in.Phone, ResidentID: in.ResidentID, HasAccount: account.Valid}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.meeting.participant", Entity: "consult_meeting", EntityID: id, TownID: m.TownID, VillageID: m.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"name": in.Name, "kind": in.Kind})})
	})
	return p, err
}

// Register registers the caller, a resident of the meeting's scope, for an open planned meeting
// that has not started: within the capacity, or on the waiting list. The meeting's row is taken
// (a compare-and-set on its status) before the registered are counted, so that two racing for
// the last place cannot both get it. Registering again changes nothing.
func (s *Service) Register(ctx context.Context, a *auth.Actor, id int64) (MeetingDetail, error) {
	if a == nil || a.AccountID == 0 {
		return MeetingDetail{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, me, ok, err := s.meetingFor(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !ok || !me.inScope(m.TownID, m.VillageID) {
			return errs.New(errs.Forbidden, "consult.meeting.register_residents")
		}
		if m.Status != MeetingPlanned || !m.Open || !m.StartsAt.After(s.Now()) {
			return errs.New(errs.Conflict, "consult.meeting.not_open")
		}
		now := s.Now()
		res, err := tx.ExecContext(ctx, `UPDATE consult_meetings SET updated_at = $1 WHERE id = $2 AND status = 'planned'`, now, id)
		if err != nil {
			return fmt.Errorf("consult: register: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.New(errs.Conflict, "consult.meeting.not_open")
		}
		var st string
		err = tx.QueryRowContext(ctx, `SELECT status FROM consult_registrations WHERE meeting_id = $1 AND resident_id = $2`, id, me.ID).Scan(&st)
		if err != nil && !db.IsNoRows(err) {
			return err
		}
		if st == RegRegistered || st == RegWaiting {
			return nil
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_registrations WHERE meeting_id = $1 AND status = 'registered'`, id).Scan(&n); err != nil {
			return err
		}
		status := RegWaiting
		if n < m.Capacity {
			status = RegRegistered
		}
		if st == "" {
			_, err = tx.ExecContext(ctx, `INSERT INTO consult_registrations (meeting_id, resident_id, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`, id, me.ID, status, now)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE consult_registrations SET status = $1, created_at = $2, updated_at = $2 WHERE meeting_id = $3 AND resident_id = $4`, status, now, id, me.ID)
		}
		if err != nil {
			return fmt.Errorf("consult: register: %w", err)
		}
		key := "consult.meeting.told_registered"
		if status == RegWaiting {
			key = "consult.meeting.told_waiting"
		}
		return s.Notify.Tell(ctx, tx, me.ID, notify.Outcome{Title: "consult.meeting.told_title", Body: key, Args: []any{m.Title, s.meetingWhen(ctx, m)},
			Link: fmt.Sprintf("/consult/meetings/%d", id)})
	})
	if err != nil {
		return MeetingDetail{}, err
	}
	return s.MeetingDetail(ctx, a, id)
}

// CancelRegistration takes back the caller's registration of a planned meeting; a place it frees
// goes to the first waiting, who is told. Cancelling none changes nothing.
func (s *Service) CancelRegistration(ctx context.Context, a *auth.Actor, id int64) (MeetingDetail, error) {
	if a == nil || a.AccountID == 0 {
		return MeetingDetail{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, me, ok, err := s.meetingFor(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !ok || !me.inScope(m.TownID, m.VillageID) {
			return errs.New(errs.Forbidden, "consult.meeting.register_residents")
		}
		if m.Status != MeetingPlanned {
			return errs.New(errs.Conflict, "consult.meeting.not_planned")
		}
		now := s.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE consult_meetings SET updated_at = $1 WHERE id = $2 AND status = 'planned'`, now, id); err != nil {
			return err
		}
		var st string
		err = tx.QueryRowContext(ctx, `SELECT status FROM consult_registrations WHERE meeting_id = $1 AND resident_id = $2`, id, me.ID).Scan(&st)
		if db.IsNoRows(err) || st == RegCancelled {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE consult_registrations SET status = 'cancelled', updated_at = $1 WHERE meeting_id = $2 AND resident_id = $3 AND status = $4`, now, id, me.ID, st)
		if err != nil {
			return fmt.Errorf("consult: cancel registration: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 || st != RegRegistered {
			return nil
		}
		return s.meetingPromote(ctx, tx, m, 1)
	})
	if err != nil {
		return MeetingDetail{}, err
	}
	return s.MeetingDetail(ctx, a, id)
}

// meetingPromote gives up to n free places to the first waiting, in order of registering, and
// tells each. The caller holds the meeting's row.
func (s *Service) meetingPromote(ctx context.Context, tx *sql.Tx, m Meeting, n int) error {
	for range n {
		var reg int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_registrations WHERE meeting_id = $1 AND status = 'registered'`, m.ID).Scan(&reg); err != nil {
			return err
		}
		capacity := m.Capacity
		if err := tx.QueryRowContext(ctx, `SELECT capacity FROM consult_meetings WHERE id = $1`, m.ID).Scan(&capacity); err != nil {
			return err
		}
		if reg >= capacity {
			return nil
		}
		var next int64
		err := tx.QueryRowContext(ctx, `SELECT resident_id FROM consult_registrations WHERE meeting_id = $1 AND status = 'waiting' ORDER BY created_at, resident_id LIMIT 1`, m.ID).Scan(&next)
		if db.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE consult_registrations SET status = 'registered', updated_at = $1 WHERE meeting_id = $2 AND resident_id = $3 AND status = 'waiting'`, s.Now(), m.ID, next)
		if err != nil {
			return fmt.Errorf("consult: promote: %w", err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return nil
		}
		if err := s.Notify.Tell(ctx, tx, next, notify.Outcome{Title: "consult.meeting.told_title", Body: "consult.meeting.told_promoted",
			Args: []any{m.Title, s.meetingWhen(ctx, m)}, Link: fmt.Sprintf("/consult/meetings/%d", m.ID)}); err != nil {
			return err
		}
	}
	return nil
}

// meetingWhen writes a meeting's start in its town's wall time, for a message.
func (s *Service) meetingWhen(ctx context.Context, m Meeting) string {
	loc, err := s.People.Zone(ctx, m.TownID)
	if err != nil {
		loc = time.UTC
	}
	return m.StartsAt.In(loc).Format("2006-01-02 15:04")
}

// meetingEvent is the meeting's event on the kit's attendance model, made on first use, with the
// registered residents and resident participants enrolled on its roll while it is open.
func (s *Service) meetingEvent(ctx context.Context, tx *sql.Tx, m Meeting) (attend.Event, error) {
	ev, err := s.Attend.Ensure(ctx, tx, attend.Event{Kind: MeetingKind, RefID: m.ID, TownID: m.TownID, VillageID: m.VillageID,
		Title: m.Title, StartsAt: m.StartsAt, EndsAt: m.EndsAt})
	if err != nil {
		return ev, err
	}
	if ev.ClosedAt.IsZero() && ev.CancelledAt.IsZero() {
		err = s.Attend.Enrol(ctx, tx, ev.ID, `r.id IN (SELECT resident_id FROM consult_registrations WHERE meeting_id = $2 AND status = 'registered')
			OR r.id IN (SELECT resident_id FROM consult_participants WHERE meeting_id = $2 AND resident_id IS NOT NULL)`, m.ID)
	}
	return ev, err
}

// Checkin checks residents in on the meeting's roll, by staff, and marks participants from outside
// present. Someone named who is not expected at the meeting is refused by field.
func (s *Service) Checkin(ctx context.Context, a *auth.Actor, id int64, in CheckinInput) (int, error) {
	checked := 0
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.meetingPlanned(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if len(in.ResidentIDs)+len(in.ParticipantIDs) == 0 {
			return errs.Field("resident_ids", "field.required")
		}
		roll, err := s.meetingRoll(ctx, tx, id)
		if err != nil {
			return err
		}
		on := map[int64]bool{}
		for _, e := range roll {
			on[e.ResidentID] = true
		}
		for _, r := range in.ResidentIDs {
			if !on[r] {
				return errs.Field("resident_ids", "consult.meeting.not_expected")
			}
		}
		parts, err := s.meetingParticipants(ctx, tx, id)
		if err != nil {
			return err
		}
		outside := map[int64]bool{}
		for _, p := range parts {
			if p.ResidentID == 0 {
				outside[p.ID] = true
			}
		}
		for _, p := range in.ParticipantIDs {
			if !outside[p] {
				return errs.Field("participant_ids", "consult.meeting.not_expected")
			}
		}
		if len(in.ResidentIDs) > 0 {
			ev, err := s.meetingEvent(ctx, tx, m)
			if err != nil {
				return err
			}
			fresh, err := s.Attend.CheckMany(ctx, tx, ev, in.ResidentIDs, attend.Roll, a.Name)
			if err != nil {
				if e, ok := errs.As(err); ok && len(e.Fields) == 0 {
					return &errs.Error{Code: e.Code, Key: e.Key, Fields: []errs.FieldError{{Field: "resident_ids", Key: e.Key}}}
				}
				return err
			}
			checked += len(fresh)
		}
		if len(in.ParticipantIDs) > 0 {
			res, err := tx.ExecContext(ctx, `UPDATE consult_participants SET present = TRUE WHERE meeting_id = $1 AND NOT present AND id IN (`+db.IDList(in.ParticipantIDs)+`)`, id)
			if err != nil {
				return fmt.Errorf("consult: present: %w", err)
			}
			n, _ := res.RowsAffected()
			checked += int(n)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.meeting.checkin", Entity: "consult_meeting", EntityID: id, TownID: m.TownID, VillageID: m.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"checked": checked})})
	})
	return checked, err
}

// meetingTopic checks that a topic named by a request is on the meeting's agenda.
func (s *Service) meetingTopic(ctx context.Context, q db.Querier, meetingID, topicID int64) (bool, error) {
	if topicID == 0 {
		return true, nil
	}
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_topics WHERE id = $1 AND meeting_id = $2 AND status IN ('accepted', 'decided')`, topicID, meetingID).Scan(&n)
	return n == 1, err
}

// AddOpinion records what a participant of a planned meeting said, in their capacity.
func (s *Service) AddOpinion(ctx context.Context, a *auth.Actor, id int64, in OpinionInput) (Opinion, error) {
	in.Body = strings.TrimSpace(in.Body)
	var o Opinion
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.meetingPlanned(ctx, tx, a, id)
		if err != nil {
			return err
		}
		var f errs.Fields
		f.Text("body", in.Body, maxMeetingBody, true)
		var name, kind string
		if in.ParticipantID == 0 {
			f.Add("participant_id", "field.required")
		} else if err := tx.QueryRowContext(ctx, `SELECT name, kind FROM consult_participants WHERE id = $1 AND meeting_id = $2`, in.ParticipantID, id).Scan(&name, &kind); db.IsNoRows(err) {
			f.Add("participant_id", "consult.meeting.participant_not_found")
		} else if err != nil {
			return err
		}
		if ok, err := s.meetingTopic(ctx, tx, id, in.TopicID); err != nil {
			return err
		} else if !ok {
			f.Add("topic_id", "consult.meeting.topic_not_on_agenda")
		}
		if err := f.Err(); err != nil {
			return err
		}
		now := s.Now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO consult_opinions (meeting_id, participant_id, topic_id, speaker, kind, body, recorded_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, id, in.ParticipantID, db.NullID(in.TopicID), name, kind, in.Body, a.Name, now).Scan(&o.ID); err != nil {
			return fmt.Errorf("consult: opinion: %w", err)
		}
		o = Opinion{ID: o.ID, ParticipantID: in.ParticipantID, TopicID: in.TopicID, Speaker: name, Kind: kind, Body: in.Body, CreatedAt: now}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.meeting.opinion", Entity: "consult_meeting", EntityID: id, TownID: m.TownID, VillageID: m.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"speaker": name})})
	})
	return o, err
}

// AddDecision records a decision (协商成果) of a planned meeting, optionally for an agenda topic.
func (s *Service) AddDecision(ctx context.Context, a *auth.Actor, id int64, in DecisionInput) (Decision, error) {
	in.Body = strings.TrimSpace(in.Body)
	var d Decision
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.meetingPlanned(ctx, tx, a, id)
		if err != nil {
			return err
		}
		var f errs.Fields
		f.Text("body", in.Body, maxMeetingBody, true)
		if ok, err := s.meetingTopic(ctx, tx, id, in.TopicID); err != nil {
			return err
		} else if !ok {
			f.Add("topic_id", "consult.meeting.topic_not_on_agenda")
		}
		if err := f.Err(); err != nil {
			return err
		}
		now := s.Now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO consult_decisions (meeting_id, topic_id, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			id, db.NullID(in.TopicID), in.Body, now).Scan(&d.ID); err != nil {
			return fmt.Errorf("consult: decision: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consult_meetings SET no_decision = FALSE, updated_at = $1 WHERE id = $2`, now, id); err != nil {
			return err
		}
		d = Decision{ID: d.ID, TopicID: in.TopicID, Body: in.Body, CreatedAt: now}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.meeting.decision", Entity: "consult_meeting", EntityID: id, TownID: m.TownID, VillageID: m.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"decision": in.Body})})
	})
	return d, err
}

// SaveNotes saves a planned meeting's site-visit notes (field "site_notes") or its minutes
// ("minutes"), as typed during the meeting.
func (s *Service) SaveNotes(ctx context.Context, a *auth.Actor, id int64, field, body string) (MeetingDetail, error) {
	body = strings.TrimSpace(body)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.meetingPlanned(ctx, tx, a, id)
		if err != nil {
			return err
		}
		var f errs.Fields
		action := ""
		switch field {
		case "site_notes":
			action = "consult.meeting.site_notes"
		case "minutes":
			action = "consult.meeting.minutes"
		default:
			return fmt.Errorf("consult: notes field %q", field)
		}
		f.Text(field, body, maxMeetingMinutes, true)
		if err := f.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consult_meetings SET `+field+` = $1, updated_at = $2 WHERE id = $3 AND status = 'planned'`, body, s.Now(), id); err != nil {
			return fmt.Errorf("consult: notes: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: action, Entity: "consult_meeting", EntityID: id, TownID: m.TownID, VillageID: m.VillageID,
			Summary: auth.Summarize(nil, map[string]any{field: utf8.RuneCountInString(body)})})
	})
	if err != nil {
		return MeetingDetail{}, err
	}
	return s.MeetingDetail(ctx, a, id)
}

// closeFields checks what closing a meeting needs, naming each missing piece: the minutes (given
// or saved), an attendance (given, or counted from the check-ins and outside participants
// present) and a decision or no_decision. It answers the minutes, attendance and decisions.
func (s *Service) closeFields(ctx context.Context, q db.Querier, m Meeting, in CloseInput) (string, int, []Decision, error) {
	minutes := strings.TrimSpace(in.Minutes)
	if minutes == "" {
		minutes = m.Minutes
	}
	var f errs.Fields
	f.Text("minutes", minutes, maxMeetingMinutes, true)
	attendance := in.Attendance
	if attendance < 0 {
		f.Add("attendance", "consult.meeting.invalid_value")
		attendance = 0
	}
	if attendance == 0 {
		roll, err := s.meetingRoll(ctx, q, m.ID)
		if err != nil {
			return "", 0, nil, err
		}
		for _, e := range roll {
			if e.Checked {
				attendance++
			}
		}
		var present int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_participants WHERE meeting_id = $1 AND resident_id IS NULL AND present`, m.ID).Scan(&present); err != nil {
			return "", 0, nil, err
		}
		attendance += present
	}
	if attendance <= 0 && !f.Has("attendance") {
		f.Add("attendance", "consult.meeting.attendance_required")
	}
	decisions, err := s.meetingDecisions(ctx, q, m.ID)
	if err != nil {
		return "", 0, nil, err
	}
	if len(decisions) == 0 && !in.NoDecision {
		f.Add("no_decision", "consult.meeting.decision_required")
	}
	return minutes, attendance, decisions, f.Err()
}

// closeCheck answers the refusal closing a meeting would meet now, storing nothing: for the page to
// say it before asking to confirm.
func (s *Service) closeCheck(ctx context.Context, a *auth.Actor, id int64, in CloseInput) error {
	q := s.DB.Read()
	m, err := s.meetingPlanned(ctx, q, a, id)
	if err != nil {
		return err
	}
	if _, _, _, err := s.closeFields(ctx, q, m, in); err != nil {
		return err
	}
	if s.Now().Before(m.StartsAt) {
		return errs.New(errs.Conflict, "consult.meeting.not_started")
	}
	return nil
}

// CloseMeeting closes a planned meeting that has started. It is refused, storing nothing, unless
// it has minutes, an attendance (counted by hand, or the check-ins and outside participants
// present) and at least one decision or no_decision; each missing piece is named. Closing ends the
// roll, sets each agenda topic decided with its outcome, publishes the minutes, and tells each
// topic's proposer and supporters its outcome and the registered residents that the minutes are out.
func (s *Service) CloseMeeting(ctx context.Context, a *auth.Actor, id int64, in CloseInput) (MeetingDetail, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.meetingPlanned(ctx, tx, a, id)
		if err != nil {
			return err
		}
		minutes, attendance, decisions, err := s.closeFields(ctx, tx, m, in)
		if err != nil {
			return err
		}
		now := s.Now()
		if now.Before(m.StartsAt) {
			return errs.New(errs.Conflict, "consult.meeting.not_started")
		}
		res, err := tx.ExecContext(ctx, `UPDATE consult_meetings SET status = 'closed', minutes = $1, attendance = $2, no_decision = $3, closed_at = $4, closed_by = $5,
			updated_at = $4 WHERE id = $6 AND status = 'planned'`, minutes, attendance, len(decisions) == 0, now, a.Name, id)
		if err != nil {
			return fmt.Errorf("consult: close meeting: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.New(errs.Conflict, "consult.meeting.not_planned")
		}
		if ev, err := s.Attend.EventOf(ctx, tx, MeetingKind, id); err == nil {
			if _, err := s.Attend.Close(ctx, tx, ev, a.Name); err != nil {
				return err
			}
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		agenda, err := s.meetingAgenda(ctx, tx, id)
		if err != nil {
			return err
		}
		t := func(key string, args ...any) string { return key }
		if s.Notify != nil && s.Notify.T != nil {
			t = s.Notify.T
		}
		var general []string
		for _, d := range decisions {
			if d.TopicID == 0 {
				general = append(general, d.Body)
			}
		}
		told := map[int64]bool{}
		for _, topic := range agenda {
			var own []string
			for _, d := range decisions {
				if d.TopicID == topic.ID {
					own = append(own, d.Body)
				}
			}
			if len(own) == 0 {
				own = general
			}
			outcome := strings.Join(own, "；")
			if outcome == "" {
				outcome = t("consult.meeting.no_decision_outcome")
			}
			if utf8.RuneCountInString(outcome) > maxMeetingMinutes {
				outcome = string([]rune(outcome)[:maxMeetingMinutes])
			}
			if _, err := tx.ExecContext(ctx, `UPDATE consult_topics SET status = 'decided', outcome = $1, updated_at = $2 WHERE id = $3 AND status = 'accepted'`, outcome, now, topic.ID); err != nil {
				return fmt.Errorf("consult: topic outcome: %w", err)
			}
			rows, err := tx.QueryContext(ctx, `SELECT resident_id FROM consult_supports WHERE topic_id = $1
				UNION SELECT proposer_resident FROM consult_topics WHERE id = $1 AND proposer_resident IS NOT NULL`, topic.ID)
			if err != nil {
				return fmt.Errorf("consult: supporters: %w", err)
			}
			var people []int64
			for rows.Next() {
				var r int64
				if err := rows.Scan(&r); err != nil {
					rows.Close()
					return err
				}
				people = append(people, r)
			}
			rows.Close()
			for _, r := range people {
				told[r] = true
				if err := s.Notify.Tell(ctx, tx, r, notify.Outcome{Title: "consult.meeting.told_outcome_title", Body: "consult.meeting.told_outcome",
					Args: []any{topic.Title, m.Title, outcome}, Link: fmt.Sprintf("/consult/meetings/%d", id)}); err != nil {
					return err
				}
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT resident_id FROM consult_registrations WHERE meeting_id = $1 AND status = 'registered' ORDER BY resident_id`, id)
		if err != nil {
			return err
		}
		var regs []int64
		for rows.Next() {
			var r int64
			if err := rows.Scan(&r); err != nil {
				rows.Close()
				return err
			}
			regs = append(regs, r)
		}
		rows.Close()
		for _, r := range regs {
			if err := s.Notify.Tell(ctx, tx, r, notify.Outcome{Title: "consult.meeting.told_title", Body: "consult.meeting.told_published",
				Args: []any{m.Title}, Link: fmt.Sprintf("/consult/meetings/%d", id)}); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.meeting.close", Entity: "consult_meeting", EntityID: id, TownID: m.TownID, VillageID: m.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"attendance": attendance, "decisions": len(decisions)})})
	})
	if err != nil {
		return MeetingDetail{}, err
	}
	return s.MeetingDetail(ctx, a, id)
}

// CancelMeeting cancels a planned meeting with a reason: its roll is cancelled, the topics on its
// agenda open again for another meeting, and the registered and waiting residents are told.
func (s *Service) CancelMeeting(ctx context.Context, a *auth.Actor, id int64, reason string) (MeetingDetail, error) {
	reason = strings.TrimSpace(reason)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.meetingPlanned(ctx, tx, a, id)
		if err != nil {
			return err
		}
		var f errs.Fields
		f.Text("reason", reason, maxTopicReason, true)
		if err := f.Err(); err != nil {
			return err
		}
		now := s.Now()
		res, err := tx.ExecContext(ctx, `UPDATE consult_meetings SET status = 'cancelled', reason = $1, updated_at = $2 WHERE id = $3 AND status = 'planned'`, reason, now, id)
		if err != nil {
			return fmt.Errorf("consult: cancel meeting: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.New(errs.Conflict, "consult.meeting.not_planned")
		}
		if err := s.Attend.Cancel(ctx, tx, MeetingKind, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consult_topics SET status = 'open', meeting_id = NULL, updated_at = $1 WHERE meeting_id = $2 AND status = 'accepted'`, now, id); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT resident_id FROM consult_registrations WHERE meeting_id = $1 AND status <> 'cancelled' ORDER BY resident_id`, id)
		if err != nil {
			return err
		}
		var regs []int64
		for rows.Next() {
			var r int64
			if err := rows.Scan(&r); err != nil {
				rows.Close()
				return err
			}
			regs = append(regs, r)
		}
		rows.Close()
		for _, r := range regs {
			if err := s.Notify.Tell(ctx, tx, r, notify.Outcome{Title: "consult.meeting.told_title", Body: "consult.meeting.told_cancelled",
				Args: []any{m.Title, reason}, Link: fmt.Sprintf("/consult/meetings/%d", id)}); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.meeting.cancel", Entity: "consult_meeting", EntityID: id, TownID: m.TownID, VillageID: m.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"reason": reason})})
	})
	if err != nil {
		return MeetingDetail{}, err
	}
	return s.MeetingDetail(ctx, a, id)
}

// meetingTodos counts the meetings the actor hosts whose time has passed and that are not closed.
func (s *Service) meetingTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil || a.TownID == 0 {
		return nil, nil
	}
	all, villages := hostScope(a, a.TownID)
	if !all && len(villages) == 0 {
		return nil, nil
	}
	where := fmt.Sprintf("town_id = %d AND status = 'planned' AND ends_at < $1", a.TownID)
	if !all {
		where += " AND village_id IN (" + db.IDList(villages) + ")"
	}
	var n int
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_meetings WHERE `+where, s.Now()).Scan(&n); err != nil {
		return nil, fmt.Errorf("consult: meeting todos: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	return []web.Todo{{Key: "consult.meeting.todo", Count: n, Path: "/admin/consult/meetings"}}, nil
}
