// Package school is 微党校, the micro party school: the town's pool of experts (专家库) and when they
// can teach, and the course menu (课程菜单) by category, which residents and village branches read.
// Town party-building staff (auth.SchoolAdmin) and the town's admins manage both; an expert's
// account sees its own record. Demand surveys (问需), lesson orders on the flow kit
// (点单→派单→接单→开课→评单), lessons with the shared attendance model, and the points paid for
// attending through bank.Service.Earn come next; Course.TimesTaught and the ratings are fed by
// those lessons.
package school

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"siwei/internal/attend"
	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/people"
)

// Service is 微党校's service: the only place in the pillar that decides.
type Service struct {
	DB     *db.DB
	People *people.Service
	Bank   *bank.Service // pays attending party members, through Earn
	Notify *notify.Service
	// Attend keeps the lessons' rolls and check-ins, the kit's attendance model, on the school's
	// clock.
	Attend *attend.Service
	Now    func() time.Time
}

// NewService returns the school service.
func NewService(d *db.DB, ps *people.Service, bs *bank.Service, ns *notify.Service) *Service {
	s := &Service{DB: d, People: ps, Bank: bs, Notify: ns, Now: db.Now}
	s.Attend = attend.New(d, ps.Cipher.Derive("school attendance tokens"))
	s.Attend.Now = func() time.Time { return s.Now() }
	s.Attend.Zone = ps.Zone
	return s
}

var notFound = errs.New(errs.NotFound, "error.not_found")

// role is what the actor is to a town's school: the staff who manage it, a reader of its offered
// menu (residents and village staff of the town), or nobody. An expert's account is none of
// these: it reaches its own record through its account (expertOf).
type role int

const (
	outsider role = iota
	reader
	manager
)

// roleIn is the one decision of who the actor is in a town's school.
func roleIn(a *auth.Actor, townID int64) role {
	if a == nil || townID == 0 {
		return outsider
	}
	if auth.Can(a, PermManage, auth.Scope{TownID: townID}) == nil {
		return manager
	}
	if all, villages := auth.Visible(a, PermMenu, townID); all || len(villages) > 0 {
		return reader
	}
	return outsider
}

// townOf is the town a listing is asked for: the one named, else the actor's own.
func townOf(a *auth.Actor, requested int64) int64 {
	if a == nil {
		return 0
	}
	return cmp.Or(requested, a.TownID)
}

// MayManage says whether the actor manages the school of a town (its own when townID is 0): nil,
// or the refusal every write of the pillar answers with (hide). Pages offer the forms only to
// those it lets through.
func (s *Service) MayManage(a *auth.Actor, townID int64) error {
	townID = townOf(a, townID)
	if roleIn(a, townID) != manager {
		return hide(a, townID)
	}
	return nil
}

// Reads reports whether the actor may read the offered menu of a town (its own when townID is 0).
func (s *Service) Reads(a *auth.Actor, townID int64) bool {
	return roleIn(a, townOf(a, townID)) >= reader
}

// ---- categories

// Category is a course category (课程类别): one of the nine every town has (TownID 0), or one the
// town added.
type Category struct {
	ID     int64  `json:"id"`
	TownID int64  `json:"town_id"`
	Name   string `json:"name"`
}

// CategoryInput adds a category to a town.
type CategoryInput struct {
	TownID int64  `json:"town_id"`
	Name   string `json:"name"`
}

// Categories lists the categories of a town (the actor's when townID is 0): the nine of every town
// first, then the town's own in the order they were added.
func (s *Service) Categories(ctx context.Context, a *auth.Actor, townID int64) ([]Category, error) {
	townID = townOf(a, townID)
	if roleIn(a, townID) == outsider {
		return nil, notFound
	}
	return s.categories(ctx, s.DB.Read(), townID)
}

// categories are a town's categories; it checks no permission.
func (s *Service) categories(ctx context.Context, q db.Querier, townID int64) ([]Category, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, COALESCE(town_id, 0), name FROM school_categories
		WHERE town_id IS NULL OR town_id = $1 ORDER BY COALESCE(town_id, 0), position, id`, townID)
	if err != nil {
		return nil, fmt.Errorf("school: categories: %w", err)
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		if err := rows.Scan(&c.ID, &c.TownID, &c.Name); err != nil {
			return nil, fmt.Errorf("school: categories: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// category is one of a town's categories, or NotFound when it is another town's or none.
func (s *Service) category(ctx context.Context, q db.Querier, townID, id int64) (Category, error) {
	var c Category
	err := q.QueryRowContext(ctx, `SELECT id, COALESCE(town_id, 0), name FROM school_categories WHERE id = $1 AND (town_id IS NULL OR town_id = $2)`, id, townID).
		Scan(&c.ID, &c.TownID, &c.Name)
	if db.IsNoRows(err) {
		return c, notFound
	}
	if err != nil {
		return c, fmt.Errorf("school: category %d: %w", id, err)
	}
	return c, nil
}

// AddCategory adds a category to a town, named unlike any the town has.
func (s *Service) AddCategory(ctx context.Context, a *auth.Actor, in CategoryInput) (Category, error) {
	c := Category{TownID: townOf(a, in.TownID), Name: strings.TrimSpace(in.Name)}
	if roleIn(a, c.TownID) != manager {
		return c, hide(a, c.TownID)
	}
	var f errs.Fields
	f.Text("name", c.Name, 20, true)
	if err := f.Err(); err != nil {
		return c, err
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM school_categories WHERE (town_id IS NULL OR town_id = $1) AND name = $2`, c.TownID, c.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &errs.Error{Code: errs.Conflict, Key: "school.category_exists", Fields: []errs.FieldError{{Field: "name", Key: "school.category_exists"}}}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO school_categories (town_id, name, position, created_at)
			VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM school_categories WHERE town_id = $1), $3) RETURNING id`,
			c.TownID, c.Name, s.Now()).Scan(&c.ID); err != nil {
			if db.IsUnique(err) {
				return &errs.Error{Code: errs.Conflict, Key: "school.category_exists", Fields: []errs.FieldError{{Field: "name", Key: "school.category_exists"}}}
			}
			return fmt.Errorf("school: add category: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "school.category.create", Entity: "school_category", EntityID: c.ID, TownID: c.TownID,
			Summary: auth.Summarize(nil, map[string]any{"name": c.Name})})
	})
	return c, err
}

// ---- shared checks

// hide is the refusal of a write in a town the actor does not manage: Forbidden to someone who
// manages no town's school at all (a resident, a village's staff), NotFound to staff of another
// town, who learn nothing of this one.
func hide(a *auth.Actor, townID int64) error {
	if all, _ := auth.Visible(a, PermManage, 0); !all {
		if a == nil || a.AccountID == 0 {
			return errs.New(errs.Unauthorized, "error.unauthorized")
		}
		return errs.New(errs.Forbidden, "error.forbidden")
	}
	return notFound
}
