// Package notify holds in-app notifications (站内消息): short messages to residents from staff or
// from a pillar (a team leader to everyone on a shift, a place freed on a waiting list). Every
// pillar sends through Send, inside its own transaction, so a refused operation notifies nobody.
package notify

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// Message is a notification as its recipient sees it.
type Message struct {
	ID         int64     `json:"id"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	Link       string    `json:"link"`
	SenderName string    `json:"sender_name"`
	CreatedAt  time.Time `json:"created_at"`
	Read       bool      `json:"read"`
}

// Service sends and lists notifications.
type Service struct {
	DB  *db.DB
	Now func() time.Time
	// T renders an outcome's message keys (Tell) in the default language; the server sets it to
	// the catalog's. Without it a message reads as its keys, which a test would see.
	T func(key string, args ...any) string
	// Zone is a town's time zone, in which the day's digest is made (每日汇总); the server sets it
	// to the registry's. Without it every town is in clock.DefaultZone.
	Zone func(ctx context.Context, townID int64) (*time.Location, error)
}

// NewService returns the notification service on d.
func NewService(d *db.DB) *Service { return &Service{DB: d, Now: db.Now} }

// Check validates a message's title and body, naming the fields.
func Check(title, body string) error {
	var f errs.Fields
	if strings.TrimSpace(title) == "" {
		f.Add("title", "field.required")
	} else if utf8.RuneCountInString(title) > 60 {
		f.Add("title", "field.too_long")
	}
	if utf8.RuneCountInString(body) > 1000 {
		f.Add("body", "field.too_long")
	}
	return f.Err()
}

// Send writes one message to each resident inside tx. Links must be local paths.
func (s *Service) Send(ctx context.Context, tx db.Querier, residentIDs []int64, m Message) error {
	if err := Check(m.Title, m.Body); err != nil {
		return err
	}
	if m.Link != "" && (!strings.HasPrefix(m.Link, "/") || strings.HasPrefix(m.Link, "//")) {
		return fmt.Errorf("notify: link %q is not a local path", m.Link)
	}
	now := s.Now()
	for _, id := range residentIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notifications (resident_id, title, body, link, sender_name, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, strings.TrimSpace(m.Title), strings.TrimSpace(m.Body), m.Link, m.SenderName, now); err != nil {
			return fmt.Errorf("notify: send: %w", err)
		}
	}
	return nil
}

// Outcome is what a pillar tells the person an outcome concerns (a claim approved, an order
// handed over, a need taken): message keys from the pillar's catalog and their arguments, and the
// page to open.
type Outcome struct {
	Title string // message key of the title
	Body  string // message key of the body
	Args  []any  // for the body's placeholders
	Link  string // a local path
}

// TellEach tells the outcome to every resident a query inside tx lists (one id per row), once each
// however often the query names them: the supporters of a topic, the liaisons of a unit, the
// parties of a case.
func (s *Service) TellEach(ctx context.Context, tx db.Querier, query string, args []any, o Outcome) error {
	if s == nil {
		return nil
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("notify: whom to tell: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.Tell(ctx, tx, id, o); err != nil {
			return err
		}
	}
	return nil
}

// Tell sends an outcome to a resident inside tx, written in the default language: the message
// reaches them whether or not the operation's page is the one they look at, and a refused or
// rolled-back operation tells nobody. A resident id of 0 (a record with no resident) is skipped,
// and a nil Service tells nobody.
func (s *Service) Tell(ctx context.Context, tx db.Querier, residentID int64, o Outcome) error {
	if s == nil || residentID == 0 {
		return nil // a service built without a notifier (a test of the ledger alone) tells nobody
	}
	t := s.T
	if t == nil {
		t = func(key string, args ...any) string { return key }
	}
	m := Message{Title: t(o.Title), Body: t(o.Body, o.Args...), Link: o.Link}
	if r := []rune(m.Title); len(r) > 60 {
		m.Title = string(r[:60])
	}
	if r := []rune(m.Body); len(r) > 1000 {
		m.Body = string(r[:999]) + "…"
	}
	return s.Send(ctx, tx, []int64{residentID}, m)
}

// Inbox lists the newest messages of the resident the actor acts as, and how many are unread.
func (s *Service) Inbox(ctx context.Context, a *auth.Actor, limit int) ([]Message, int, error) {
	self := a.Self()
	if err := auth.Can(a, auth.SelfRead, auth.Scope{ResidentID: self}); err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	out, err := s.list(ctx, `WHERE resident_id = $1 ORDER BY id DESC LIMIT $2`, self, limit)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.Unread(ctx, self)
	return out, n, err
}

// list reads the messages a query's tail (WHERE … ORDER BY …) picks.
func (s *Service) list(ctx context.Context, tail string, args ...any) ([]Message, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, title, body, link, sender_name, created_at, read_at IS NOT NULL FROM notifications `+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("notify: messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		if err := rows.Scan(&m.ID, &m.Title, &m.Body, &m.Link, &m.SenderName, &m.CreatedAt, &m.Read); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Unread counts a resident's unread messages.
func (s *Service) Unread(ctx context.Context, residentID int64) (int, error) {
	var n int
	err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND read_at IS NULL`, residentID).Scan(&n)
	return n, err
}

// MarkRead marks every message of the actor's resident as read.
func (s *Service) MarkRead(ctx context.Context, a *auth.Actor) error {
	self := a.Self()
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: self}); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE notifications SET read_at = $1 WHERE resident_id = $2 AND read_at IS NULL`, s.Now(), self)
		return err
	})
}
