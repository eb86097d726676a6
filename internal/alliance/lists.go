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
)

// ListKinds are the kinds of what a unit offers and a village needs: 场地, 资金, 物资, 专业服务,
// 志愿者, 培训, 岗位.
var ListKinds = []string{"venue", "funds", "goods", "service", "volunteers", "training", "jobs"}

// NeedSources are where a need came from: typed in by the village, a 微志愿 need, a 微协商
// decision, or a care-team visit.
var NeedSources = []string{"typed", "volunteer", "decision", "visit"}

// Bounds of the lists' text.
const (
	maxListText   = 1000
	maxListAmount = 60
	maxListRows   = 500
)

// Resource is an entry of the resources list (资源清单): what a member unit can give, how much, in
// which days, and to which villages (none listed: every village of the town).
type Resource struct {
	ID          int64     `json:"id"`
	TownID      int64     `json:"town_id"`
	UnitID      int64     `json:"unit_id"`
	Unit        string    `json:"unit"`
	Kind        string    `json:"kind"`
	Description string    `json:"description"`
	Amount      string    `json:"amount"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Active      bool      `json:"active"`
	VillageIDs  []int64   `json:"village_ids"`
	Villages    []string  `json:"villages"`
	Used        int       `json:"used"` // live projects on it
	CreatedAt   time.Time `json:"created_at"`
}

// ResourceInput offers a resource. UnitID is the liaison's own unit when 0; From and To are days
// (2006-01-02); VillageIDs empty reaches every village of the town.
type ResourceInput struct {
	UnitID      int64   `json:"unit_id,omitzero"`
	Kind        string  `json:"kind"`
	Description string  `json:"description"`
	Amount      string  `json:"amount"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	VillageIDs  []int64 `json:"village_ids"`
}

// Need is an entry of the needs list (需求清单): what a village needs, for how many people, by
// when, and where it came from.
type Need struct {
	ID          int64     `json:"id"`
	TownID      int64     `json:"town_id"`
	VillageID   int64     `json:"village_id"`
	Village     string    `json:"village"`
	Kind        string    `json:"kind"`
	Description string    `json:"description"`
	People      int       `json:"people"`
	By          string    `json:"by"`
	Source      string    `json:"source"`
	SourceID    int64     `json:"source_id,omitzero"`
	Matched     bool      `json:"matched"` // in a live project
	CreatedAt   time.Time `json:"created_at"`
}

// NeedInput posts a need. Source is typed (the default) or volunteer, decision or visit with
// SourceID, the record there, whose village and text the need takes when VillageID or
// Description is empty.
type NeedInput struct {
	VillageID   int64  `json:"village_id,omitzero"`
	Kind        string `json:"kind"`
	Description string `json:"description"`
	People      int    `json:"people"`
	By          string `json:"by"`
	Source      string `json:"source,omitempty"`
	SourceID    int64  `json:"source_id,omitzero"`
}

// dayField checks a typed day, and reports whether it is one.
func dayField(f *errs.Fields, field, day string) bool {
	if day == "" {
		f.Add(field, "field.required")
		return false
	}
	if _, ok := clock.ParseDay(day, time.UTC); !ok {
		f.Add(field, "field.day_invalid")
		return false
	}
	return true
}

// ---- resources

const resourceCols = `r.id, r.town_id, r.unit_id, u.name, r.kind, r.description, r.amount, r.from_on, r.to_on, r.active, r.created_at,
	(SELECT COUNT(*) FROM alliance_projects p WHERE p.resource_id = r.id AND p.status <> 'declined')`

const resourceFrom = ` FROM alliance_resources r JOIN alliance_units u ON u.id = r.unit_id `

func scanResource(sc interface{ Scan(...any) error }) (Resource, error) {
	var x Resource
	err := sc.Scan(&x.ID, &x.TownID, &x.UnitID, &x.Unit, &x.Kind, &x.Description, &x.Amount, &x.From, &x.To, &x.Active, &x.CreatedAt, &x.Used)
	x.VillageIDs, x.Villages = []int64{}, []string{}
	return x, err
}

// resourceVillages fills the villages each resource reaches.
func (s *Service) resourceVillages(ctx context.Context, q db.Querier, list []Resource) error {
	if len(list) == 0 {
		return nil
	}
	ids := make([]int64, len(list))
	at := map[int64]int{}
	for i, x := range list {
		ids[i], at[x.ID] = x.ID, i
	}
	rows, err := q.QueryContext(ctx, `SELECT rv.resource_id, v.id, v.name FROM alliance_resource_villages rv JOIN villages v ON v.id = rv.village_id
		WHERE rv.resource_id IN (`+db.IDList(ids)+`) ORDER BY v.id`)
	if err != nil {
		return fmt.Errorf("alliance: resource villages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid, vid int64
		var n string
		if err := rows.Scan(&rid, &vid, &n); err != nil {
			return err
		}
		i := at[rid]
		list[i].VillageIDs = append(list[i].VillageIDs, vid)
		list[i].Villages = append(list[i].Villages, n)
	}
	return rows.Err()
}

// ResourceFilter narrows the resources list: a kind, a unit, and whether withdrawn ones show.
type ResourceFilter struct {
	Kind      string
	UnitID    int64
	Withdrawn bool
}

// Resources lists a town's resources: all of them for its alliance staff and the villages' staff
// (who see what could reach them), the liaison's own unit's for a liaison.
func (s *Service) Resources(ctx context.Context, a *auth.Actor, f ResourceFilter) ([]Resource, error) {
	q := s.DB.Read()
	townID := townOf(a, 0)
	where, args := []string{"r.town_id = $1"}, []any{townID}
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
			where = append(where, fmt.Sprintf("r.unit_id = %d", mine))
		}
	}
	if slices.Contains(ListKinds, f.Kind) {
		args = append(args, f.Kind)
		where = append(where, fmt.Sprintf("r.kind = $%d", len(args)))
	}
	if f.UnitID != 0 {
		args = append(args, f.UnitID)
		where = append(where, fmt.Sprintf("r.unit_id = $%d", len(args)))
	}
	if !f.Withdrawn {
		where = append(where, "r.active")
	}
	rows, err := q.QueryContext(ctx, `SELECT `+resourceCols+resourceFrom+`WHERE `+strings.Join(where, " AND ")+` ORDER BY r.active DESC, r.to_on DESC, r.id DESC LIMIT `+fmt.Sprint(maxListRows), args...)
	if err != nil {
		return nil, fmt.Errorf("alliance: resources: %w", err)
	}
	out := []Resource{}
	for rows.Next() {
		x, err := scanResource(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("alliance: resources: %w", err)
		}
		out = append(out, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.resourceVillages(ctx, q, out)
}

// resource reads a resource with no check of who asks.
func (s *Service) resource(ctx context.Context, q db.Querier, id int64) (Resource, error) {
	x, err := scanResource(q.QueryRowContext(ctx, `SELECT `+resourceCols+resourceFrom+`WHERE r.id = $1`, id))
	if db.IsNoRows(err) {
		return x, notFound
	}
	if err != nil {
		return x, fmt.Errorf("alliance: resource %d: %w", id, err)
	}
	list := []Resource{x}
	err = s.resourceVillages(ctx, q, list)
	return list[0], err
}

// editsUnit reports whether the actor may manage a unit's resources: the town's alliance staff, or
// the unit's own liaison.
func (s *Service) editsUnit(ctx context.Context, q db.Querier, a *auth.Actor, townID, unitID int64) (bool, error) {
	if manages(a, townID) {
		return true, nil
	}
	mine, err := s.myUnit(ctx, q, a)
	return mine != 0 && mine == unitID, err
}

// Resource returns a resource the actor may read (see Resources).
func (s *Service) Resource(ctx context.Context, a *auth.Actor, id int64) (Resource, error) {
	q := s.DB.Read()
	x, err := s.resource(ctx, q, id)
	if err != nil {
		return x, err
	}
	if ok, err := s.seesResource(ctx, q, a, x); err != nil || !ok {
		if err == nil {
			err = notFound
		}
		return Resource{}, err
	}
	return x, nil
}

func (s *Service) seesResource(ctx context.Context, q db.Querier, a *auth.Actor, x Resource) (bool, error) {
	if all, villages := villageScope(a, x.TownID); all || len(villages) > 0 {
		return true, nil
	}
	return s.editsUnit(ctx, q, a, x.TownID, x.UnitID)
}

// validate checks a resource as typed, and trims it.
func (in *ResourceInput) validate() errs.Fields {
	in.Description, in.Amount, in.From, in.To = strings.TrimSpace(in.Description), strings.TrimSpace(in.Amount), strings.TrimSpace(in.From), strings.TrimSpace(in.To)
	var f errs.Fields
	if !slices.Contains(ListKinds, in.Kind) {
		f.Add("kind", "alliance.list.kind_invalid")
	}
	f.Text("description", in.Description, maxListText, true)
	f.Text("amount", in.Amount, maxListAmount, false)
	okFrom := dayField(&f, "from", in.From)
	if dayField(&f, "to", in.To) && okFrom && in.To < in.From {
		f.Add("to", "alliance.resource.to_before_from")
	}
	return f
}

// SaveResource offers a resource of a unit (id 0) or edits one: a unit's liaison for its own unit,
// the town's alliance staff for any active unit of the town. The villages must be the town's.
func (s *Service) SaveResource(ctx context.Context, a *auth.Actor, id int64, in ResourceInput) (Resource, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		townID := townOf(a, 0)
		if id != 0 {
			x, err := s.resource(ctx, tx, id)
			if err != nil {
				return err
			}
			if ok, err := s.editsUnit(ctx, tx, a, x.TownID, x.UnitID); err != nil {
				return err
			} else if !ok {
				return auth.Refuse(a, PermManage)
			}
			in.UnitID, townID = x.UnitID, x.TownID
		}
		if in.UnitID == 0 {
			mine, err := s.myUnit(ctx, tx, a)
			if err != nil {
				return err
			}
			if mine == 0 && !manages(a, townID) {
				return auth.Refuse(a, PermManage)
			}
			in.UnitID = mine
		}
		f := in.validate()
		if in.UnitID == 0 {
			f.Add("unit_id", "field.required")
			return f.Err()
		}
		u, err := s.unit(ctx, tx, in.UnitID)
		if errs.Is(err, errs.NotFound) || (err == nil && u.TownID != townID) {
			if !manages(a, townID) {
				return auth.Refuse(a, PermManage)
			}
			f.Add("unit_id", "error.not_found")
			return f.Err()
		}
		if err != nil {
			return err
		}
		if ok, err := s.editsUnit(ctx, tx, a, u.TownID, u.ID); err != nil {
			return err
		} else if !ok {
			// Another unit is hidden from a liaison, like a missing one.
			if mine, err := s.myUnit(ctx, tx, a); err != nil {
				return err
			} else if mine != 0 {
				return notFound
			}
			return auth.Refuse(a, PermManage)
		}
		if !u.Active && id == 0 {
			f.Add("unit_id", "alliance.resource.unit_inactive")
		}
		if tooMany(&f, "village_ids", in.VillageIDs) {
			return f.Err()
		}
		var villages []int64
		for _, v := range in.VillageIDs {
			if v != 0 && !slices.Contains(villages, v) {
				villages = append(villages, v)
			}
		}
		if len(villages) > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM villages WHERE town_id = $1 AND id IN (`+db.IDList(villages)+`)`, townID).Scan(&n); err != nil {
				return fmt.Errorf("alliance: resource villages: %w", err)
			}
			if n != len(villages) {
				f.Add("village_ids", "error.not_found")
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		now := s.Now()
		if id == 0 {
			err = tx.QueryRowContext(ctx, `INSERT INTO alliance_resources (town_id, unit_id, kind, description, amount, from_on, to_on, active, created_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9, $9) RETURNING id`, townID, u.ID, in.Kind, in.Description, in.Amount, in.From, in.To, db.NullID(a.AccountID), now).Scan(&id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE alliance_resources SET kind = $1, description = $2, amount = $3, from_on = $4, to_on = $5, updated_at = $6 WHERE id = $7`,
				in.Kind, in.Description, in.Amount, in.From, in.To, now, id)
			if err == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM alliance_resource_villages WHERE resource_id = $1`, id)
			}
		}
		if err != nil {
			return fmt.Errorf("alliance: save resource: %w", err)
		}
		for _, v := range villages {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_resource_villages (resource_id, village_id) VALUES ($1, $2)`, id, v); err != nil {
				return fmt.Errorf("alliance: resource village: %w", err)
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.resource.save", Entity: "alliance_resource", EntityID: id, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"unit": u.Name, "kind": in.Kind, "description": in.Description})})
	})
	if err != nil {
		return Resource{}, err
	}
	return s.Resource(ctx, a, id)
}

// WithdrawResource takes a resource off the list with a reason (kept in the audit log); its
// projects go on.
func (s *Service) WithdrawResource(ctx context.Context, a *auth.Actor, id int64, reason string) (Resource, error) {
	reason = strings.TrimSpace(reason)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		x, err := s.resource(ctx, tx, id)
		if err != nil {
			return err
		}
		if ok, err := s.editsUnit(ctx, tx, a, x.TownID, x.UnitID); err != nil {
			return err
		} else if !ok {
			return auth.Refuse(a, PermManage)
		}
		var f errs.Fields
		f.Text("reason", reason, 200, true)
		if err := f.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alliance_resources SET active = FALSE, updated_at = $1 WHERE id = $2`, s.Now(), id); err != nil {
			return fmt.Errorf("alliance: withdraw resource: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.resource.withdraw", Entity: "alliance_resource", EntityID: id, TownID: x.TownID,
			Summary: auth.Summarize(nil, map[string]any{"unit": x.Unit, "description": x.Description, "reason": reason})})
	})
	if err != nil {
		return Resource{}, err
	}
	return s.Resource(ctx, a, id)
}

// ---- needs

const needCols = `n.id, n.town_id, n.village_id, v.name, n.kind, n.description, n.people, n.by_on, n.source, COALESCE(n.source_id, 0), n.created_at,
	EXISTS (SELECT 1 FROM alliance_projects p WHERE p.need_id = n.id AND p.status <> 'declined')`

const needFrom = ` FROM alliance_needs n JOIN villages v ON v.id = n.village_id `

func scanNeed(sc interface{ Scan(...any) error }) (Need, error) {
	var x Need
	err := sc.Scan(&x.ID, &x.TownID, &x.VillageID, &x.Village, &x.Kind, &x.Description, &x.People, &x.By, &x.Source, &x.SourceID, &x.CreatedAt, &x.Matched)
	return x, err
}

// NeedFilter narrows the needs list: a kind, a village, and unmatched only.
type NeedFilter struct {
	Kind      string
	VillageID int64
	Unmatched bool
}

// Needs lists a town's needs: all of them for its alliance staff, a village admin's villages', and
// for a unit's liaison the unmatched ones still open (by today or later), which it may offer to
// meet.
func (s *Service) Needs(ctx context.Context, a *auth.Actor, f NeedFilter) ([]Need, error) {
	q := s.DB.Read()
	townID := townOf(a, 0)
	where, args := []string{"n.town_id = $1", "NOT n.closed"}, []any{townID}
	if !manages(a, townID) {
		all, villages := villageScope(a, townID)
		switch {
		case all:
		case len(villages) > 0:
			where = append(where, "n.village_id IN ("+db.IDList(villages)+")")
		default:
			mine, err := s.myUnit(ctx, q, a)
			if err != nil {
				return nil, err
			}
			if mine == 0 {
				return nil, auth.Refuse(a, PermVillage)
			}
			today, err := s.townToday(ctx, townID)
			if err != nil {
				return nil, err
			}
			args = append(args, today)
			where = append(where, fmt.Sprintf("n.by_on >= $%d", len(args)))
			f.Unmatched = true
		}
	}
	if slices.Contains(ListKinds, f.Kind) {
		args = append(args, f.Kind)
		where = append(where, fmt.Sprintf("n.kind = $%d", len(args)))
	}
	if f.VillageID != 0 {
		args = append(args, f.VillageID)
		where = append(where, fmt.Sprintf("n.village_id = $%d", len(args)))
	}
	if f.Unmatched {
		where = append(where, "NOT EXISTS (SELECT 1 FROM alliance_projects p WHERE p.need_id = n.id AND p.status <> 'declined')")
	}
	rows, err := q.QueryContext(ctx, `SELECT `+needCols+needFrom+`WHERE `+strings.Join(where, " AND ")+` ORDER BY n.by_on, n.id LIMIT `+fmt.Sprint(maxListRows), args...)
	if err != nil {
		return nil, fmt.Errorf("alliance: needs: %w", err)
	}
	defer rows.Close()
	out := []Need{}
	for rows.Next() {
		x, err := scanNeed(rows)
		if err != nil {
			return nil, fmt.Errorf("alliance: needs: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// need reads a need with no check of who asks.
func (s *Service) need(ctx context.Context, q db.Querier, id int64) (Need, error) {
	x, err := scanNeed(q.QueryRowContext(ctx, `SELECT `+needCols+needFrom+`WHERE n.id = $1`, id))
	if db.IsNoRows(err) {
		return x, notFound
	}
	if err != nil {
		return x, fmt.Errorf("alliance: need %d: %w", id, err)
	}
	return x, nil
}

// Need returns a need to its town's alliance staff and its village's admins.
func (s *Service) Need(ctx context.Context, a *auth.Actor, id int64) (Need, error) {
	x, err := s.need(ctx, s.DB.Read(), id)
	if err != nil {
		return x, err
	}
	if !servesVillage(a, x.TownID, x.VillageID) {
		return Need{}, notFound
	}
	return x, nil
}

// needSource reads the record a need comes from, by SQL (微志愿's needs, 微协商's decisions and
// care visits): its town, village (0 for a town-level decision) and text. Another town's record,
// or none, answers NotFound on the field source_id.
func (s *Service) needSource(ctx context.Context, q db.Querier, townID int64, source string, id int64) (villageID int64, text string, err error) {
	var town int64
	var village sql.NullInt64
	switch source {
	case "volunteer":
		err = q.QueryRowContext(ctx, `SELECT town_id, village_id, description FROM volunteer_needs WHERE id = $1`, id).Scan(&town, &village, &text)
	case "decision":
		err = q.QueryRowContext(ctx, `SELECT m.town_id, m.village_id, d.body FROM consult_decisions d JOIN consult_meetings m ON m.id = d.meeting_id WHERE d.id = $1`, id).
			Scan(&town, &village, &text)
	case "visit":
		err = q.QueryRowContext(ctx, `SELECT town_id, village_id, notes FROM consult_visits WHERE id = $1`, id).Scan(&town, &village, &text)
	}
	if db.IsNoRows(err) || (err == nil && town != townID) {
		return 0, "", &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "source_id", Key: "error.not_found"}}}
	}
	if err != nil {
		return 0, "", fmt.Errorf("alliance: need source: %w", err)
	}
	return village.Int64, strings.TrimSpace(text), nil
}

// PostNeed posts a village's need: its admins (or the town's alliance staff) for the village. A
// need from a 微志愿 need, a decision or a care visit must be of the same town, and of the same
// village when the source has one; each source record makes one need.
func (s *Service) PostNeed(ctx context.Context, a *auth.Actor, in NeedInput) (Need, error) {
	in.Description, in.By, in.Source = strings.TrimSpace(in.Description), strings.TrimSpace(in.By), strings.TrimSpace(in.Source)
	if in.Source == "" {
		in.Source = "typed"
	}
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		townID := townOf(a, 0)
		if all, villages := villageScope(a, townID); !all && len(villages) == 0 {
			return auth.Refuse(a, PermVillage)
		}
		var f errs.Fields
		switch {
		case !slices.Contains(NeedSources, in.Source):
			f.Add("source", "alliance.need.source_invalid")
		case in.Source == "typed":
			in.SourceID = 0
		case in.SourceID == 0:
			f.Add("source_id", "field.required")
		default:
			v, text, err := s.needSource(ctx, tx, townID, in.Source, in.SourceID)
			if err != nil {
				return err
			}
			if v != 0 {
				if in.VillageID != 0 && in.VillageID != v {
					f.Add("village_id", "alliance.need.source_village")
				}
				in.VillageID = v
			}
			// A decision's text is published with its meeting's minutes; a care visit's notes and a
			// 微志愿 need's text are about a household, and the units outside the town read needs:
			// those the village describes in its own words.
			if in.Description == "" && in.Source == "decision" {
				in.Description = text
				if r := []rune(in.Description); len(r) > maxListText {
					in.Description = string(r[:maxListText])
				}
			}
		}
		if in.VillageID == 0 {
			f.Add("village_id", "field.required")
		} else if err := s.villageIn(ctx, tx, townID, in.VillageID, "village_id"); err != nil {
			return err
		} else if !servesVillage(a, townID, in.VillageID) {
			return auth.Refuse(a, PermVillage)
		}
		if !slices.Contains(ListKinds, in.Kind) {
			f.Add("kind", "alliance.list.kind_invalid")
		}
		f.Text("description", in.Description, maxListText, true)
		if in.People < 0 || in.People > 1000000 {
			f.Add("people", "alliance.need.people_invalid")
		}
		if dayField(&f, "by", in.By) {
			today, err := s.townToday(ctx, townID)
			if err != nil {
				return err
			}
			if in.By < today {
				f.Add("by", "alliance.need.by_past")
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		now := s.Now()
		err := tx.QueryRowContext(ctx, `INSERT INTO alliance_needs (town_id, village_id, kind, description, people, by_on, source, source_id, closed, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9, $10, $10) RETURNING id`,
			townID, in.VillageID, in.Kind, in.Description, in.People, in.By, in.Source, db.NullID(in.SourceID), db.NullID(a.AccountID), now).Scan(&id)
		if db.IsUnique(err) {
			return &errs.Error{Code: errs.Conflict, Key: "alliance.need.source_taken", Fields: []errs.FieldError{{Field: "source_id", Key: "alliance.need.source_taken"}}}
		}
		if err != nil {
			return fmt.Errorf("alliance: post need: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.need.post", Entity: "alliance_need", EntityID: id, TownID: townID, VillageID: in.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"kind": in.Kind, "description": in.Description, "source": in.Source})})
	})
	if err != nil {
		return Need{}, err
	}
	return s.Need(ctx, a, id)
}

// ---- matching

// Suggestion is a resource that fits an unmatched need: the same kind, reaching the need's
// village, offered on a day before the need's by-day and not over.
type Suggestion struct {
	Need      Need       `json:"need"`
	Resources []Resource `json:"resources"`
}

// MatchBoard is the staff's matching page: the unmatched needs and the unused resources side by
// side, and for each need the resources that fit it.
type MatchBoard struct {
	Needs       []Need       `json:"needs"`
	Resources   []Resource   `json:"resources"`
	Suggestions []Suggestion `json:"suggestions"`
}

// fits reports whether a resource fits a need: kind, village and period.
func fits(r Resource, n Need, today string) bool {
	if r.Kind != n.Kind || !r.Active || r.To < today || r.From > n.By {
		return false
	}
	return len(r.VillageIDs) == 0 || slices.Contains(r.VillageIDs, n.VillageID)
}

// Match is the matching board for the town's alliance staff; a unit's liaison sees the open needs
// beside its own unit's resources.
func (s *Service) Match(ctx context.Context, a *auth.Actor) (MatchBoard, error) {
	var b MatchBoard
	townID := townOf(a, 0)
	if !manages(a, townID) {
		mine, err := s.myUnit(ctx, s.DB.Read(), a)
		if err != nil {
			return b, err
		}
		if mine == 0 {
			return b, auth.Refuse(a, PermManage)
		}
	}
	needs, err := s.Needs(ctx, a, NeedFilter{Unmatched: true})
	if err != nil {
		return b, err
	}
	res, err := s.Resources(ctx, a, ResourceFilter{})
	if err != nil {
		return b, err
	}
	today, err := s.townToday(ctx, townID)
	if err != nil {
		return b, err
	}
	b.Needs, b.Resources, b.Suggestions = []Need{}, []Resource{}, []Suggestion{}
	for _, n := range needs {
		if n.By >= today {
			b.Needs = append(b.Needs, n)
		}
	}
	for _, r := range res {
		if r.Used == 0 && r.To >= today {
			b.Resources = append(b.Resources, r)
		}
	}
	for _, n := range b.Needs {
		sg := Suggestion{Need: n, Resources: []Resource{}}
		for _, r := range b.Resources { // unused ones only: a resource in a live project is spoken for
			if fits(r, n, today) {
				sg.Resources = append(sg.Resources, r)
			}
		}
		if len(sg.Resources) > 0 {
			b.Suggestions = append(b.Suggestions, sg)
		}
	}
	return b, nil
}
