package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/errs"
)

// Mode is how a resident is told of new messages on the home (the unread badge and the to-do): 即时
// 提醒, each as it comes, or 每日汇总, the day's messages once a day as one digest. Either way every
// message is stored when it is sent and the messages page lists them all.
type Mode string

// The modes, in the order the messages page offers them.
const (
	Immediate Mode = "immediate" // 即时提醒
	Daily     Mode = "daily"     // 每日汇总
)

// DigestHour is the hour of the day, in the town's zone, at which the day's digest is made: 18:00,
// when people are home from the fields. Towns cannot choose another yet.
var DigestHour = 18

// DigestTime is DigestHour as pages write it: "18:00".
func DigestTime() string { return fmt.Sprintf("%02d:00", DigestHour) }

// SetMode chooses 即时提醒 or 每日汇总 for the resident the actor acts as: themself, or the resident a
// staff member serves in office mode. Choosing 每日汇总 again keeps the moment it was first chosen:
// the messages that came before it were shown at once.
func (s *Service) SetMode(ctx context.Context, a *auth.Actor, m Mode) error {
	self := a.Self()
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: self}); err != nil {
		return err
	}
	if m != Immediate && m != Daily {
		return errs.Field("mode", "notify.mode_invalid")
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if m == Daily {
			_, err = tx.ExecContext(ctx, `UPDATE residents SET notify_digest_since = $1 WHERE id = $2 AND notify_digest_since IS NULL`, s.Now(), self)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE residents SET notify_digest_since = NULL WHERE id = $1`, self)
		}
		if err != nil {
			return fmt.Errorf("notify: set mode: %w", err)
		}
		return nil
	})
}

// Digest is a resident's latest digest as the messages page shows it: its day, whether that is
// today in the town, and its messages, newest first.
type Digest struct {
	Day      time.Time // the town's calendar day, a UTC midnight date
	Today    bool
	Messages []Message
}

// Settings are the actor's resident's choice for the messages page, and their latest digest (nil
// when none, or with 即时提醒).
func (s *Service) Settings(ctx context.Context, a *auth.Actor) (Mode, *Digest, error) {
	self := a.Self()
	if err := auth.Can(a, auth.SelfRead, auth.Scope{ResidentID: self}); err != nil {
		return "", nil, err
	}
	var since sql.NullTime
	var town int64
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT notify_digest_since, town_id FROM residents WHERE id = $1`, self).Scan(&since, &town); err != nil {
		return "", nil, fmt.Errorf("notify: settings: %w", err)
	}
	if !since.Valid {
		return Immediate, nil, nil
	}
	var day string
	var first, last int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT day, first_id, last_id FROM notify_digests WHERE resident_id = $1 ORDER BY day DESC LIMIT 1`, self).
		Scan(&day, &first, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return Daily, nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("notify: settings: %w", err)
	}
	loc, err := s.zone(ctx, town)
	if err != nil {
		return "", nil, err
	}
	d := &Digest{Today: day == clock.Day(clock.In(loc, s.Now).Today())}
	if d.Day, err = time.Parse(clock.DayLayout, day); err != nil {
		return "", nil, fmt.Errorf("notify: settings: digest day %q: %w", day, err)
	}
	if d.Messages, err = s.list(ctx, `WHERE resident_id = $1 AND id BETWEEN $2 AND $3 ORDER BY id DESC`, self, first, last); err != nil {
		return "", nil, err
	}
	return Daily, d, nil
}

// Waiting is what the home shows a resident of their unread messages: with 即时提醒 all of them;
// with 每日汇总 those a digest has brought and those sent before the resident chose it, so that a
// message sent after today's digest waits for tomorrow's. Today says that the count is of
// today's digest, for the to-do to say so.
func (s *Service) Waiting(ctx context.Context, residentID int64) (n int, today bool, err error) {
	if residentID == 0 {
		return 0, false, nil
	}
	var since sql.NullTime
	var town int64
	var last sql.NullInt64
	var day sql.NullString
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT r.notify_digest_since, r.town_id, d.last_id, d.day FROM residents r
		LEFT JOIN notify_digests d ON d.resident_id = r.id AND d.day = (SELECT MAX(day) FROM notify_digests WHERE resident_id = r.id)
		WHERE r.id = $1`, residentID).Scan(&since, &town, &last, &day); err != nil {
		return 0, false, fmt.Errorf("notify: waiting: %w", err)
	}
	if !since.Valid {
		n, err = s.Unread(ctx, residentID)
		return n, false, err
	}
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND read_at IS NULL AND (created_at < $2 OR id <= $3)`,
		residentID, since.Time, last.Int64).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("notify: waiting: %w", err)
	}
	if day.Valid {
		loc, err := s.zone(ctx, town)
		if err != nil {
			return 0, false, err
		}
		today = day.String == clock.Day(clock.In(loc, s.Now).Today())
	}
	return n, today, nil
}

// AssembleDigests makes the day's digest of every resident who chose 每日汇总, in each town whose
// digest time has passed today (else yesterday's, which a server down at the time missed): the
// messages sent since their last digest, or since they chose the digest, and before the digest
// time. A resident with no such message gets none. Each resident has one digest a day, so a
// second run, or another server's at the same moment, adds nothing. It returns how many it made.
func (s *Service) AssembleDigests(ctx context.Context) (int, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT DISTINCT town_id FROM residents WHERE notify_digest_since IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("notify: digests: %w", err)
	}
	var towns []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		towns = append(towns, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	made := 0
	for _, town := range towns {
		loc, err := s.zone(ctx, town)
		if err != nil {
			return made, err
		}
		now := s.Now().In(loc)
		cut := time.Date(now.Year(), now.Month(), now.Day(), DigestHour, 0, 0, 0, loc)
		if now.Before(cut) {
			cut = cut.AddDate(0, 0, -1)
		}
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `INSERT INTO notify_digests (resident_id, day, first_id, last_id, messages, created_at)
				SELECT n.resident_id, $2, MIN(n.id), MAX(n.id), COUNT(*), $4
				FROM notifications n JOIN residents r ON r.id = n.resident_id
				WHERE r.town_id = $1 AND r.notify_digest_since IS NOT NULL AND n.created_at >= r.notify_digest_since AND n.created_at < $3
					AND n.id > COALESCE((SELECT MAX(d.last_id) FROM notify_digests d WHERE d.resident_id = n.resident_id), 0)
				GROUP BY n.resident_id
				ON CONFLICT (resident_id, day) DO NOTHING`, town, clock.Day(cut), cut.UTC(), s.Now())
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			made += int(n)
			return err
		})
		if err != nil {
			return made, fmt.Errorf("notify: digests of town %d: %w", town, err)
		}
	}
	return made, nil
}

// RunDigests assembles the digests now and then every interval until ctx is done: the scheduler
// of --scheduler-every, beside the bank's.
func (s *Service) RunDigests(ctx context.Context, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		n, err := s.AssembleDigests(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("notify: digests", "err", err)
		}
		if n > 0 {
			log.Info("notify: digests made", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// zone is a town's time zone, the default without a Zone to ask.
func (s *Service) zone(ctx context.Context, town int64) (*time.Location, error) {
	if s.Zone == nil {
		return clock.Zone(""), nil
	}
	return s.Zone(ctx, town)
}
