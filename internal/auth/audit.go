package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"siwei/internal/db"
)

// AuditEntry is one staff write: what was done to which record, with a before/after summary.
type AuditEntry struct {
	ID        int64
	At        time.Time
	ActorID   int64
	ActorName string
	ForID     int64
	ForName   string
	TownID    int64
	VillageID int64
	Action    string
	Entity    string
	EntityID  int64
	Summary   string
}

// Change is a before/after summary of a write, stored as JSON in the audit log.
type Change struct {
	Before any `json:"before,omitempty"`
	After  any `json:"after,omitempty"`
}

// Audit records a write by a in the same transaction as the write, so that a write without its
// audit row cannot happen. In office mode the entry names the resident acted for.
func Audit(ctx context.Context, q db.Querier, a *Actor, e AuditEntry) error {
	if a != nil {
		e.ActorID, e.ActorName = a.AccountID, a.Name
		if a.ActingFor != nil && e.ForID == 0 {
			e.ForID, e.ForName = a.ActingFor.ID, a.ActingFor.Name
		}
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (at, actor_account_id, actor_name, for_resident_id, for_name,
		town_id, village_id, action, entity, entity_id, summary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		db.Now(), db.NullID(e.ActorID), e.ActorName, db.NullID(e.ForID), e.ForName, db.NullID(e.TownID), db.NullID(e.VillageID),
		e.Action, e.Entity, db.NullID(e.EntityID), e.Summary)
	if err != nil {
		return fmt.Errorf("auth: audit: %w", err)
	}
	return nil
}

// Summarize renders a before/after pair for AuditEntry.Summary.
func Summarize(before, after any) string {
	b, err := json.Marshal(Change{Before: before, After: after})
	if err != nil {
		return ""
	}
	return string(b)
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	TownID int64
	Q      string // matches action, entity, actor or resident name
	From   time.Time
	To     time.Time
	Page   int
}

// AuditPageSize is the number of entries on a page of the audit log.
const AuditPageSize = 50

// System is the actor for command-line jobs (import, export) run by whoever operates the server:
// it may do anything, and the audit log names it.
func System(name string) *Actor {
	return &Actor{AccountID: -1, Name: name, Grants: []Grant{{Role: DistrictAdmin}}}
}
