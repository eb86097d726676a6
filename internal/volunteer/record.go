package volunteer

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// Served is a line of a volunteer's record (志愿服务记录): a shift served, its hours, who recorded
// the times and who confirmed them, kept as they were recorded.
type Served struct {
	ShiftID     int64     `json:"shift_id"`
	PostTitle   string    `json:"post_title"`
	TeamKind    TeamKind  `json:"team_kind"`
	VillageName string    `json:"village_name"`
	Day         string    `json:"day"`
	CheckedIn   time.Time `json:"checked_in"`
	CheckedOut  time.Time `json:"checked_out"`
	Minutes     int       `json:"minutes"`
	RecordedBy  string    `json:"recorded_by"`
	ConfirmedBy string    `json:"confirmed_by"`

	// loc is the town's zone, in which the times are shown.
	loc *time.Location
}

// Record is a volunteer's service record: every shift served and the totals.
type Record struct {
	Volunteer    Volunteer     `json:"volunteer"`
	Minutes      int           `json:"minutes"`
	Shifts       int           `json:"shifts"`
	NoShows      int           `json:"no_shows"`
	Served       []Served      `json:"served"`
	Certificates []Certificate `json:"certificates"`
}

// Hours is the record's time in hours, to one decimal.
func (r Record) Hours() string { return fmt.Sprintf("%.1f", float64(r.Minutes)/60) }

// Certificate is a 志愿服务证明 as issued: a number, and the hours and shifts it states.
type Certificate struct {
	ID        int64     `json:"id"`
	Number    string    `json:"number"`
	Minutes   int       `json:"minutes"`
	Shifts    int       `json:"shifts"`
	IssuedBy  string    `json:"issued_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Hours is the certificate's time in hours, to one decimal.
func (c Certificate) Hours() string { return fmt.Sprintf("%.1f", float64(c.Minutes)/60) }

// MyRecord is the acting resident's service record.
func (s *Service) MyRecord(ctx context.Context, a *auth.Actor) (Record, error) {
	v, err := s.Me(ctx, a)
	if err != nil {
		return Record{}, err
	}
	return s.record(ctx, v)
}

// RecordOf is a volunteer's record for the staff of their village.
func (s *Service) RecordOf(ctx context.Context, a *auth.Actor, volunteerID int64) (Record, error) {
	v, err := s.volunteer(ctx, s.DB.Read(), `v.id = $1`, volunteerID)
	if err != nil {
		return Record{}, err
	}
	if err := lead(a, v.TownID, v.VillageID); err != nil && a.Self() != v.ResidentID {
		return Record{}, auth.Hide(err)
	}
	return s.record(ctx, v)
}

func (s *Service) record(ctx context.Context, v Volunteer) (Record, error) {
	rec := Record{Volunteer: v, Served: []Served{}, Certificates: []Certificate{}}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT sh.id, p.title, t.kind, vi.name, sh.day, su.checked_in_at, su.checked_out_at, su.minutes, su.checked_in_by, su.confirmed_by, tw.timezone
		FROM volunteer_signups su JOIN volunteer_shifts sh ON sh.id = su.shift_id JOIN volunteer_posts p ON p.id = sh.post_id
		JOIN volunteer_teams t ON t.id = p.team_id JOIN villages vi ON vi.id = sh.village_id JOIN towns tw ON tw.id = sh.town_id
		WHERE su.volunteer_id = $1 AND su.status = 'attended' ORDER BY sh.starts_at`, v.ID)
	if err != nil {
		return rec, fmt.Errorf("volunteer: record: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var x Served
		var kind, zone string
		if err := rows.Scan(&x.ShiftID, &x.PostTitle, &kind, &x.VillageName, &x.Day, &x.CheckedIn, &x.CheckedOut, &x.Minutes, &x.RecordedBy, &x.ConfirmedBy, &zone); err != nil {
			return rec, err
		}
		x.TeamKind, x.loc = TeamKind(kind), clock.Zone(zone)
		rec.Served = append(rec.Served, x)
		rec.Minutes += x.Minutes
		rec.Shifts++
	}
	if err := rows.Err(); err != nil {
		return rec, err
	}
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM volunteer_signups WHERE volunteer_id = $1 AND status = 'no_show'`, v.ID).Scan(&rec.NoShows); err != nil {
		return rec, err
	}
	crs, err := s.DB.Read().QueryContext(ctx, `SELECT id, number, minutes, shifts, issued_by, created_at FROM volunteer_certificates WHERE volunteer_id = $1 ORDER BY id DESC`, v.ID)
	if err != nil {
		return rec, err
	}
	defer crs.Close()
	for crs.Next() {
		var c Certificate
		if err := crs.Scan(&c.ID, &c.Number, &c.Minutes, &c.Shifts, &c.IssuedBy, &c.CreatedAt); err != nil {
			return rec, err
		}
		rec.Certificates = append(rec.Certificates, c)
	}
	return rec, crs.Err()
}

// IssueCertificate issues a service certificate from the acting resident's record as it stands:
// a new number each time, stating the hours and shifts served so far.
func (s *Service) IssueCertificate(ctx context.Context, a *auth.Actor) (Certificate, error) {
	rec, err := s.MyRecord(ctx, a)
	if err != nil {
		return Certificate{}, err
	}
	if rec.Shifts == 0 {
		return Certificate{}, errs.New(errs.Conflict, "volunteer.nothing_served")
	}
	town, err := s.People.Town(ctx, rec.Volunteer.TownID)
	if err != nil {
		return Certificate{}, err
	}
	c := Certificate{Minutes: rec.Minutes, Shifts: rec.Shifts, IssuedBy: a.Name, CreatedAt: s.Now()}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO volunteer_certificates (volunteer_id, number, minutes, shifts, issued_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			rec.Volunteer.ID, fmt.Sprintf("pending-%d-%d", rec.Volunteer.ID, c.CreatedAt.UnixNano()), c.Minutes, c.Shifts, c.IssuedBy, c.CreatedAt).Scan(&c.ID); err != nil {
			return err
		}
		c.Number = fmt.Sprintf("ZYZM-%s-%s-%06d", town.Code, strconv.Itoa(c.CreatedAt.In(town.Location()).Year()), c.ID)
		_, err := tx.ExecContext(ctx, `UPDATE volunteer_certificates SET number = $1 WHERE id = $2`, c.Number, c.ID)
		return err
	})
	return c, err
}

// CertificateView is a certificate with the record it was issued from, for printing.
type CertificateView struct {
	Certificate Certificate
	Record      Record
	TownName    string
}

// Certificate shows an issued certificate to its volunteer or their village's staff, with the
// services it covers (those confirmed before it was issued).
func (s *Service) Certificate(ctx context.Context, a *auth.Actor, id int64) (CertificateView, error) {
	var vid int64
	var c Certificate
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id, volunteer_id, number, minutes, shifts, issued_by, created_at FROM volunteer_certificates WHERE id = $1`, id).
		Scan(&c.ID, &vid, &c.Number, &c.Minutes, &c.Shifts, &c.IssuedBy, &c.CreatedAt)
	if db.IsNoRows(err) {
		return CertificateView{}, notFound
	}
	if err != nil {
		return CertificateView{}, err
	}
	rec, err := s.RecordOf(ctx, a, vid)
	if err != nil {
		return CertificateView{}, err
	}
	if len(rec.Served) > c.Shifts {
		rec.Served = rec.Served[:c.Shifts]
	}
	t, err := s.People.Town(ctx, rec.Volunteer.TownID)
	if err != nil {
		return CertificateView{}, err
	}
	return CertificateView{Certificate: c, Record: rec, TownName: t.Name}, nil
}

// Span is the served time of day, 09:02–11:00.
func (x Served) Span() string {
	return timeIn(x.CheckedIn, x.loc) + "–" + timeIn(x.CheckedOut, x.loc)
}
