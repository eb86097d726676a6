package consult

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/people"
)

// DepartmentLevels are the levels of a department: 市, 区 or 镇.
var DepartmentLevels = []string{"city", "district", "town"}

// Department is a 职能部门 of the town's directory: who answers referrals of the categories it
// handles, its contacts, and the logins it answers with.
type Department struct {
	ID           int64      `json:"id"`
	TownID       int64      `json:"town_id"`
	Level        string     `json:"level"`
	Name         string     `json:"name"`
	ContactName  string     `json:"contact_name"`
	ContactPhone string     `json:"contact_phone"`
	HeadName     string     `json:"head_name"`
	HeadPhone    string     `json:"head_phone"`
	CategoryIDs  []int64    `json:"category_ids"`
	Categories   []string   `json:"categories"`
	Active       bool       `json:"active"`
	Accounts     []DeptAcct `json:"accounts,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// DeptAcct is a login of a department, named with its masked phone; Head marks its head contact.
type DeptAcct struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Head  bool   `json:"head"`
}

// DepartmentInput creates or edits a department; TownID 0 is the actor's town.
type DepartmentInput struct {
	TownID       int64   `json:"town_id"`
	Level        string  `json:"level"`
	Name         string  `json:"name"`
	ContactName  string  `json:"contact_name"`
	ContactPhone string  `json:"contact_phone"`
	HeadName     string  `json:"head_name"`
	HeadPhone    string  `json:"head_phone"`
	CategoryIDs  []int64 `json:"category_ids"`
}

// DeptAccountInput gives a department a login: an account of that phone holding the
// dept_responder role of the town is linked; a new phone becomes such an account.
type DeptAccountInput struct {
	Phone string `json:"phone"`
	Name  string `json:"name"`
	Head  bool   `json:"head"`
}

const departmentCols = `id, town_id, level, name, contact_name, contact_phone, head_name, head_phone, categories, active, created_at, updated_at`

// scanDepartment reads a department row of departmentCols.
func (s *Service) scanDepartment(sc interface{ Scan(...any) error }) (Department, error) {
	var d Department
	var cats string
	if err := sc.Scan(&d.ID, &d.TownID, &d.Level, &d.Name, &d.ContactName, &d.ContactPhone, &d.HeadName, &d.HeadPhone, &cats, &d.Active, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return d, err
	}
	d.CategoryIDs = referralIDs(cats)
	return d, nil
}

// referralIDs reads a comma-separated list of ids, skipping what is not one.
func referralIDs(s string) []int64 {
	out := []int64{}
	for _, p := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64); err == nil && id > 0 {
			out = append(out, id)
		}
	}
	return out
}

// nameCategories fills the names of a department's categories.
func (s *Service) nameCategories(ctx context.Context, q db.Querier, d *Department) error {
	cats, err := s.categories(ctx, q, d.TownID)
	if err != nil {
		return err
	}
	d.Categories = []string{}
	for _, c := range cats {
		if slices.Contains(d.CategoryIDs, c.ID) {
			d.Categories = append(d.Categories, c.Name)
		}
	}
	return nil
}

// Departments lists a town's directory, active first, for those who manage it or host in it (a
// host picks departments to refer to).
func (s *Service) Departments(ctx context.Context, a *auth.Actor, townID int64) ([]Department, error) {
	if townID == 0 && a != nil {
		townID = a.TownID
	}
	if !manages(a, townID) {
		if all, villages := hostScope(a, townID); !all && len(villages) == 0 {
			return nil, auth.Refuse(a, PermManage)
		}
	}
	q := s.DB.Read()
	rows, err := q.QueryContext(ctx, `SELECT `+departmentCols+` FROM consult_departments WHERE town_id = $1 ORDER BY active DESC, level, name`, townID)
	if err != nil {
		return nil, fmt.Errorf("consult: departments: %w", err)
	}
	out := []Department{}
	for rows.Next() {
		d, err := s.scanDepartment(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("consult: departments: %w", err)
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.nameCategories(ctx, q, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// department reads a department with no check of who asks.
func (s *Service) department(ctx context.Context, q db.Querier, id int64) (Department, error) {
	d, err := s.scanDepartment(q.QueryRowContext(ctx, `SELECT `+departmentCols+` FROM consult_departments WHERE id = $1`, id))
	if db.IsNoRows(err) {
		return d, notFound
	}
	if err != nil {
		return d, fmt.Errorf("consult: department %d: %w", id, err)
	}
	return d, nil
}

// Department returns a department of the town the actor manages, with its logins.
func (s *Service) Department(ctx context.Context, a *auth.Actor, id int64) (Department, error) {
	q := s.DB.Read()
	d, err := s.department(ctx, q, id)
	if err != nil {
		return d, err
	}
	if !manages(a, d.TownID) {
		return Department{}, notFound
	}
	if err := s.nameCategories(ctx, q, &d); err != nil {
		return d, err
	}
	rows, err := q.QueryContext(ctx, `SELECT ac.name, ac.phone, da.head FROM consult_department_accounts da JOIN accounts ac ON ac.id = da.account_id
		WHERE da.department_id = $1 ORDER BY da.head DESC, ac.name`, id)
	if err != nil {
		return d, fmt.Errorf("consult: department accounts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var x DeptAcct
		if err := rows.Scan(&x.Name, &x.Phone, &x.Head); err != nil {
			return d, err
		}
		x.Phone = people.MaskPhone(x.Phone)
		d.Accounts = append(d.Accounts, x)
	}
	return d, rows.Err()
}

// checkDepartment validates a department's fields and its categories (the town's).
func (s *Service) checkDepartment(ctx context.Context, q db.Querier, townID int64, in *DepartmentInput) error {
	in.Name, in.ContactName, in.ContactPhone = strings.TrimSpace(in.Name), strings.TrimSpace(in.ContactName), strings.TrimSpace(in.ContactPhone)
	in.HeadName, in.HeadPhone = strings.TrimSpace(in.HeadName), strings.TrimSpace(in.HeadPhone)
	var f errs.Fields
	if !slices.Contains(DepartmentLevels, in.Level) {
		f.Add("level", "consult.department.level_invalid")
	}
	f.Text("name", in.Name, 60, true)
	f.Text("contact_name", in.ContactName, 30, false)
	f.Text("head_name", in.HeadName, 30, false)
	for field, p := range map[string]string{"contact_phone": in.ContactPhone, "head_phone": in.HeadPhone} {
		f.Text(field, p, 20, false)
		if p != "" && strings.Trim(p, "0123456789-") != "" {
			f.Add(field, "field.phone_invalid")
		}
	}
	cats, err := s.categories(ctx, q, townID)
	if err != nil {
		return err
	}
	var ids []int64
	for _, id := range in.CategoryIDs {
		if !slices.ContainsFunc(cats, func(c Category) bool { return c.ID == id }) {
			f.Add("category_ids", "consult.category_invalid")
			break
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	in.CategoryIDs = ids
	return f.Err()
}

// referralJoin writes ids as a comma-separated list.
func referralJoin(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// SaveDepartment creates a department of a town the actor manages (id 0) or edits one.
func (s *Service) SaveDepartment(ctx context.Context, a *auth.Actor, id int64, in DepartmentInput) (Department, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		townID := in.TownID
		if id != 0 {
			d, err := s.department(ctx, tx, id)
			if err != nil {
				return err
			}
			townID = d.TownID
		}
		if townID == 0 && a != nil {
			townID = a.TownID
		}
		if !manages(a, townID) {
			return auth.Refuse(a, PermManage)
		}
		if err := s.checkDepartment(ctx, tx, townID, &in); err != nil {
			return err
		}
		now := s.Now()
		var err error
		if id == 0 {
			err = tx.QueryRowContext(ctx, `INSERT INTO consult_departments (town_id, level, name, contact_name, contact_phone, head_name, head_phone, categories, active, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $9) RETURNING id`, townID, in.Level, in.Name, in.ContactName, in.ContactPhone, in.HeadName, in.HeadPhone,
				referralJoin(in.CategoryIDs), now).Scan(&id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE consult_departments SET level = $1, name = $2, contact_name = $3, contact_phone = $4, head_name = $5, head_phone = $6,
				categories = $7, updated_at = $8 WHERE id = $9`, in.Level, in.Name, in.ContactName, in.ContactPhone, in.HeadName, in.HeadPhone, referralJoin(in.CategoryIDs), now, id)
		}
		if db.IsUnique(err) {
			return &errs.Error{Code: errs.Conflict, Key: "consult.department.name_taken", Fields: []errs.FieldError{{Field: "name", Key: "consult.department.name_taken"}}}
		}
		if err != nil {
			return fmt.Errorf("consult: save department: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.department.save", Entity: "consult_department", EntityID: id, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"name": in.Name, "level": in.Level})})
	})
	if err != nil {
		return Department{}, err
	}
	return s.Department(ctx, a, id)
}

// SetDepartmentActive deactivates a department with a reason (kept in the audit log), or
// activates it again. A deactivated department gets no new referrals; those it has stay its own.
func (s *Service) SetDepartmentActive(ctx context.Context, a *auth.Actor, id int64, active bool, reason string) (Department, error) {
	reason = strings.TrimSpace(reason)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		d, err := s.department(ctx, tx, id)
		if err != nil {
			return err
		}
		if !manages(a, d.TownID) {
			return auth.Refuse(a, PermManage)
		}
		var f errs.Fields
		f.Text("reason", reason, 200, !active)
		if err := f.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consult_departments SET active = $1, updated_at = $2 WHERE id = $3`, active, s.Now(), id); err != nil {
			return fmt.Errorf("consult: department active: %w", err)
		}
		act := "consult.department.activate"
		if !active {
			act = "consult.department.deactivate"
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: act, Entity: "consult_department", EntityID: id, TownID: d.TownID,
			Summary: auth.Summarize(nil, map[string]any{"name": d.Name, "reason": reason})})
	})
	if err != nil {
		return Department{}, err
	}
	return s.Department(ctx, a, id)
}

// AddDepartmentAccount gives a department a login: the account of the phone when it holds the
// dept_responder role of the town and no other department's, or a new account with that role
// (its activation returned, to hand over once). Head makes it the head contact, to whom overdue
// referrals escalate; there is one head.
func (s *Service) AddDepartmentAccount(ctx context.Context, a *auth.Actor, au *auth.Service, id int64, in DeptAccountInput) (Department, *auth.Activation, error) {
	in.Phone, in.Name = strings.TrimSpace(in.Phone), strings.TrimSpace(in.Name)
	d, err := s.department(ctx, s.DB.Read(), id)
	if err != nil {
		return d, nil, err
	}
	if !manages(a, d.TownID) {
		return d, nil, auth.Refuse(a, PermManage)
	}
	if !auth.ValidPhone(in.Phone) {
		return d, nil, errs.Field("phone", "field.phone_invalid")
	}
	var accountID int64
	var act *auth.Activation
	err = s.DB.Read().QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, in.Phone).Scan(&accountID)
	switch {
	case db.IsNoRows(err):
		if in.Name == "" {
			return d, nil, errs.Field("name", "field.required")
		}
		ac, err := au.CreateAccount(ctx, a, auth.AccountInput{Phone: in.Phone, Name: in.Name, Grants: []auth.Grant{{Role: auth.DeptResponder, TownID: d.TownID}}})
		if err != nil {
			return d, nil, err
		}
		accountID, act = ac.AccountID, &ac
	case err != nil:
		return d, nil, fmt.Errorf("consult: department account: %w", err)
	default:
		var n int
		if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM account_roles WHERE account_id = $1 AND role = $2 AND town_id = $3`,
			accountID, string(auth.DeptResponder), d.TownID).Scan(&n); err != nil {
			return d, nil, fmt.Errorf("consult: department account: %w", err)
		}
		if n == 0 {
			return d, nil, errs.Field("phone", "consult.department.not_responder")
		}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var other int64
		err := tx.QueryRowContext(ctx, `SELECT department_id FROM consult_department_accounts WHERE account_id = $1`, accountID).Scan(&other)
		if err == nil && other != id {
			return &errs.Error{Code: errs.Conflict, Key: "consult.department.account_taken", Fields: []errs.FieldError{{Field: "phone", Key: "consult.department.account_taken"}}}
		}
		if err != nil && !db.IsNoRows(err) {
			return fmt.Errorf("consult: department account: %w", err)
		}
		if in.Head {
			if _, err := tx.ExecContext(ctx, `UPDATE consult_department_accounts SET head = FALSE WHERE department_id = $1`, id); err != nil {
				return fmt.Errorf("consult: department head: %w", err)
			}
		}
		if other == id {
			_, err = tx.ExecContext(ctx, `UPDATE consult_department_accounts SET head = $1 WHERE account_id = $2`, in.Head, accountID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO consult_department_accounts (department_id, account_id, head) VALUES ($1, $2, $3)`, id, accountID, in.Head)
		}
		if err != nil {
			return fmt.Errorf("consult: department account: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.department.account", Entity: "consult_department", EntityID: id, TownID: d.TownID,
			Summary: auth.Summarize(nil, map[string]any{"name": d.Name, "phone": people.MaskPhone(in.Phone), "head": in.Head})})
	})
	if err != nil {
		return d, nil, err
	}
	d, err = s.Department(ctx, a, id)
	return d, act, err
}

// myDepartment is the department the actor's login answers for (PermRespond), 0 for none.
func (s *Service) myDepartment(ctx context.Context, q db.Querier, a *auth.Actor) (int64, error) {
	if a == nil || a.AccountID <= 0 || !a.Has(auth.DeptResponder) {
		return 0, nil
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT da.department_id FROM consult_department_accounts da JOIN consult_departments d ON d.id = da.department_id
		WHERE da.account_id = $1 AND d.town_id = $2`, a.AccountID, a.TownID).Scan(&id)
	if db.IsNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("consult: my department: %w", err)
	}
	return id, nil
}

// DeptRates are a department's three rates (响应率, 解决率, 满意率) over a period.
type DeptRates struct {
	DepartmentID int64      `json:"department_id"`
	Name         string     `json:"name"`
	Rates        flow.Rates `json:"rates"`
	Response     float64    `json:"response"`
	Resolution   float64    `json:"resolution"`
	Satisfaction float64    `json:"satisfaction"`
}

// DepartmentRates counts, per department of a town, the three rates of the referrals opened in
// [from, to) that it owns (or, not yet accepted, was first sent to), for those who manage the
// town. The figures and the department's page call it.
func (s *Service) DepartmentRates(ctx context.Context, a *auth.Actor, townID int64, from, to time.Time) ([]DeptRates, error) {
	if townID == 0 && a != nil {
		townID = a.TownID
	}
	if !manages(a, townID) {
		return nil, auth.Refuse(a, PermManage)
	}
	return s.DepartmentRatesOf(ctx, s.DB.Read(), townID, from, to)
}

// DepartmentRatesOf is DepartmentRates read through q, for a caller that decided who may see the
// town's figures (the dashboard, which may read from a replica).
func (s *Service) DepartmentRatesOf(ctx context.Context, q db.Querier, townID int64, from, to time.Time) ([]DeptRates, error) {
	by, err := ReferralFlow.Rates(ctx, q, from, to, flow.Orders{SQL: `SELECT r.id, COALESCE(r.department_id, (SELECT MIN(t.department_id) FROM consult_referral_targets t WHERE t.referral_id = r.id), 0)
		FROM consult_referrals r WHERE r.town_id = $1`, Args: []any{townID}})
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT id, name FROM consult_departments WHERE town_id = $1 ORDER BY active DESC, level, name`, townID)
	if err != nil {
		return nil, fmt.Errorf("consult: department rates: %w", err)
	}
	defer rows.Close()
	out := []DeptRates{}
	for rows.Next() {
		var d DeptRates
		if err := rows.Scan(&d.DepartmentID, &d.Name); err != nil {
			return nil, err
		}
		d.Rates = by[d.DepartmentID]
		d.Response, d.Resolution, d.Satisfaction = d.Rates.Response(), d.Rates.Resolution(), d.Rates.Satisfaction()
		out = append(out, d)
	}
	return out, rows.Err()
}

// referralDepartments are a town's active departments, to refer to or transfer to; the caller
// has checked who asks.
func (s *Service) referralDepartments(ctx context.Context, townID int64) ([]Department, error) {
	q := s.DB.Read()
	rows, err := q.QueryContext(ctx, `SELECT `+departmentCols+` FROM consult_departments WHERE town_id = $1 AND active = TRUE ORDER BY level, name`, townID)
	if err != nil {
		return nil, fmt.Errorf("consult: departments: %w", err)
	}
	defer rows.Close()
	out := []Department{}
	for rows.Next() {
		d, err := s.scanDepartment(rows)
		if err != nil {
			return nil, fmt.Errorf("consult: departments: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// referralPct writes a rate as a whole percentage, or a dash when nothing was counted.
func referralPct(n, d int) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(d))
}

// ResponsePct is the 响应率 as the pages write it.
func (d DeptRates) ResponsePct() string { return referralPct(d.Rates.Responded, d.Rates.Opened) }

// ResolutionPct is the 解决率 as the pages write it.
func (d DeptRates) ResolutionPct() string { return referralPct(d.Rates.Done, d.Rates.Opened) }

// SatisfactionPct is the 满意率 as the pages write it.
func (d DeptRates) SatisfactionPct() string { return referralPct(d.Rates.Satisfied, d.Rates.Rated) }
