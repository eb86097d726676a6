package alliance

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// UnitKinds are the kinds of a member unit: 机关, 事业单位, 国有企业, 非公企业, 高校, 医院, 民主党派,
// 社会组织.
var UnitKinds = []string{"agency", "institution", "state_enterprise", "private_enterprise", "university", "hospital", "party", "social"}

// Unit is a member unit (成员单位) of the town's 党建协调委员会: its party organisation, its liaison
// person and contacts, when it joined, whether it is active, and the logins it works with.
type Unit struct {
	ID           int64      `json:"id"`
	TownID       int64      `json:"town_id"`
	Name         string     `json:"name"`
	Kind         string     `json:"kind"`
	PartyOrg     string     `json:"party_org"`
	LiaisonName  string     `json:"liaison_name"`
	LiaisonPhone string     `json:"liaison_phone"`
	Contacts     string     `json:"contacts"`
	JoinedOn     string     `json:"joined_on"`
	Active       bool       `json:"active"`
	Accounts     []UnitAcct `json:"accounts,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// UnitAcct is a login of a unit, named with its masked phone.
type UnitAcct struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// UnitInput creates or edits a unit; TownID 0 is the actor's town. JoinedOn is a day of the town's
// calendar (2006-01-02).
type UnitInput struct {
	TownID       int64  `json:"town_id"`
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	PartyOrg     string `json:"party_org"`
	LiaisonName  string `json:"liaison_name"`
	LiaisonPhone string `json:"liaison_phone"`
	Contacts     string `json:"contacts"`
	JoinedOn     string `json:"joined_on"`
}

// UnitAccountInput gives a unit a login: an account of that phone holding the unit_liaison role of
// the town is linked; a new phone becomes such an account.
type UnitAccountInput struct {
	Phone string `json:"phone"`
	Name  string `json:"name"`
}

// UnitFilter narrows a town's units: a kind, a word of the name, and whether inactive ones show.
type UnitFilter struct {
	Kind     string
	Q        string
	Inactive bool
}

const unitCols = `id, town_id, name, kind, party_org, liaison_name, liaison_phone, contacts, joined_on, active, created_at, updated_at`

func scanUnit(sc interface{ Scan(...any) error }) (Unit, error) {
	var u Unit
	err := sc.Scan(&u.ID, &u.TownID, &u.Name, &u.Kind, &u.PartyOrg, &u.LiaisonName, &u.LiaisonPhone, &u.Contacts, &u.JoinedOn, &u.Active, &u.CreatedAt, &u.UpdatedAt)
	return u, err
}

// Units lists a town's member units, active first, for its alliance staff and the villages' staff
// (who see which units reach them). A liaison sees their own unit only.
func (s *Service) Units(ctx context.Context, a *auth.Actor, townID int64, f UnitFilter) ([]Unit, error) {
	townID = townOf(a, townID)
	q := s.DB.Read()
	where, args := []string{"town_id = $1"}, []any{townID}
	if !manages(a, townID) {
		all, villages := villageScope(a, townID)
		if !all && len(villages) == 0 {
			mine, err := s.myUnit(ctx, q, a)
			if err != nil {
				return nil, err
			}
			if mine == 0 {
				return nil, auth.Refuse(a, PermManage)
			}
			where = append(where, fmt.Sprintf("id = %d", mine))
		}
	}
	if f.Kind != "" {
		args = append(args, f.Kind)
		where = append(where, fmt.Sprintf("kind = $%d", len(args)))
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		args = append(args, "%"+db.LikePrefix(q))
		where = append(where, fmt.Sprintf("name LIKE $%d ESCAPE '\\'", len(args)))
	}
	if !f.Inactive {
		where = append(where, "active")
	}
	rows, err := q.QueryContext(ctx, `SELECT `+unitCols+` FROM alliance_units WHERE `+strings.Join(where, " AND ")+` ORDER BY active DESC, joined_on, name`, args...)
	if err != nil {
		return nil, fmt.Errorf("alliance: units: %w", err)
	}
	defer rows.Close()
	out := []Unit{}
	for rows.Next() {
		u, err := scanUnit(rows)
		if err != nil {
			return nil, fmt.Errorf("alliance: units: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// unit reads a unit with no check of who asks.
func (s *Service) unit(ctx context.Context, q db.Querier, id int64) (Unit, error) {
	u, err := scanUnit(q.QueryRowContext(ctx, `SELECT `+unitCols+` FROM alliance_units WHERE id = $1`, id))
	if db.IsNoRows(err) {
		return u, notFound
	}
	if err != nil {
		return u, fmt.Errorf("alliance: unit %d: %w", id, err)
	}
	return u, nil
}

// seesUnit reports whether the actor may read a unit: its town's alliance and village staff, and
// its own liaisons.
func (s *Service) seesUnit(ctx context.Context, q db.Querier, a *auth.Actor, u Unit) (bool, error) {
	if manages(a, u.TownID) {
		return true, nil
	}
	if all, villages := villageScope(a, u.TownID); all || len(villages) > 0 {
		return true, nil
	}
	mine, err := s.myUnit(ctx, q, a)
	return mine != 0 && mine == u.ID, err
}

// refuseUnit is the refusal of a change to a unit by someone who does not manage it: Forbidden to
// those who may read it (its liaison, a village's staff), NotFound to anyone else, exactly like a
// missing unit.
func (s *Service) refuseUnit(ctx context.Context, q db.Querier, a *auth.Actor, u Unit) error {
	if a == nil || a.AccountID == 0 {
		return errs.New(errs.Unauthorized, "error.unauthorized")
	}
	ok, err := s.seesUnit(ctx, q, a, u)
	if err != nil {
		return err
	}
	if ok {
		return errs.New(errs.Forbidden, "error.forbidden")
	}
	return notFound
}

// Unit returns a unit the actor may read; its logins are listed for those who manage it.
func (s *Service) Unit(ctx context.Context, a *auth.Actor, id int64) (Unit, error) {
	q := s.DB.Read()
	u, err := s.unit(ctx, q, id)
	if err != nil {
		return u, err
	}
	if ok, err := s.seesUnit(ctx, q, a, u); err != nil || !ok {
		if err == nil {
			err = notFound
		}
		return Unit{}, err
	}
	if !manages(a, u.TownID) {
		return u, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT ac.name, ac.phone FROM alliance_unit_accounts ua JOIN accounts ac ON ac.id = ua.account_id
		WHERE ua.unit_id = $1 ORDER BY ac.name`, id)
	if err != nil {
		return u, fmt.Errorf("alliance: unit accounts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var x UnitAcct
		if err := rows.Scan(&x.Name, &x.Phone); err != nil {
			return u, err
		}
		x.Phone = people.MaskPhone(x.Phone)
		u.Accounts = append(u.Accounts, x)
	}
	return u, rows.Err()
}

// Validate checks a unit's fields as a person typed them, and trims them.
func (in *UnitInput) Validate() error {
	in.Name, in.PartyOrg, in.Contacts = strings.TrimSpace(in.Name), strings.TrimSpace(in.PartyOrg), strings.TrimSpace(in.Contacts)
	in.LiaisonName, in.LiaisonPhone, in.JoinedOn = strings.TrimSpace(in.LiaisonName), strings.TrimSpace(in.LiaisonPhone), strings.TrimSpace(in.JoinedOn)
	var f errs.Fields
	f.Text("name", in.Name, 60, true)
	if !slices.Contains(UnitKinds, in.Kind) {
		f.Add("kind", "alliance.unit.kind_invalid")
	}
	f.Text("party_org", in.PartyOrg, 80, false)
	f.Text("liaison_name", in.LiaisonName, 30, false)
	f.Text("liaison_phone", in.LiaisonPhone, 20, false)
	if in.LiaisonPhone != "" && strings.Trim(in.LiaisonPhone, "0123456789-") != "" {
		f.Add("liaison_phone", "field.phone_invalid")
	}
	f.Text("contacts", in.Contacts, 500, false)
	if in.JoinedOn == "" {
		f.Add("joined_on", "field.required")
	} else if _, ok := clock.ParseDay(in.JoinedOn, time.UTC); !ok {
		f.Add("joined_on", "field.day_invalid")
	}
	return f.Err()
}

// SaveUnit creates a member unit of a town the actor manages (id 0) or edits one. A unit cannot
// join after today.
func (s *Service) SaveUnit(ctx context.Context, a *auth.Actor, id int64, in UnitInput) (Unit, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		townID := townOf(a, in.TownID)
		if id != 0 {
			u, err := s.unit(ctx, tx, id)
			if err != nil {
				return err
			}
			if townID = u.TownID; !manages(a, townID) {
				return s.refuseUnit(ctx, tx, a, u)
			}
		}
		if !manages(a, townID) {
			return auth.Refuse(a, PermManage)
		}
		if err := in.Validate(); err != nil {
			return err
		}
		today, err := s.townToday(ctx, townID)
		if err != nil {
			return err
		}
		if in.JoinedOn > today {
			return errs.Field("joined_on", "alliance.unit.joined_future")
		}
		now := s.Now()
		if id == 0 {
			err = tx.QueryRowContext(ctx, `INSERT INTO alliance_units (town_id, name, kind, party_org, liaison_name, liaison_phone, contacts, joined_on, active, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $9) RETURNING id`, townID, in.Name, in.Kind, in.PartyOrg, in.LiaisonName, in.LiaisonPhone, in.Contacts, in.JoinedOn, now).Scan(&id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE alliance_units SET name = $1, kind = $2, party_org = $3, liaison_name = $4, liaison_phone = $5, contacts = $6,
				joined_on = $7, updated_at = $8 WHERE id = $9`, in.Name, in.Kind, in.PartyOrg, in.LiaisonName, in.LiaisonPhone, in.Contacts, in.JoinedOn, now, id)
		}
		if db.IsUnique(err) {
			return &errs.Error{Code: errs.Conflict, Key: "alliance.unit.name_taken", Fields: []errs.FieldError{{Field: "name", Key: "alliance.unit.name_taken"}}}
		}
		if err != nil {
			return fmt.Errorf("alliance: save unit: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.unit.save", Entity: "alliance_unit", EntityID: id, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"name": in.Name, "kind": in.Kind})})
	})
	if err != nil {
		return Unit{}, err
	}
	return s.Unit(ctx, a, id)
}

// SetUnitActive takes a unit off the committee with a reason (kept in the audit log), or puts it
// back. An inactive unit keeps its history; it offers no new resources and joins no new projects.
func (s *Service) SetUnitActive(ctx context.Context, a *auth.Actor, id int64, active bool, reason string) (Unit, error) {
	reason = strings.TrimSpace(reason)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		u, err := s.unit(ctx, tx, id)
		if err != nil {
			return err
		}
		if !manages(a, u.TownID) {
			return s.refuseUnit(ctx, tx, a, u)
		}
		var f errs.Fields
		f.Text("reason", reason, 200, !active)
		if err := f.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alliance_units SET active = $1, updated_at = $2 WHERE id = $3`, active, s.Now(), id); err != nil {
			return fmt.Errorf("alliance: unit active: %w", err)
		}
		act := "alliance.unit.activate"
		if !active {
			act = "alliance.unit.deactivate"
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: act, Entity: "alliance_unit", EntityID: id, TownID: u.TownID,
			Summary: auth.Summarize(nil, map[string]any{"name": u.Name, "reason": reason})})
	})
	if err != nil {
		return Unit{}, err
	}
	return s.Unit(ctx, a, id)
}

// UnitAccountResult is a unit after a login was added, with the new login's one-time password
// when a new account was made (shown once, never again).
type UnitAccountResult struct {
	Unit     Unit   `json:"unit"`
	Password string `json:"password,omitempty"`
}

// AddUnitAccount gives a unit a login: the account of the phone when it holds the unit_liaison role
// of the town and no other unit's, or a new account with that role (its activation returned, to
// hand over once). The town's alliance staff make these logins themselves: the role reaches no
// further than the unit, which they manage.
func (s *Service) AddUnitAccount(ctx context.Context, a *auth.Actor, au *auth.Service, id int64, in UnitAccountInput) (Unit, *auth.Activation, error) {
	in.Phone, in.Name = strings.TrimSpace(in.Phone), strings.TrimSpace(in.Name)
	u, err := s.unit(ctx, s.DB.Read(), id)
	if err != nil {
		return Unit{}, nil, err
	}
	if !manages(a, u.TownID) {
		return Unit{}, nil, s.refuseUnit(ctx, s.DB.Read(), a, u)
	}
	if !auth.ValidPhone(in.Phone) {
		return Unit{}, nil, errs.Field("phone", "field.phone_invalid")
	}
	var exists int
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE phone = $1`, in.Phone).Scan(&exists); err != nil {
		return Unit{}, nil, fmt.Errorf("alliance: unit account: %w", err)
	}
	var act *auth.Activation
	var hash string
	if exists == 0 {
		var f errs.Fields
		f.Text("name", in.Name, 30, true)
		if err := f.Err(); err != nil {
			return Unit{}, nil, err
		}
		// Hashing is slow on purpose: before the transaction, not inside it.
		act = &auth.Activation{Name: in.Name, Phone: in.Phone, Password: auth.OneTimePassword()}
		hash = auth.HashPassword(act.Password)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var accountID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, in.Phone).Scan(&accountID)
		switch {
		case db.IsNoRows(err) && act != nil:
			if accountID, err = au.InsertAccount(ctx, tx, in.Phone, in.Name, 0, hash, true); err != nil {
				if db.IsUnique(err) {
					return &errs.Error{Code: errs.Conflict, Key: "auth.phone_taken", Fields: []errs.FieldError{{Field: "phone", Key: "auth.phone_taken"}}}
				}
				return fmt.Errorf("alliance: unit account: %w", err)
			}
			if err := au.InsertGrant(ctx, tx, accountID, auth.Grant{Role: auth.UnitLiaison, TownID: u.TownID}); err != nil {
				return fmt.Errorf("alliance: unit account: %w", err)
			}
			act.AccountID = accountID
			if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "account.create", Entity: "account", EntityID: accountID, TownID: u.TownID,
				Summary: auth.Summarize(nil, map[string]any{"phone": people.MaskPhone(in.Phone), "name": in.Name, "grants": []string{string(auth.UnitLiaison)}})}); err != nil {
				return err
			}
		case db.IsNoRows(err):
			// The phone's account went away between the two reads: ask again.
			return &errs.Error{Code: errs.Conflict, Key: "alliance.unit.try_again", Fields: []errs.FieldError{{Field: "phone", Key: "alliance.unit.try_again"}}}
		case err != nil:
			return fmt.Errorf("alliance: unit account: %w", err)
		case act != nil:
			// Someone made an account of this phone meanwhile.
			return &errs.Error{Code: errs.Conflict, Key: "auth.phone_taken", Fields: []errs.FieldError{{Field: "phone", Key: "auth.phone_taken"}}}
		default:
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_roles WHERE account_id = $1 AND role = $2 AND town_id = $3`,
				accountID, string(auth.UnitLiaison), u.TownID).Scan(&n); err != nil {
				return fmt.Errorf("alliance: unit account: %w", err)
			}
			if n == 0 {
				return errs.Field("phone", "alliance.unit.not_liaison")
			}
		}
		var other int64
		err = tx.QueryRowContext(ctx, `SELECT unit_id FROM alliance_unit_accounts WHERE account_id = $1`, accountID).Scan(&other)
		if err == nil {
			if other == id {
				return nil
			}
			return &errs.Error{Code: errs.Conflict, Key: "alliance.unit.account_taken", Fields: []errs.FieldError{{Field: "phone", Key: "alliance.unit.account_taken"}}}
		}
		if !db.IsNoRows(err) {
			return fmt.Errorf("alliance: unit account: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_unit_accounts (unit_id, account_id) VALUES ($1, $2)`, id, accountID); err != nil {
			if db.IsUnique(err) {
				return &errs.Error{Code: errs.Conflict, Key: "alliance.unit.account_taken", Fields: []errs.FieldError{{Field: "phone", Key: "alliance.unit.account_taken"}}}
			}
			return fmt.Errorf("alliance: unit account: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.unit.account", Entity: "alliance_unit", EntityID: id, TownID: u.TownID,
			Summary: auth.Summarize(nil, map[string]any{"name": u.Name, "phone": people.MaskPhone(in.Phone)})})
	})
	if err != nil {
		return Unit{}, nil, err
	}
	u, err = s.Unit(ctx, a, id)
	return u, act, err
}

// Member is a member unit as the town's residents see it: its name and kind, nothing of its
// people.
type Member struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// Members are the active member units of the actor's town, for the resident's page of 微联盟
// (我们的共建单位): names and kinds, which the town shows publicly.
func (s *Service) Members(ctx context.Context, a *auth.Actor) ([]Member, error) {
	if a == nil || a.AccountID == 0 {
		return nil, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	out := []Member{}
	if a.TownID == 0 {
		return out, nil
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT name, kind FROM alliance_units WHERE town_id = $1 AND active ORDER BY joined_on, name`, a.TownID)
	if err != nil {
		return nil, fmt.Errorf("alliance: members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.Name, &m.Kind); err != nil {
			return nil, fmt.Errorf("alliance: members: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
