package honours

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// DefaultCategories are the codes of the categories every town's honour roll starts with, in
// order: 孝老爱亲, 助人为乐, 见义勇为, 诚实守信, 敬业奉献, 环境美化. Their names are the catalog's
// (honours.category.<code>); the categories a town adds are named by the town.
var DefaultCategories = []string{"filial", "helping", "brave", "honest", "dedicated", "green"}

// Category is a category of the honour roll.
type Category struct {
	ID     int64  `json:"id"`
	Code   string `json:"code,omitempty"`
	Name   string `json:"name"`
	Active bool   `json:"active"`
}

// ensureCategories gives a town the default categories it does not have yet (two requests at once
// add each once).
func (s *Service) ensureCategories(ctx context.Context, q db.Querier, townID int64) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_categories WHERE town_id = $1 AND code <> ''`, townID).Scan(&n); err != nil {
		return fmt.Errorf("honours: categories: %w", err)
	}
	if n >= len(DefaultCategories) {
		return nil
	}
	for i, code := range DefaultCategories {
		if _, err := q.ExecContext(ctx, `INSERT INTO honours_categories (town_id, code, name, position, active, created_at) VALUES ($1, $2, '', $3, TRUE, $4)
			ON CONFLICT (town_id, code) WHERE code <> '' DO NOTHING`, townID, code, i, s.Now()); err != nil {
			return fmt.Errorf("honours: default category %s: %w", code, err)
		}
	}
	return nil
}

// categories are a town's categories in order (the defaults first), all of them or the active.
func (s *Service) categories(ctx context.Context, q db.Querier, townID int64, activeOnly bool) ([]Category, error) {
	w := db.Querier(s.DB.Write())
	if tx, ok := q.(*sql.Tx); ok {
		w = tx // the writer's connection is the transaction's, on SQLite the only one
	}
	if err := s.ensureCategories(ctx, w, townID); err != nil {
		return nil, err
	}
	cond := ""
	if activeOnly {
		cond = " AND active"
	}
	rows, err := q.QueryContext(ctx, `SELECT id, code, name, active FROM honours_categories WHERE town_id = $1`+cond+` ORDER BY code = '', position, id`, townID)
	if err != nil {
		return nil, fmt.Errorf("honours: categories: %w", err)
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		if err := rows.Scan(&c.ID, &c.Code, &c.Name, &c.Active); err != nil {
			return nil, err
		}
		if c.Code != "" {
			c.Name = s.t("honours.category." + c.Code)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Categories are the town's categories of the honour roll, for any logged-in person of the town
// (a nomination form's picker) and the public wall's filter.
func (s *Service) Categories(ctx context.Context, townID int64) ([]Category, error) {
	return s.categories(ctx, s.DB.Read(), townID, true)
}

// category checks that a category a request names is an active one of the town: another town's
// answers NotFound on the field, like a missing one.
func (s *Service) category(ctx context.Context, q db.Querier, townID, id int64, field string) (Category, error) {
	cs, err := s.categories(ctx, q, townID, true)
	if err != nil {
		return Category{}, err
	}
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return Category{}, &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: field, Key: "honours.category.unknown"}}}
}

// maxCategoryName bounds a category's name.
const maxCategoryName = 20

// AddCategory adds a category to the town's honour roll (the list is extensible); a name the town
// has already answers Conflict on the field. Only the town's staff add one.
func (s *Service) AddCategory(ctx context.Context, a *auth.Actor, townID int64, name string) (Category, error) {
	townID = townOf(a, townID)
	if !manages(a, townID) {
		return Category{}, auth.Refuse(a, PermManage)
	}
	var f errs.Fields
	name = strings.TrimSpace(name)
	f.Text("name", name, maxCategoryName, true)
	if err := f.Err(); err != nil {
		return Category{}, err
	}
	c := Category{Name: name, Active: true}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		cs, err := s.categories(ctx, tx, townID, false)
		if err != nil {
			return err
		}
		for _, x := range cs {
			if x.Name == name {
				return &errs.Error{Code: errs.Conflict, Key: "error.invalid", Fields: []errs.FieldError{{Field: "name", Key: "honours.category.taken"}}}
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO honours_categories (town_id, code, name, position, active, created_at) VALUES ($1, '', $2, $3, TRUE, $4) RETURNING id`,
			townID, name, len(cs), s.Now()).Scan(&c.ID); err != nil {
			return fmt.Errorf("honours: add category: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.category.add", Entity: "honours_category", EntityID: c.ID, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"name": name})})
	})
	return c, err
}
