package bank

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// Item is something in the 积分超市: goods with stock per village store, or a service (定制回馈服务,
// such as a haircut) with a number of places per period in each village, which come back by
// themselves when the next period begins.
type Item struct {
	ID          int64    `json:"id"`
	TownID      int64    `json:"town_id"`
	Kind        string   `json:"kind"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Price       int64    `json:"price"`
	LimitCount  int      `json:"limit_count"`
	LimitPeriod string   `json:"limit_period"`
	Classes     []string `json:"classes"`
	// Villages are the villages whose residents may redeem the item; none: the whole town.
	Villages []int64 `json:"villages"`
	LowStock int     `json:"low_stock"`
	// Capacity is a service's places per CapacityPeriod in each village (0 and "" for goods).
	Capacity       int    `json:"capacity"`
	CapacityPeriod string `json:"capacity_period"`
	Active         bool   `json:"active"`
	Stock          int    `json:"stock"` // in the village store asked about; a service's places left this period
}

// ItemInput creates or edits an item.
type ItemInput struct {
	Kind        string   `json:"kind"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Price       int64    `json:"price"`
	LimitCount  int      `json:"limit_count"`
	LimitPeriod string   `json:"limit_period"`
	Classes     []string `json:"classes"`
	// Villages limits the item to the residents of these villages of the town; none: all.
	Villages []int64 `json:"villages"`
	LowStock int     `json:"low_stock"`
	// Capacity and CapacityPeriod are required for a service, and empty for goods.
	Capacity       int    `json:"capacity"`
	CapacityPeriod string `json:"capacity_period"`
}

// MaxPlaces bounds a service's places per period in one village.
const MaxPlaces = 100_000

// ForVillage reports whether the residents of a village may redeem the item.
func (it Item) ForVillage(villageID int64) bool {
	return len(it.Villages) == 0 || slices.Contains(it.Villages, villageID)
}

// OfferedTo reports whether the shop offers the item to a resident of the class and village:
// what Redeem would refuse them is not offered.
func (it Item) OfferedTo(class people.MemberClass, villageID int64) bool {
	return (len(it.Classes) == 0 || slices.Contains(it.Classes, string(class))) && it.ForVillage(villageID)
}

// joinIDs writes ids as stored in a text column: comma-separated, "" for none.
func joinIDs(ids []int64) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(out, ",")
}

// splitIDs reads what joinIDs wrote.
func splitIDs(s string) []int64 {
	out := []int64{}
	for _, f := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// checkItem checks an item's input, and that the villages it names are the town's.
func (s *Service) checkItem(ctx context.Context, townID int64, in *ItemInput) error {
	f := in.validate()
	if len(in.Villages) > 0 {
		p := s.DB.Params()
		q := `SELECT COUNT(*) FROM villages WHERE town_id = ` + p.Add(townID) + ` AND id IN (` + p.List(in.Villages) + `)`
		var n int
		if err := s.DB.Read().QueryRowContext(ctx, q, p.Args...).Scan(&n); err != nil {
			return fmt.Errorf("bank: item villages: %w", err)
		}
		if n != len(in.Villages) {
			f.Add("villages", "bank.village_unknown")
		}
	}
	return f.Err()
}

func (in *ItemInput) validate() errs.Fields {
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	var f errs.Fields
	if in.Kind != "goods" && in.Kind != "service" {
		f.Add("kind", "bank.kind_invalid")
	}
	if in.Name == "" {
		f.Add("name", "field.required")
	} else if utf8.RuneCountInString(in.Name) > 40 {
		f.Add("name", "field.too_long")
	}
	if utf8.RuneCountInString(in.Description) > 500 {
		f.Add("description", "field.too_long")
	}
	if in.Price <= 0 || in.Price > MaxPoints*10 {
		f.Add("price", "bank.points_range")
	}
	if !validPeriod(in.LimitPeriod) || (in.LimitPeriod == "") != (in.LimitCount == 0) || in.LimitCount < 0 {
		f.Add("limit_count", "bank.cap_invalid")
	}
	for _, c := range in.Classes {
		if !validClass(people.MemberClass(c)) {
			f.Add("classes", "bank.class_invalid")
			break
		}
	}
	if in.LowStock < 0 {
		f.Add("low_stock", "bank.quantity_invalid")
	}
	slices.Sort(in.Villages)
	in.Villages = slices.Compact(in.Villages)
	if len(in.Villages) > 1000 || slices.ContainsFunc(in.Villages, func(id int64) bool { return id <= 0 }) {
		f.Add("villages", "bank.village_unknown")
	}
	switch {
	case in.Kind == "service" && (in.Capacity <= 0 || in.Capacity > MaxPlaces || in.CapacityPeriod == "" || !validPeriod(in.CapacityPeriod)):
		f.Add("capacity", "bank.capacity_invalid")
	case in.Kind == "goods" && (in.Capacity != 0 || in.CapacityPeriod != ""):
		f.Add("capacity", "bank.capacity_goods")
	}
	return f
}

// CreateItem adds an item to the town's shop.
func (s *Service) CreateItem(ctx context.Context, a *auth.Actor, townID int64, in ItemInput) (Item, error) {
	if err := auth.Can(a, PermShop, auth.Scope{TownID: townID}); err != nil {
		return Item{}, err
	}
	if err := s.checkItem(ctx, townID, &in); err != nil {
		return Item{}, err
	}
	var it Item
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if it, err = s.InsertItem(ctx, tx, townID, in); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.item.create", Entity: "item", EntityID: it.ID, TownID: townID, Summary: auth.Summarize(nil, in)})
	})
	return it, err
}

// InsertItem writes an item inside tx (the demo uses it directly); the input is checked, all but
// its villages, which are CreateItem's to check.
func (s *Service) InsertItem(ctx context.Context, tx db.Querier, townID int64, in ItemInput) (Item, error) {
	if err := in.validate().Err(); err != nil {
		return Item{}, err
	}
	it := Item{TownID: townID, Kind: in.Kind, Name: in.Name, Description: in.Description, Price: in.Price, LimitCount: in.LimitCount,
		LimitPeriod: in.LimitPeriod, Classes: in.Classes, Villages: in.Villages, LowStock: in.LowStock, Active: true}
	it.Capacity, it.CapacityPeriod = in.Capacity, in.CapacityPeriod
	err := tx.QueryRowContext(ctx, `INSERT INTO bank_items (town_id, kind, name, description, price, limit_count, limit_period, classes, villages, low_stock,
		capacity, capacity_period, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`, townID, in.Kind, in.Name,
		in.Description, in.Price, in.LimitCount, in.LimitPeriod, strings.Join(in.Classes, ","), joinIDs(in.Villages), in.LowStock, in.Capacity,
		in.CapacityPeriod, s.Now()).Scan(&it.ID)
	return it, err
}

// Item returns one of a town's items, withdrawn or not, as staff edit it.
func (s *Service) Item(ctx context.Context, a *auth.Actor, townID, id int64) (Item, error) {
	if err := auth.Can(a, PermShop, auth.Scope{TownID: townID}); err != nil {
		return Item{}, err
	}
	var it Item
	var classes, villages string
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id, town_id, kind, name, description, price, limit_count, limit_period, classes, villages, low_stock,
		capacity, capacity_period, active FROM bank_items WHERE id = $1 AND town_id = $2`, id, townID).
		Scan(&it.ID, &it.TownID, &it.Kind, &it.Name, &it.Description, &it.Price, &it.LimitCount, &it.LimitPeriod, &classes, &villages, &it.LowStock,
			&it.Capacity, &it.CapacityPeriod, &it.Active)
	if db.IsNoRows(err) {
		return Item{}, errs.New(errs.NotFound, "error.not_found")
	}
	it.Villages = splitIDs(villages)
	it.Classes = []string{}
	if classes != "" {
		it.Classes = strings.Split(classes, ",")
	}
	return it, err
}

// UpdateItem changes an item: its name, price, limits, classes, low-stock level, a service's
// places, and whether it is on offer (a withdrawn item is neither listed to residents nor
// redeemable; its open orders stay). Its kind stays what it was. A service whose places per
// period change keeps the orders of the current period: each village's places left move by the
// difference, never below zero.
func (s *Service) UpdateItem(ctx context.Context, a *auth.Actor, townID, id int64, in ItemInput, active bool) (Item, error) {
	before, err := s.Item(ctx, a, townID, id)
	if err != nil {
		return Item{}, err
	}
	if in.Kind != before.Kind {
		return Item{}, errs.Field("kind", "bank.kind_fixed")
	}
	if err := s.checkItem(ctx, townID, &in); err != nil {
		return Item{}, err
	}
	t, err := s.town(ctx, townID)
	if err != nil {
		return Item{}, err
	}
	after := Item{ID: id, TownID: townID, Kind: before.Kind, Name: in.Name, Description: in.Description, Price: in.Price, LimitCount: in.LimitCount,
		LimitPeriod: in.LimitPeriod, Classes: in.Classes, Villages: in.Villages, LowStock: in.LowStock, Capacity: in.Capacity,
		CapacityPeriod: in.CapacityPeriod, Active: active}
	if after.Classes == nil {
		after.Classes = []string{}
	}
	if after.Villages == nil {
		after.Villages = []int64{}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE bank_items SET name = $1, description = $2, price = $3, limit_count = $4, limit_period = $5, classes = $6,
			villages = $7, low_stock = $8, capacity = $9, capacity_period = $10, active = $11 WHERE id = $12`, in.Name, in.Description, in.Price, in.LimitCount,
			in.LimitPeriod, strings.Join(in.Classes, ","), joinIDs(in.Villages), in.LowStock, in.Capacity, in.CapacityPeriod, active, id); err != nil {
			return fmt.Errorf("bank: item: %w", err)
		}
		if d := in.Capacity - before.Capacity; d != 0 && before.Kind == "service" && in.CapacityPeriod == before.CapacityPeriod {
			if _, err := tx.ExecContext(ctx, `UPDATE bank_stock SET quantity = CASE WHEN quantity + $1 < 0 THEN 0 ELSE quantity + $1 END
				WHERE item_id = $2 AND period = $3`, d, id, placesPeriod(in.CapacityPeriod, s.Now(), t.Location())); err != nil {
				return fmt.Errorf("bank: places: %w", err)
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.item.update", Entity: "item", EntityID: id, TownID: townID, Summary: auth.Summarize(before, after)})
	})
	return after, err
}

// StockInput records stock coming into a village store: bought, or donated (by whom in Note).
type StockInput struct {
	ItemID    int64  `json:"item_id"`
	VillageID int64  `json:"village_id"`
	Quantity  int    `json:"quantity"`
	Source    string `json:"source"`
	Note      string `json:"note"`
}

// StockIn adds stock to a village store with its source.
func (s *Service) StockIn(ctx context.Context, a *auth.Actor, in StockInput) error {
	v, err := s.People.Village(ctx, a, in.VillageID)
	if err != nil {
		return err
	}
	if err := auth.Can(a, PermShop, auth.Scope{TownID: v.TownID, VillageID: v.ID}); err != nil {
		return auth.Hide(err)
	}
	in.Note = strings.TrimSpace(in.Note)
	var f errs.Fields
	if in.Quantity <= 0 || in.Quantity > 100_000 {
		f.Add("quantity", "bank.quantity_invalid")
	}
	if in.Source != "purchase" && in.Source != "donation" {
		f.Add("source", "bank.source_invalid")
	}
	if in.Source == "donation" && in.Note == "" {
		f.Add("note", "bank.donor_required")
	}
	var town int64
	var kind, name string
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id, kind, name FROM bank_items WHERE id = $1`, in.ItemID).Scan(&town, &kind, &name); err != nil || town != v.TownID {
		f.Add("item_id", "bank.item_unknown")
	} else if kind == "service" {
		f.Add("item_id", "bank.service_no_stock")
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.AddStock(ctx, tx, in, a.AccountID); err != nil {
			return err
		}
		// The item's name, for the audit page's sentence: "王店员 把 肥皂 入库 50 件".
		after := struct {
			StockInput
			Name string `json:"name"`
		}{in, name}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.stock.in", Entity: "item", EntityID: in.ItemID, TownID: v.TownID, VillageID: v.ID, Summary: auth.Summarize(nil, after)})
	})
}

// AddStock records a stock move inside tx and updates the store's quantity.
func (s *Service) AddStock(ctx context.Context, tx db.Querier, in StockInput, actor int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO bank_stock (item_id, village_id, quantity) VALUES ($1, $2, $3)
		ON CONFLICT (item_id, village_id) DO UPDATE SET quantity = bank_stock.quantity + excluded.quantity`, in.ItemID, in.VillageID, in.Quantity); err != nil {
		return fmt.Errorf("bank: stock: %w", err)
	}
	var by any
	if actor > 0 {
		by = actor
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO bank_stock_moves (item_id, village_id, delta, source, note, actor_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		in.ItemID, in.VillageID, in.Quantity, in.Source, in.Note, by, s.Now())
	return err
}

// Items lists a town's items on offer with their stock in one village's store (a service: its
// places left in the current period).
func (s *Service) Items(ctx context.Context, townID, villageID int64) ([]Item, error) {
	return s.items(ctx, townID, villageID, false)
}

// SeesTown decides whether the actor may read a town's lists (its shop's items): a district
// admin any town, staff the towns of their grants, a resident their own. Another town answers
// NotFound, as a missing one would: what is out of scope looks missing.
func (s *Service) SeesTown(a *auth.Actor, townID int64) error {
	if a == nil || a.AccountID == 0 {
		return errs.New(errs.Unauthorized, "error.unauthorized")
	}
	all, towns := auth.Towns(a)
	if all || (townID != 0 && (townID == a.TownID || slices.Contains(towns, townID))) {
		return nil
	}
	return errs.New(errs.NotFound, "error.not_found")
}

// AllItems is Items with the withdrawn items too, for staff.
func (s *Service) AllItems(ctx context.Context, townID, villageID int64) ([]Item, error) {
	return s.items(ctx, townID, villageID, true)
}

func (s *Service) items(ctx context.Context, townID, villageID int64, withdrawn bool) ([]Item, error) {
	// The town first: holding the rows' connection while asking the pool for another can starve it.
	t, err := s.town(ctx, townID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT i.id, i.town_id, i.kind, i.name, i.description, i.price, i.limit_count, i.limit_period, i.classes,
		i.villages, i.low_stock, i.capacity, i.capacity_period, i.active, COALESCE(st.quantity, 0), COALESCE(st.period, '')
		FROM bank_items i LEFT JOIN bank_stock st ON st.item_id = i.id AND st.village_id = $2
		WHERE i.town_id = $1 AND (i.active OR $3) ORDER BY i.active DESC, i.kind, i.price, i.id`, townID, villageID, withdrawn)
	if err != nil {
		return nil, fmt.Errorf("bank: items: %w", err)
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var it Item
		var classes, villages, period string
		if err := rows.Scan(&it.ID, &it.TownID, &it.Kind, &it.Name, &it.Description, &it.Price, &it.LimitCount, &it.LimitPeriod, &classes,
			&villages, &it.LowStock, &it.Capacity, &it.CapacityPeriod, &it.Active, &it.Stock, &period); err != nil {
			return nil, err
		}
		it.Villages = splitIDs(villages)
		if it.Kind == "service" && period != placesPeriod(it.CapacityPeriod, now, t.Location()) {
			it.Stock = it.Capacity // no order yet this period: every place is free
		}
		it.Classes = []string{}
		if classes != "" {
			it.Classes = strings.Split(classes, ",")
		}
		out = append(out, it)
	}
	return out, rows.Err()
}
