package consult

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// Category is a topic category (议题类别), which also names what a department handles and an
// Open311 service: one of the six every town has (Code set, its Name from the catalog's
// consult.category.<code>: 人居环境, 饮水安全, 便民设施, 文化服务, 道路交通, 其他), or one the town added.
type Category struct {
	ID     int64  `json:"id"`
	TownID int64  `json:"town_id,omitzero"`
	Code   string `json:"code,omitempty"`
	Name   string `json:"name,omitempty"`
}

// Categories lists a town's categories (the actor's when townID is 0): the six first, then the
// town's own in the order they were added. Anyone of the town reads them.
func (s *Service) Categories(ctx context.Context, a *auth.Actor, townID int64) ([]Category, error) {
	if townID == 0 && a != nil {
		townID = a.TownID
	}
	return s.categories(ctx, s.DB.Read(), townID)
}

func (s *Service) categories(ctx context.Context, q db.Querier, townID int64) ([]Category, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, COALESCE(town_id, 0), code, name FROM consult_categories
		WHERE town_id IS NULL OR town_id = $1 ORDER BY COALESCE(town_id, 0), position, id`, townID)
	if err != nil {
		return nil, fmt.Errorf("consult: categories: %w", err)
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		if err := rows.Scan(&c.ID, &c.TownID, &c.Code, &c.Name); err != nil {
			return nil, fmt.Errorf("consult: categories: %w", err)
		}
		out = append(out, s.named(c))
	}
	return out, rows.Err()
}

// category is one of a town's categories; another town's or none is refused on the field
// category_id.
func (s *Service) category(ctx context.Context, q db.Querier, townID, id int64) (Category, error) {
	var c Category
	err := q.QueryRowContext(ctx, `SELECT id, COALESCE(town_id, 0), code, name FROM consult_categories WHERE id = $1 AND (town_id IS NULL OR town_id = $2)`, id, townID).
		Scan(&c.ID, &c.TownID, &c.Code, &c.Name)
	if db.IsNoRows(err) {
		return c, &errs.Error{Code: errs.Invalid, Key: "error.invalid", Fields: []errs.FieldError{{Field: "category_id", Key: "consult.category_invalid"}}}
	}
	if err != nil {
		return c, fmt.Errorf("consult: category %d: %w", id, err)
	}
	return s.named(c), nil
}

// CategoryCodes are the six categories every town has, in their order (the migration seeds them).
var CategoryCodes = []string{"environment", "water", "facilities", "culture", "roads", "other"}

// named gives one of the six its name from the catalog, in the language outcomes are written in.
func (s *Service) named(c Category) Category {
	if c.Code != "" && s.Notify != nil && s.Notify.T != nil {
		c.Name = s.Notify.T("consult.category." + c.Code)
	}
	return c
}

// CategoryInput adds a category to a town.
type CategoryInput struct {
	TownID int64  `json:"town_id"`
	Name   string `json:"name"`
}

// AddCategory adds a category to a town, named unlike any it has; the town's admins add them.
func (s *Service) AddCategory(ctx context.Context, a *auth.Actor, in CategoryInput) (Category, error) {
	c := Category{TownID: in.TownID, Name: strings.TrimSpace(in.Name)}
	if c.TownID == 0 && a != nil {
		c.TownID = a.TownID
	}
	if !manages(a, c.TownID) {
		return c, auth.Refuse(a, PermManage)
	}
	var f errs.Fields
	f.Text("name", c.Name, 20, true)
	if err := f.Err(); err != nil {
		return c, err
	}
	taken := &errs.Error{Code: errs.Conflict, Key: "consult.category_exists", Fields: []errs.FieldError{{Field: "name", Key: "consult.category_exists"}}}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		cats, err := s.categories(ctx, tx, c.TownID)
		if err != nil {
			return err
		}
		for _, o := range cats {
			if o.Name == c.Name {
				return taken
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO consult_categories (town_id, name, position, created_at)
			VALUES ($1, $2, (SELECT COALESCE(MAX(position), 6) + 1 FROM consult_categories WHERE town_id = $1), $3) RETURNING id`,
			c.TownID, c.Name, s.Now()).Scan(&c.ID); err != nil {
			if db.IsUnique(err) {
				return taken
			}
			return fmt.Errorf("consult: add category: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.category.create", Entity: "consult_category", EntityID: c.ID, TownID: c.TownID,
			Summary: auth.Summarize(nil, map[string]any{"name": c.Name})})
	})
	return c, err
}
