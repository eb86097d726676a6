package alliance

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/web"
)

// Donations (捐赠) are traced from the donor through the villages to the residents who received
// them: a donation's items are allocated to villages by the town's alliance staff, and each
// village hands them out, one recorded handover (发放) at a time. Counters on the items and the
// allocations, raised only by a conditional UPDATE, keep anything from being handed out twice or
// beyond what was received, however many people record at once.

// Bounds of a donation's inputs.
const (
	maxDonationItems  = 20
	maxItemQuantity   = 1_000_000
	maxMoneyYuan      = 1_000_000_000
	maxHandoverPhotos = 2
)

// Donation is a donation as its reader may see it. UnitID is 0 for a person's donation.
type Donation struct {
	ID        int64          `json:"id"`
	TownID    int64          `json:"town_id"`
	ReceiptNo string         `json:"receipt_no"`
	UnitID    int64          `json:"unit_id,omitempty"`
	DonorName string         `json:"donor_name"`
	DonatedOn string         `json:"donated_on"`
	MoneyYuan int64          `json:"money_yuan"`
	Note      string         `json:"note"`
	Items     []DonationItem `json:"items"`
	CreatedAt time.Time      `json:"created_at"`
}

// DonationItem is what a donation gave of one thing, and where it stands: received, allocated to
// villages (or taken into the points shop's stock), handed out.
type DonationItem struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Measure   string `json:"measure"`
	Quantity  int    `json:"quantity"`
	Allocated int    `json:"allocated"`
	Handed    int    `json:"handed"`
	Left      int    `json:"left"` // received, not yet allocated
	ToShop    bool   `json:"to_shop"`
	ShopItem  string `json:"shop_item,omitempty"`
}

// Allocation is an item's share for a village, and what is left of it to hand out.
type Allocation struct {
	ID          int64  `json:"id"`
	ItemID      int64  `json:"item_id"`
	ItemName    string `json:"item_name"`
	Measure     string `json:"measure"`
	VillageID   int64  `json:"village_id"`
	VillageName string `json:"village_name"`
	Quantity    int    `json:"quantity"`
	Handed      int    `json:"handed"`
	Left        int    `json:"left"`
	Households  int    `json:"households"`
}

// Handover is one handing out to a resident, as staff of its village and the town see it.
type Handover struct {
	ID           int64     `json:"id"`
	AllocationID int64     `json:"allocation_id"`
	ItemName     string    `json:"item_name"`
	Measure      string    `json:"measure"`
	VillageName  string    `json:"village_name"`
	ResidentName string    `json:"resident_name"`
	Quantity     int       `json:"quantity"`
	HandedOn     string    `json:"handed_on"`
	ConfirmedBy  string    `json:"confirmed_by,omitempty"`
	PhotoIDs     []int64   `json:"photo_ids"`
	CreatedAt    time.Time `json:"created_at"`
}

// DonationDetail is a donation with where it went. Staff of the town see every allocation and
// handover, a village's staff their villages', and the donor unit's liaison the allocations
// alone (villages and counts, no person).
type DonationDetail struct {
	Donation
	Allocations []Allocation `json:"allocations"`
	Handovers   []Handover   `json:"handovers,omitempty"`
	// Manage: the reader may allocate; HandVillages: the villages whose share they may hand out.
	Manage       bool    `json:"-"`
	HandVillages []int64 `json:"-"`
}

// DonationInput records a donation: a member unit (UnitID) or a person (DonorName), the day, money
// in yuan and/or items. TownID 0 is the actor's town.
type DonationInput struct {
	TownID    int64               `json:"town_id"`
	UnitID    int64               `json:"unit_id"`
	DonorName string              `json:"donor_name"`
	DonatedOn string              `json:"donated_on"`
	MoneyYuan int64               `json:"money_yuan"`
	Note      string              `json:"note"`
	Items     []DonationItemInput `json:"items"`
}

// DonationItemInput is one item given. Goods meant for the points shop name the shop's item and
// the village store that takes them (ShopItemID, ShopVillageID): they go into its stock at once.
type DonationItemInput struct {
	Name          string `json:"name"`
	Measure       string `json:"measure"`
	Quantity      int    `json:"quantity"`
	ShopItemID    int64  `json:"shop_item_id"`
	ShopVillageID int64  `json:"shop_village_id"`
}

// AllocationInput gives a village a share of an item.
type AllocationInput struct {
	ItemID    int64 `json:"item_id"`
	VillageID int64 `json:"village_id"`
	Quantity  int   `json:"quantity"`
}

// HandoverInput records a handing out from a village's share to a resident: a signature photo,
// or Confirmed by the staff member recording it. IdempotencyKey, when given, records it once
// however often the request is sent (a form sent twice, a request resent after a timeout).
type HandoverInput struct {
	IdempotencyKey string   `json:"idempotency_key,omitempty"`
	AllocationID   int64    `json:"allocation_id"`
	ResidentID     int64    `json:"resident_id"`
	Quantity       int      `json:"quantity"`
	HandedOn       string   `json:"handed_on"`
	Confirmed      bool     `json:"confirmed"`
	Photos         [][]byte `json:"-"`
}

// Received is one thing a resident received, for their phone.
type Received struct {
	DonorName string `json:"donor_name"`
	ItemName  string `json:"item_name"`
	Measure   string `json:"measure"`
	Quantity  int    `json:"quantity"`
	HandedOn  string `json:"handed_on"`
	Village   string `json:"village"`
}

const donationCols = `id, town_id, receipt_no, COALESCE(unit_id, 0), donor_name, donated_on, money_yuan, note, created_at`

func scanDonation(sc interface{ Scan(...any) error }) (Donation, error) {
	var d Donation
	err := sc.Scan(&d.ID, &d.TownID, &d.ReceiptNo, &d.UnitID, &d.DonorName, &d.DonatedOn, &d.MoneyYuan, &d.Note, &d.CreatedAt)
	return d, err
}

func (s *Service) donation(ctx context.Context, q db.Querier, id int64) (Donation, error) {
	d, err := scanDonation(q.QueryRowContext(ctx, `SELECT `+donationCols+` FROM alliance_donations WHERE id = $1`, id))
	if db.IsNoRows(err) {
		return d, notFound
	}
	if err != nil {
		return d, fmt.Errorf("alliance: donation %d: %w", id, err)
	}
	return d, nil
}

// donationReader is how the actor may read a donation: as its town's staff (all), as staff of
// some of the villages it reached (villages), or as the donor unit's liaison (donor).
type donationReader struct {
	all      bool
	villages []int64
	donor    bool
}

func (s *Service) donationReader(ctx context.Context, q db.Querier, a *auth.Actor, d Donation) (donationReader, bool, error) {
	if manages(a, d.TownID) {
		return donationReader{all: true}, true, nil
	}
	all, villages := villageScope(a, d.TownID)
	if all {
		return donationReader{all: true}, true, nil
	}
	if len(villages) > 0 {
		rows, err := q.QueryContext(ctx, `SELECT DISTINCT village_id FROM alliance_donation_allocations WHERE donation_id = $1 AND village_id IN (`+db.IDList(villages)+`)`, d.ID)
		if err != nil {
			return donationReader{}, false, fmt.Errorf("alliance: donation villages: %w", err)
		}
		defer rows.Close()
		var mine []int64
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				return donationReader{}, false, err
			}
			mine = append(mine, v)
		}
		if err := rows.Err(); err != nil {
			return donationReader{}, false, err
		}
		return donationReader{villages: mine}, len(mine) > 0, nil
	}
	unit, err := s.myUnit(ctx, q, a)
	if err != nil {
		return donationReader{}, false, err
	}
	if unit != 0 && unit == d.UnitID {
		return donationReader{donor: true}, true, nil
	}
	return donationReader{}, false, nil
}

// Donations lists a town's donations, newest first: all of them for its alliance staff, those that
// reached their villages for a village's staff, their own unit's for a liaison.
func (s *Service) Donations(ctx context.Context, a *auth.Actor, townID int64) ([]Donation, error) {
	townID = townOf(a, townID)
	q := s.DB.Read()
	where := "town_id = $1"
	if !manages(a, townID) {
		all, villages := villageScope(a, townID)
		switch {
		case all:
		case len(villages) > 0:
			where += ` AND id IN (SELECT donation_id FROM alliance_donation_allocations WHERE village_id IN (` + db.IDList(villages) + `))`
		default:
			unit, err := s.myUnit(ctx, q, a)
			if err != nil {
				return nil, err
			}
			if unit == 0 {
				return nil, auth.Refuse(a, PermManage)
			}
			where += fmt.Sprintf(" AND unit_id = %d", unit)
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT `+donationCols+` FROM alliance_donations WHERE `+where+` ORDER BY donated_on DESC, id DESC`, townID)
	if err != nil {
		return nil, fmt.Errorf("alliance: donations: %w", err)
	}
	out := []Donation{}
	for rows.Next() {
		d, err := scanDonation(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("alliance: donations: %w", err)
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Items, err = s.donationItems(ctx, q, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// donationItems are a donation's items with their counts.
func (s *Service) donationItems(ctx context.Context, q db.Querier, id int64) ([]DonationItem, error) {
	rows, err := q.QueryContext(ctx, `SELECT i.id, i.name, i.measure, i.quantity, i.allocated, i.shop_item_id IS NOT NULL, COALESCE(b.name, ''),
		COALESCE((SELECT SUM(al.handed) FROM alliance_donation_allocations al WHERE al.item_id = i.id), 0)
		FROM alliance_donation_items i LEFT JOIN bank_items b ON b.id = i.shop_item_id WHERE i.donation_id = $1 ORDER BY i.id`, id)
	if err != nil {
		return nil, fmt.Errorf("alliance: donation items: %w", err)
	}
	defer rows.Close()
	out := []DonationItem{}
	for rows.Next() {
		var x DonationItem
		if err := rows.Scan(&x.ID, &x.Name, &x.Measure, &x.Quantity, &x.Allocated, &x.ToShop, &x.ShopItem, &x.Handed); err != nil {
			return nil, err
		}
		x.Left = x.Quantity - x.Allocated
		out = append(out, x)
	}
	return out, rows.Err()
}

// Donation returns a donation the actor may read, with where it went as far as they may see.
func (s *Service) Donation(ctx context.Context, a *auth.Actor, id int64) (DonationDetail, error) {
	q := s.DB.Read()
	d, err := s.donation(ctx, q, id)
	if err != nil {
		return DonationDetail{}, err
	}
	rd, ok, err := s.donationReader(ctx, q, a, d)
	if err != nil {
		return DonationDetail{}, err
	}
	if !ok {
		return DonationDetail{}, notFound
	}
	out := DonationDetail{Donation: d, Manage: manages(a, d.TownID)}
	if out.Items, err = s.donationItems(ctx, q, id); err != nil {
		return out, err
	}
	where := ""
	if !rd.all && !rd.donor {
		where = ` AND al.village_id IN (` + db.IDList(rd.villages) + `)`
	}
	rows, err := q.QueryContext(ctx, `SELECT al.id, al.item_id, i.name, i.measure, al.village_id, v.name, al.quantity, al.handed,
		(SELECT COUNT(DISTINCT COALESCE(h.household_id, -h.resident_id)) FROM alliance_donation_handovers h WHERE h.allocation_id = al.id)
		FROM alliance_donation_allocations al JOIN alliance_donation_items i ON i.id = al.item_id JOIN villages v ON v.id = al.village_id
		WHERE al.donation_id = $1`+where+` ORDER BY v.name, i.id, al.id`, id)
	if err != nil {
		return out, fmt.Errorf("alliance: allocations: %w", err)
	}
	out.Allocations = []Allocation{}
	for rows.Next() {
		var x Allocation
		if err := rows.Scan(&x.ID, &x.ItemID, &x.ItemName, &x.Measure, &x.VillageID, &x.VillageName, &x.Quantity, &x.Handed, &x.Households); err != nil {
			rows.Close()
			return out, err
		}
		x.Left = x.Quantity - x.Handed
		out.Allocations = append(out.Allocations, x)
		if servesVillage(a, d.TownID, x.VillageID) && !slices.Contains(out.HandVillages, x.VillageID) {
			out.HandVillages = append(out.HandVillages, x.VillageID)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	if rd.donor {
		return out, nil // the donor sees villages and counts, never a person
	}
	rows, err = q.QueryContext(ctx, `SELECT h.id, h.allocation_id, i.name, i.measure, v.name, r.name, h.quantity, h.handed_on, COALESCE(ac.name, ''), h.created_at
		FROM alliance_donation_handovers h JOIN alliance_donation_allocations al ON al.id = h.allocation_id JOIN alliance_donation_items i ON i.id = al.item_id
		JOIN villages v ON v.id = h.village_id JOIN residents r ON r.id = h.resident_id LEFT JOIN accounts ac ON ac.id = h.confirmed_by
		WHERE h.donation_id = $1`+strings.ReplaceAll(where, "al.village_id", "h.village_id")+` ORDER BY h.handed_on DESC, h.id DESC`, id)
	if err != nil {
		return out, fmt.Errorf("alliance: handovers: %w", err)
	}
	out.Handovers = []Handover{}
	for rows.Next() {
		var x Handover
		if err := rows.Scan(&x.ID, &x.AllocationID, &x.ItemName, &x.Measure, &x.VillageName, &x.ResidentName, &x.Quantity, &x.HandedOn, &x.ConfirmedBy, &x.CreatedAt); err != nil {
			rows.Close()
			return out, err
		}
		out.Handovers = append(out.Handovers, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	for i := range out.Handovers {
		if out.Handovers[i].PhotoIDs, err = s.photoIDs(ctx, q, "handover", out.Handovers[i].ID); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Validate checks a donation's fields as a person typed them, and trims them.
func (in *DonationInput) Validate() error {
	in.DonorName, in.DonatedOn, in.Note = strings.TrimSpace(in.DonorName), strings.TrimSpace(in.DonatedOn), strings.TrimSpace(in.Note)
	var f errs.Fields
	if in.UnitID == 0 {
		f.Text("donor_name", in.DonorName, 60, true)
	}
	if in.DonatedOn == "" {
		f.Add("donated_on", "field.required")
	} else if _, ok := clock.ParseDay(in.DonatedOn, time.UTC); !ok {
		f.Add("donated_on", "field.day_invalid")
	}
	if in.MoneyYuan < 0 || in.MoneyYuan > maxMoneyYuan {
		f.Add("money_yuan", "alliance.donation.money_invalid")
	}
	f.Text("note", in.Note, 200, false)
	if len(in.Items) > maxDonationItems {
		f.Add("items", "alliance.donation.items_too_many", maxDonationItems)
	}
	if len(in.Items) == 0 && in.MoneyYuan == 0 {
		f.Add("items", "alliance.donation.nothing_given")
	}
	for i := range in.Items {
		it := &in.Items[i]
		it.Name, it.Measure = strings.TrimSpace(it.Name), strings.TrimSpace(it.Measure)
		p := fmt.Sprintf("items.%d.", i)
		f.Text(p+"name", it.Name, 40, true)
		f.Text(p+"measure", it.Measure, 4, true)
		if it.Quantity <= 0 || it.Quantity > maxItemQuantity {
			f.Add(p+"quantity", "alliance.donation.quantity_invalid")
		}
		if (it.ShopItemID == 0) != (it.ShopVillageID == 0) {
			f.Add(p+"shop_village_id", "alliance.donation.shop_village_required")
		}
	}
	return f.Err()
}

// CreateDonation records a donation the town received and gives it the town's next receipt
// number. Goods meant for the points shop go into the named village store's stock in the same
// transaction (source 捐赠, the receipt number as reference).
func (s *Service) CreateDonation(ctx context.Context, a *auth.Actor, in DonationInput) (DonationDetail, error) {
	townID := townOf(a, in.TownID)
	if !manages(a, townID) {
		return DonationDetail{}, auth.Refuse(a, PermManage)
	}
	if err := in.Validate(); err != nil {
		return DonationDetail{}, err
	}
	today, err := s.townToday(ctx, townID)
	if err != nil {
		return DonationDetail{}, err
	}
	if in.DonatedOn > today {
		return DonationDetail{}, errs.Field("donated_on", "alliance.donation.future")
	}
	var id int64
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var unit any
		if in.UnitID != 0 {
			u, err := s.unit(ctx, tx, in.UnitID)
			if err != nil || u.TownID != townID {
				return &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "unit_id", Key: "error.not_found"}}}
			}
			unit, in.DonorName = u.ID, u.Name
		}
		var f errs.Fields
		for i, it := range in.Items {
			if it.ShopItemID == 0 {
				continue
			}
			var t int64
			var kind string
			if err := tx.QueryRowContext(ctx, `SELECT town_id, kind FROM bank_items WHERE id = $1`, it.ShopItemID).Scan(&t, &kind); err != nil || t != townID || kind != "goods" {
				if err != nil && !db.IsNoRows(err) {
					return fmt.Errorf("alliance: shop item: %w", err)
				}
				f.Add(fmt.Sprintf("items.%d.shop_item_id", i), "alliance.donation.shop_item_invalid")
			}
			if err := s.villageIn(ctx, tx, townID, it.ShopVillageID, fmt.Sprintf("items.%d.shop_village_id", i)); err != nil {
				if e, ok := errs.As(err); ok {
					f.Add(e.Fields[0].Field, "error.not_found")
				} else {
					return err
				}
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		// The town's next receipt number in the year of the gift: JZ-2026-0001. Writers of one town
		// queue one after another, so two donations never take one number.
		if err := s.DB.Serialize(ctx, tx, fmt.Sprintf("alliance receipt %d", townID)); err != nil {
			return fmt.Errorf("alliance: receipt lock: %w", err)
		}
		prefix := "JZ-" + in.DonatedOn[:4] + "-"
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_donations WHERE town_id = $1 AND receipt_no LIKE $2`, townID, prefix+"%").Scan(&n); err != nil {
			return fmt.Errorf("alliance: receipt: %w", err)
		}
		receipt := fmt.Sprintf("%s%04d", prefix, n+1)
		now := s.Now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO alliance_donations (town_id, receipt_no, unit_id, donor_name, donated_on, money_yuan, note, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, townID, receipt, unit, in.DonorName, in.DonatedOn, in.MoneyYuan, in.Note, actorID(a), now).Scan(&id); err != nil {
			return fmt.Errorf("alliance: donation: %w", err)
		}
		for _, it := range in.Items {
			var shopItem, shopVillage any
			allocated := 0
			if it.ShopItemID != 0 {
				shopItem, shopVillage, allocated = it.ShopItemID, it.ShopVillageID, it.Quantity
				if err := s.Bank.AddStock(ctx, tx, bank.StockInput{ItemID: it.ShopItemID, VillageID: it.ShopVillageID, Quantity: it.Quantity,
					Source: "donation", Note: receipt + " " + in.DonorName}, a.AccountID); err != nil {
					return fmt.Errorf("alliance: shop stock: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_donation_items (donation_id, name, measure, quantity, allocated, shop_item_id, shop_village)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, it.Name, it.Measure, it.Quantity, allocated, shopItem, shopVillage); err != nil {
				return fmt.Errorf("alliance: donation item: %w", err)
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.donation.create", Entity: "alliance_donation", EntityID: id, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"receipt_no": receipt, "donor": in.DonorName, "money_yuan": in.MoneyYuan, "items": len(in.Items)})})
	})
	if err != nil {
		return DonationDetail{}, err
	}
	return s.Donation(ctx, a, id)
}

func actorID(a *auth.Actor) any {
	if a == nil || a.AccountID <= 0 {
		return nil
	}
	return a.AccountID
}

// Allocate gives a village a share of a donation's item. The item's allocated count is raised by
// a conditional UPDATE, so that no share goes beyond what was received, whoever allocates at once.
func (s *Service) Allocate(ctx context.Context, a *auth.Actor, donationID int64, in AllocationInput) (Allocation, error) {
	var out Allocation
	if err := auth.MayAnywhere(a, PermManage); err != nil {
		return out, err // before any id is read: a missing and another's donation answer alike
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		d, err := s.donation(ctx, tx, donationID)
		if err != nil {
			return err
		}
		if !manages(a, d.TownID) {
			if rd, ok, err := s.donationReader(ctx, tx, a, d); err != nil {
				return err
			} else if ok && (rd.donor || len(rd.villages) > 0) {
				return errs.New(errs.Forbidden, "error.forbidden")
			}
			return auth.Refuse(a, PermManage)
		}
		var f errs.Fields
		var name, measure string
		var quantity, allocated int
		var shop bool
		err = tx.QueryRowContext(ctx, `SELECT name, measure, quantity, allocated, shop_item_id IS NOT NULL FROM alliance_donation_items WHERE id = $1 AND donation_id = $2`,
			in.ItemID, donationID).Scan(&name, &measure, &quantity, &allocated, &shop)
		switch {
		case db.IsNoRows(err):
			f.Add("item_id", "error.not_found")
		case err != nil:
			return fmt.Errorf("alliance: item: %w", err)
		case shop:
			f.Add("item_id", "alliance.donation.item_in_shop")
		}
		if in.Quantity <= 0 || in.Quantity > maxItemQuantity {
			f.Add("quantity", "alliance.donation.quantity_invalid")
		}
		if err := f.Err(); err != nil {
			return err
		}
		if err := s.villageIn(ctx, tx, d.TownID, in.VillageID, "village_id"); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE alliance_donation_items SET allocated = allocated + $1 WHERE id = $2 AND allocated + $1 <= quantity`, in.Quantity, in.ItemID)
		if err != nil {
			return fmt.Errorf("alliance: allocate: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var left int
			if err := tx.QueryRowContext(ctx, `SELECT quantity - allocated FROM alliance_donation_items WHERE id = $1`, in.ItemID).Scan(&left); err != nil {
				return err
			}
			return &errs.Error{Code: errs.Conflict, Key: "alliance.donation.beyond_received", Args: []any{left, measure},
				Fields: []errs.FieldError{{Field: "quantity", Key: "alliance.donation.beyond_received", Args: []any{left, measure}}}}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO alliance_donation_allocations (donation_id, item_id, village_id, quantity, handed, created_by, created_at)
			VALUES ($1, $2, $3, $4, 0, $5, $6) RETURNING id`, donationID, in.ItemID, in.VillageID, in.Quantity, actorID(a), s.Now()).Scan(&out.ID); err != nil {
			return fmt.Errorf("alliance: allocation: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT name FROM villages WHERE id = $1`, in.VillageID).Scan(&out.VillageName); err != nil {
			return err
		}
		out.ItemID, out.ItemName, out.Measure, out.VillageID, out.Quantity, out.Left = in.ItemID, name, measure, in.VillageID, in.Quantity, in.Quantity
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.donation.allocate", Entity: "alliance_donation", EntityID: donationID, TownID: d.TownID, VillageID: in.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"receipt_no": d.ReceiptNo, "item": name, "village": out.VillageName, "quantity": in.Quantity})})
	})
	return out, err
}

// errReplayed ends a handover's transaction whose idempotency key another request recorded.
var errReplayed = errs.New(errs.Conflict, "alliance.donation.replayed")

// Handover records a handing out from a village's share to a resident of the village, with a
// signature photo or the recording staff member's confirmation, and tells the resident. The
// share's handed count is raised by a conditional UPDATE: nothing is handed out beyond the share,
// however many record at once. A request with an idempotency key already recorded returns the
// first handover, replayed true, and changes nothing.
func (s *Service) Handover(ctx context.Context, a *auth.Actor, donationID int64, in HandoverInput) (Handover, bool, error) {
	in.HandedOn, in.IdempotencyKey = strings.TrimSpace(in.HandedOn), strings.TrimSpace(in.IdempotencyKey)
	if len(in.IdempotencyKey) > 64 || strings.Trim(in.IdempotencyKey, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:.") != "" {
		return Handover{}, false, errs.Field("idempotency_key", "alliance.donation.key_invalid")
	}
	if err := auth.MayAnywhere(a, PermVillage); err != nil {
		return Handover{}, false, err // before any id is read: a missing and another's donation answer alike
	}
	out, err := s.handover(ctx, a, donationID, in)
	if err == errReplayed {
		out, err = s.handoverByKey(ctx, s.DB.Read(), donationID, in.IdempotencyKey)
		return out, err == nil, err
	}
	return out, false, err
}

// handoverByKey reads the handover a request key recorded.
func (s *Service) handoverByKey(ctx context.Context, q db.Querier, donationID int64, key string) (Handover, error) {
	var x Handover
	err := q.QueryRowContext(ctx, `SELECT h.id, h.allocation_id, i.name, i.measure, v.name, r.name, h.quantity, h.handed_on, COALESCE(ac.name, ''), h.created_at
		FROM alliance_donation_handovers h JOIN alliance_donation_allocations al ON al.id = h.allocation_id JOIN alliance_donation_items i ON i.id = al.item_id
		JOIN villages v ON v.id = h.village_id JOIN residents r ON r.id = h.resident_id LEFT JOIN accounts ac ON ac.id = h.confirmed_by
		WHERE h.donation_id = $1 AND h.request_key = $2`, donationID, key).
		Scan(&x.ID, &x.AllocationID, &x.ItemName, &x.Measure, &x.VillageName, &x.ResidentName, &x.Quantity, &x.HandedOn, &x.ConfirmedBy, &x.CreatedAt)
	if err != nil {
		return x, fmt.Errorf("alliance: handover by key: %w", err)
	}
	x.PhotoIDs, err = s.photoIDs(ctx, q, "handover", x.ID)
	return x, err
}

func (s *Service) handover(ctx context.Context, a *auth.Actor, donationID int64, in HandoverInput) (Handover, error) {
	var out Handover
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		d, err := s.donation(ctx, tx, donationID)
		if err != nil {
			return err
		}
		var villageID, itemID int64
		err = tx.QueryRowContext(ctx, `SELECT village_id, item_id FROM alliance_donation_allocations WHERE id = $1 AND donation_id = $2`, in.AllocationID, donationID).Scan(&villageID, &itemID)
		if db.IsNoRows(err) {
			if _, ok, rerr := s.donationReader(ctx, tx, a, d); rerr != nil {
				return rerr
			} else if !ok {
				return auth.Refuse(a, PermVillage)
			}
			return &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "allocation_id", Key: "error.not_found"}}}
		}
		if err != nil {
			return fmt.Errorf("alliance: allocation: %w", err)
		}
		if !servesVillage(a, d.TownID, villageID) {
			if rd, ok, err := s.donationReader(ctx, tx, a, d); err != nil {
				return err
			} else if ok && rd.donor {
				return errs.New(errs.Forbidden, "error.forbidden")
			}
			return auth.Refuse(a, PermVillage)
		}
		if in.IdempotencyKey != "" {
			var seen int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM alliance_donation_handovers WHERE donation_id = $1 AND request_key = $2`, donationID, in.IdempotencyKey).Scan(&seen)
			if err == nil {
				return errReplayed
			}
			if !db.IsNoRows(err) {
				return fmt.Errorf("alliance: handover key: %w", err)
			}
		}
		var f errs.Fields
		if in.Quantity <= 0 || in.Quantity > maxItemQuantity {
			f.Add("quantity", "alliance.donation.quantity_invalid")
		}
		today, err := s.townToday(ctx, d.TownID)
		if err != nil {
			return err
		}
		if in.HandedOn == "" {
			in.HandedOn = today
		}
		if _, ok := clock.ParseDay(in.HandedOn, time.UTC); !ok {
			f.Add("handed_on", "field.day_invalid")
		} else if in.HandedOn > today {
			f.Add("handed_on", "alliance.donation.future")
		} else if in.HandedOn < d.DonatedOn {
			f.Add("handed_on", "alliance.donation.before_donated")
		}
		if !in.Confirmed && len(in.Photos) == 0 {
			f.Add("photos", "alliance.donation.proof_required")
		}
		if len(in.Photos) > maxHandoverPhotos {
			f.Add("photos", "field.photos_too_many", maxHandoverPhotos)
		}
		var resName, status string
		var household sql.NullInt64
		var resVillage int64
		err = tx.QueryRowContext(ctx, `SELECT name, status, household_id, village_id FROM residents WHERE id = $1`, in.ResidentID).Scan(&resName, &status, &household, &resVillage)
		if err != nil && !db.IsNoRows(err) {
			return fmt.Errorf("alliance: resident: %w", err)
		}
		if err != nil || resVillage != villageID || status != "active" {
			f.Add("resident_id", "alliance.donation.resident_unknown")
		}
		if err := f.Err(); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE alliance_donation_allocations SET handed = handed + $1 WHERE id = $2 AND handed + $1 <= quantity`, in.Quantity, in.AllocationID)
		if err != nil {
			return fmt.Errorf("alliance: hand over: %w", err)
		}
		var name, measure, village string
		if err := tx.QueryRowContext(ctx, `SELECT i.name, i.measure, v.name FROM alliance_donation_items i, villages v WHERE i.id = $1 AND v.id = $2`, itemID, villageID).Scan(&name, &measure, &village); err != nil {
			return fmt.Errorf("alliance: item: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var left int
			if err := tx.QueryRowContext(ctx, `SELECT quantity - handed FROM alliance_donation_allocations WHERE id = $1`, in.AllocationID).Scan(&left); err != nil {
				return err
			}
			return &errs.Error{Code: errs.Conflict, Key: "alliance.donation.beyond_allocated", Args: []any{left, measure},
				Fields: []errs.FieldError{{Field: "quantity", Key: "alliance.donation.beyond_allocated", Args: []any{left, measure}}}}
		}
		var confirmedBy any
		if in.Confirmed {
			confirmedBy = actorID(a)
		}
		var hh any
		if household.Valid && household.Int64 != 0 {
			hh = household.Int64
		}
		now := s.Now()
		err = tx.QueryRowContext(ctx, `INSERT INTO alliance_donation_handovers (allocation_id, donation_id, village_id, resident_id, household_id, quantity, handed_on, confirmed_by, request_key, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, in.AllocationID, donationID, villageID, in.ResidentID, hh, in.Quantity, in.HandedOn, confirmedBy, in.IdempotencyKey, now).Scan(&out.ID)
		if db.IsUnique(err) {
			return errReplayed // the same request, recorded by another at the same moment: this one is undone
		}
		if err != nil {
			return fmt.Errorf("alliance: handover: %w", err)
		}
		if err := s.savePhotos(ctx, tx, "handover", out.ID, in.Photos); err != nil {
			return err
		}
		out.AllocationID, out.ItemName, out.Measure, out.VillageName, out.ResidentName, out.Quantity, out.HandedOn, out.CreatedAt =
			in.AllocationID, name, measure, village, resName, in.Quantity, in.HandedOn, now
		if in.Confirmed && a != nil {
			out.ConfirmedBy = a.Name
		}
		if out.PhotoIDs, err = s.photoIDs(ctx, tx, "handover", out.ID); err != nil {
			return err
		}
		if err := s.Notify.Tell(ctx, tx, in.ResidentID, notify.Outcome{Title: "alliance.donation.told_title", Body: "alliance.donation.told_body",
			Args: []any{d.DonorName, name, in.Quantity, measure}, Link: "/alliance/donations"}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.donation.handover", Entity: "alliance_donation", EntityID: donationID, TownID: d.TownID, VillageID: villageID,
			Summary: auth.Summarize(nil, map[string]any{"receipt_no": d.ReceiptNo, "item": name, "resident": resName, "quantity": in.Quantity})})
	})
	return out, err
}

// MyReceived lists what the actor's resident received from donations, newest first.
func (s *Service) MyReceived(ctx context.Context, a *auth.Actor) ([]Received, error) {
	q := s.DB.Read()
	m, ok, err := s.me(ctx, q, a)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, auth.Refuse(a, PermJoin)
	}
	rows, err := q.QueryContext(ctx, `SELECT d.donor_name, i.name, i.measure, h.quantity, h.handed_on, v.name
		FROM alliance_donation_handovers h JOIN alliance_donations d ON d.id = h.donation_id JOIN alliance_donation_allocations al ON al.id = h.allocation_id
		JOIN alliance_donation_items i ON i.id = al.item_id JOIN villages v ON v.id = h.village_id
		WHERE h.resident_id = $1 ORDER BY h.handed_on DESC, h.id DESC`, m.ID)
	if err != nil {
		return nil, fmt.Errorf("alliance: received: %w", err)
	}
	defer rows.Close()
	out := []Received{}
	for rows.Next() {
		var x Received
		if err := rows.Scan(&x.DonorName, &x.ItemName, &x.Measure, &x.Quantity, &x.HandedOn, &x.Village); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// FindHandoverResidents finds active residents of the villages whose share of a donation the
// actor hands out, by the start of their name, for the handover form.
func (s *Service) FindHandoverResidents(ctx context.Context, a *auth.Actor, donationID int64, q string) ([]ResidentChoice, error) {
	q = strings.TrimSpace(q)
	d, err := s.Donation(ctx, a, donationID)
	if err != nil {
		return nil, err
	}
	if len(d.HandVillages) == 0 {
		return []ResidentChoice{}, nil
	}
	return s.findResidents(ctx, s.DB.Read(), d.TownID, d.HandVillages, q)
}

// seesDonationPhoto decides who sees a donation's photo (the donor's liaison and the town's staff)
// or a handover's signature (the resident who signed, and the staff of its village and town).
func (s *Service) seesDonationPhoto(ctx context.Context, q db.Querier, a *auth.Actor, owner string, id int64) (bool, error) {
	if owner == "donation" {
		d, err := s.donation(ctx, q, id)
		if err != nil {
			return false, nil
		}
		rd, ok, err := s.donationReader(ctx, q, a, d)
		return ok && (rd.all || rd.donor || len(rd.villages) > 0), err
	}
	var townID, villageID, residentID int64
	err := q.QueryRowContext(ctx, `SELECT d.town_id, h.village_id, h.resident_id FROM alliance_donation_handovers h JOIN alliance_donations d ON d.id = h.donation_id WHERE h.id = $1`, id).
		Scan(&townID, &villageID, &residentID)
	if db.IsNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("alliance: handover photo: %w", err)
	}
	if servesVillage(a, townID, villageID) {
		return true, nil
	}
	return a != nil && a.Self() == residentID, nil
}

// DonationFigures are a town's donations in a period, for the pillar's figures: how many were
// received and from how many donors, the cash (yuan, apart from points), the items received,
// allocated to villages or taken into the points shop, and handed out, and the residents and
// households they reached.
type DonationFigures struct {
	Donations  int   `json:"donations"`
	Donors     int   `json:"donors"`
	MoneyYuan  int64 `json:"money_yuan"`
	Received   int   `json:"received"`
	Allocated  int   `json:"allocated"`
	Handed     int   `json:"handed"`
	Residents  int   `json:"residents"`
	Households int   `json:"households"`
}

// DonationFigures counts a town's donations made on days from..to (2006-01-02, inclusive; empty
// for no bound) for its alliance staff. Counts only: no person.
func (s *Service) DonationFigures(ctx context.Context, a *auth.Actor, townID int64, from, to string) (DonationFigures, error) {
	townID = townOf(a, townID)
	var out DonationFigures
	if !manages(a, townID) {
		return out, auth.Refuse(a, PermManage)
	}
	if to == "" {
		to = "9999-12-31"
	}
	q := s.DB.Read()
	const in = `SELECT id FROM alliance_donations WHERE town_id = $1 AND donated_on >= $2 AND donated_on <= $3`
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT COALESCE(CAST(unit_id AS TEXT), donor_name)), COALESCE(SUM(money_yuan), 0)
		FROM alliance_donations WHERE town_id = $1 AND donated_on >= $2 AND donated_on <= $3`, townID, from, to).Scan(&out.Donations, &out.Donors, &out.MoneyYuan); err != nil {
		return out, fmt.Errorf("alliance: donation figures: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(quantity), 0), COALESCE(SUM(allocated), 0) FROM alliance_donation_items WHERE donation_id IN (`+in+`)`,
		townID, from, to).Scan(&out.Received, &out.Allocated); err != nil {
		return out, fmt.Errorf("alliance: donation figures: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(quantity), 0), COUNT(DISTINCT resident_id), COUNT(DISTINCT household_id) FROM alliance_donation_handovers WHERE donation_id IN (`+in+`)`,
		townID, from, to).Scan(&out.Handed, &out.Residents, &out.Households); err != nil {
		return out, fmt.Errorf("alliance: donation figures: %w", err)
	}
	return out, nil
}

// DonationTodos are a village's staff's donated items still to hand out: how many shares allocated
// to their villages have some left (an allocation tells nobody else; this is how the village
// learns of it). The town's staff, who allocate, have none here.
func (s *Service) DonationTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil || a.TownID == 0 {
		return nil, nil
	}
	all, villages := villageScope(a, a.TownID)
	if all || len(villages) == 0 {
		return nil, nil
	}
	var n int
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_donation_allocations WHERE village_id IN (`+db.IDList(villages)+`) AND handed < quantity`).Scan(&n); err != nil {
		return nil, fmt.Errorf("alliance: donation todos: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	return []web.Todo{{Key: "alliance.donation.todo_hand_out", Count: n, Path: "/admin/alliance/donations"}}, nil
}
