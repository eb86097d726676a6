package honours

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
)

// The kinds of list that go on public notice (公示) before they are published.
const (
	NoticeRound      = "round"      // an evaluation round's chosen, for the 名录墙
	NoticeContest    = "contest"    // a contest round's winners
	NoticeHouseholds = "households" // a month's 文明大户
)

// The statuses of a notice.
const (
	NoticeOpen      = "notice"    // on the board until NoticeUntil; residents of its scope may object
	NoticePublished = "published" // published by the town without the items struck
	NoticeWithdrawn = "withdrawn" // taken down by the town, with a reason, before publishing
)

// Notice is a list on public notice (公示): what it is (Kind, RefID, the owner's record), its
// scope (a village, or the whole town for VillageID 0), until when objections are taken, and its
// items. The same notice is the published list after Publish.
type Notice struct {
	ID            int64        `json:"id"`
	TownID        int64        `json:"town_id"`
	VillageID     int64        `json:"village_id,omitzero"`
	Village       string       `json:"village,omitempty"`
	Kind          string       `json:"kind"`
	RefID         int64        `json:"ref_id"`
	Title         string       `json:"title"`
	Status        string       `json:"status"`
	NoticeUntil   time.Time    `json:"notice_until"`
	PublishedAt   time.Time    `json:"published_at,omitzero"`
	CreatedByName string       `json:"created_by_name,omitempty"`
	Items         []NoticeItem `json:"items"`
	// Due is true once the notice period is over: the town may publish when no objection is open.
	Due bool `json:"due"`
	// OpenObjections counts the objections still to decide (staff only).
	OpenObjections int `json:"open_objections"`
}

// NoticeItem is one line of a list on notice: the owner's record (ItemID: a nomination, a contest
// entry, a household), its rank, whom it concerns, and what the board shows. Label is written when
// the notice is opened, a minor's name masked.
type NoticeItem struct {
	ItemID       int64       `json:"item_id"`
	Rank         int         `json:"rank"`
	ResidentID   int64       `json:"-"`
	HouseholdID  int64       `json:"-"`
	VillageID    int64       `json:"village_id"`
	Village      string      `json:"village"`
	Label        string      `json:"label"`
	Detail       string      `json:"detail"`
	Struck       bool        `json:"struck"`
	StruckReason string      `json:"struck_reason,omitempty"`
	Objections   []Objection `json:"objections,omitempty"`
}

// Objection is an 异议 to an item on notice. The objector's name is shown to the town's staff and
// to the objector only.
type Objection struct {
	ID            int64     `json:"id"`
	NoticeID      int64     `json:"notice_id"`
	ItemID        int64     `json:"item_id"`
	ResidentName  string    `json:"resident_name,omitempty"`
	Mine          bool      `json:"mine"`
	Reason        string    `json:"reason"`
	Status        string    `json:"status"`
	DecidedByName string    `json:"decided_by_name,omitempty"`
	Decision      string    `json:"decision,omitempty"`
	DecidedAt     time.Time `json:"decided_at,omitzero"`
	CreatedAt     time.Time `json:"created_at"`
}

// publisher is what the part that owns a kind of list does when it is published.
type publisher struct {
	// Keep acts on the kept items inside the publishing transaction: the chosen go onto the wall,
	// the winners are recorded, a month's list is kept. Nil keeps nothing more.
	Keep func(ctx context.Context, tx *sql.Tx, a *auth.Actor, n Notice, kept []NoticeItem) error
	// Pay pays, after the commit, the points the published list earns (bank.Earn, a key per event,
	// so that paying again pays only what the bank has not answered). Nil pays nothing.
	Pay func(ctx context.Context, a *auth.Actor, n Notice) error
}

// openNotice puts a list on notice inside tx, until bank.NoticePeriod from now: the owner's
// record (kind, refID) in its scope, with its items. A record has one notice; opening a second
// answers Conflict (honours.notice.exists).
func (s *Service) openNotice(ctx context.Context, tx *sql.Tx, a *auth.Actor, n Notice, items []NoticeItem) (Notice, error) {
	now := s.Now()
	n.Status, n.NoticeUntil, n.Items = NoticeOpen, now.Add(bank.NoticePeriod), items
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_notices WHERE kind = $1 AND ref_id = $2`, n.Kind, n.RefID).Scan(&exists); err != nil {
		return n, fmt.Errorf("honours: notice: %w", err)
	}
	if exists > 0 {
		return n, errs.New(errs.Conflict, "honours.notice.exists")
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO honours_notices (town_id, village_id, kind, ref_id, title, status, notice_until, created_by_name, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, n.TownID, db.NullID(n.VillageID), n.Kind, n.RefID, n.Title, n.Status, n.NoticeUntil, a.Name, now).Scan(&n.ID); err != nil {
		return n, fmt.Errorf("honours: open notice: %w", err)
	}
	for _, it := range items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO honours_notice_items (notice_id, item_id, rank, resident_id, household_id, village_id, label, detail)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, n.ID, it.ItemID, it.Rank, db.NullID(it.ResidentID), db.NullID(it.HouseholdID), it.VillageID, it.Label, it.Detail); err != nil {
			return n, fmt.Errorf("honours: notice item: %w", err)
		}
	}
	return n, auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.notice.open", Entity: "honours_notice", EntityID: n.ID, TownID: n.TownID, VillageID: n.VillageID,
		Summary: auth.Summarize(nil, map[string]any{"kind": n.Kind, "title": n.Title, "items": len(items)})})
}

const noticeCols = `n.id, n.town_id, COALESCE(n.village_id, 0), COALESCE(v.name, ''), n.kind, n.ref_id, n.title, n.status, n.notice_until, n.published_at, n.created_by_name`

func scanNotice(sc interface{ Scan(...any) error }) (Notice, error) {
	var n Notice
	var pub sql.NullTime
	err := sc.Scan(&n.ID, &n.TownID, &n.VillageID, &n.Village, &n.Kind, &n.RefID, &n.Title, &n.Status, &n.NoticeUntil, &pub, &n.CreatedByName)
	n.PublishedAt = pub.Time
	return n, err
}

// notice reads a notice and its items (with every objection for staff, the viewer's own for a
// resident: viewer is their resident id, 0 for staff).
func (s *Service) notice(ctx context.Context, q db.Querier, where string, arg any, staff bool, viewer int64) (Notice, error) {
	n, err := scanNotice(q.QueryRowContext(ctx, `SELECT `+noticeCols+` FROM honours_notices n LEFT JOIN villages v ON v.id = n.village_id WHERE `+where, arg))
	if db.IsNoRows(err) {
		return n, notFound
	}
	if err != nil {
		return n, fmt.Errorf("honours: notice: %w", err)
	}
	n.Due = !s.Now().Before(n.NoticeUntil)
	rows, err := q.QueryContext(ctx, `SELECT i.item_id, i.rank, COALESCE(i.resident_id, 0), COALESCE(i.household_id, 0), i.village_id, v.name, i.label, i.detail,
		i.struck_at IS NOT NULL, i.struck_reason FROM honours_notice_items i JOIN villages v ON v.id = i.village_id WHERE i.notice_id = $1 ORDER BY i.rank, i.item_id`, n.ID)
	if err != nil {
		return n, fmt.Errorf("honours: notice items: %w", err)
	}
	idx := map[int64]int{}
	for rows.Next() {
		var it NoticeItem
		if err := rows.Scan(&it.ItemID, &it.Rank, &it.ResidentID, &it.HouseholdID, &it.VillageID, &it.Village, &it.Label, &it.Detail, &it.Struck, &it.StruckReason); err != nil {
			rows.Close()
			return n, err
		}
		idx[it.ItemID] = len(n.Items)
		n.Items = append(n.Items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return n, err
	}
	if !staff && viewer == 0 {
		return n, nil
	}
	orows, err := q.QueryContext(ctx, `SELECT o.id, o.item_id, o.resident_id, r.name, o.reason, o.status, o.decided_by_name, o.decision, o.decided_at, o.created_at
		FROM honours_objections o JOIN residents r ON r.id = o.resident_id WHERE o.notice_id = $1 ORDER BY o.id`, n.ID)
	if err != nil {
		return n, fmt.Errorf("honours: objections: %w", err)
	}
	defer orows.Close()
	for orows.Next() {
		var o Objection
		var by int64
		var decided sql.NullTime
		if err := orows.Scan(&o.ID, &o.ItemID, &by, &o.ResidentName, &o.Reason, &o.Status, &o.DecidedByName, &o.Decision, &decided, &o.CreatedAt); err != nil {
			return n, err
		}
		o.NoticeID, o.DecidedAt, o.Mine = n.ID, decided.Time, by == viewer && viewer != 0
		if o.Status == "open" {
			n.OpenObjections++
		}
		if !staff && !o.Mine {
			continue
		}
		if i, ok := idx[o.ItemID]; ok {
			n.Items[i].Objections = append(n.Items[i].Objections, o)
		}
	}
	if !staff {
		n.OpenObjections = 0
	}
	return n, orows.Err()
}

// seesNotice reports whether the actor may read a notice, and as staff (objections with names):
// the town's staff, a village's staff for their village's notices and the town's, and a resident
// of its scope. Anyone else answers NotFound.
func (s *Service) seesNotice(ctx context.Context, a *auth.Actor, townID, villageID int64) (staff bool, viewer int64, err error) {
	if manages(a, townID) || (villageID != 0 && servesVillage(a, townID, villageID)) {
		return true, 0, nil
	}
	if villageID == 0 {
		if all, vs := villageScope(a, townID); all || len(vs) > 0 {
			return false, 0, nil
		}
	}
	m, ok, err := s.me(ctx, s.DB.Read(), a)
	if err != nil {
		return false, 0, err
	}
	if ok && m.Active && m.TownID == townID && (villageID == 0 || m.VillageID == villageID) {
		return false, m.ID, nil
	}
	return false, 0, notFound
}

// NoticeByID is a notice as the actor may see it.
func (s *Service) NoticeByID(ctx context.Context, a *auth.Actor, id int64) (Notice, error) {
	if a == nil || a.AccountID == 0 {
		return Notice{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	var townID, villageID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id, COALESCE(village_id, 0) FROM honours_notices WHERE id = $1`, id).Scan(&townID, &villageID)
	if db.IsNoRows(err) {
		return Notice{}, notFound
	}
	if err != nil {
		return Notice{}, fmt.Errorf("honours: notice %d: %w", id, err)
	}
	staff, viewer, err := s.seesNotice(ctx, a, townID, villageID)
	if err != nil {
		return Notice{}, err
	}
	return s.notice(ctx, s.DB.Read(), `n.id = $1`, id, staff, viewer)
}

// NoticeOf is the notice of an owner's record (a round, a contest round, a month's list), for the
// owner's pages: NotFound when it has none yet or the actor may not see it.
func (s *Service) NoticeOf(ctx context.Context, a *auth.Actor, kind string, refID int64) (Notice, error) {
	var id int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id FROM honours_notices WHERE kind = $1 AND ref_id = $2`, kind, refID).Scan(&id)
	if db.IsNoRows(err) {
		return Notice{}, notFound
	}
	if err != nil {
		return Notice{}, fmt.Errorf("honours: notice of %s %d: %w", kind, refID, err)
	}
	return s.NoticeByID(ctx, a, id)
}

// noticeBoardDays is how long a published list stays on the board after it is published.
const noticeBoardDays = 30

// NoticeBoard is the 公示栏 of a town as the actor may see it: the lists on notice and those
// published in the last 30 days, for a resident those of the town and of their village, for a
// village's staff those of the town and of their villages, for the town's staff all of them.
func (s *Service) NoticeBoard(ctx context.Context, a *auth.Actor, townID int64) ([]Notice, error) {
	townID = townOf(a, townID)
	q := s.DB.Read()
	var where []string
	args := []any{townID, s.Now().AddDate(0, 0, -noticeBoardDays)}
	staff, viewer := false, int64(0)
	switch {
	case manages(a, townID):
		staff = true
	default:
		if all, vs := villageScope(a, townID); all || len(vs) > 0 {
			staff = true
			if !all {
				where = append(where, `(n.village_id IS NULL OR n.village_id IN (`+db.IDList(vs)+`))`)
			}
			break
		}
		m, ok, err := s.me(ctx, q, a)
		if err != nil {
			return nil, err
		}
		if !ok || !m.Active || m.TownID != townID {
			if err := auth.MayAnywhere(a, PermJoin); err != nil {
				return nil, err
			}
			return []Notice{}, nil
		}
		viewer = m.ID
		where = append(where, fmt.Sprintf(`(n.village_id IS NULL OR n.village_id = %d)`, m.VillageID))
	}
	cond := ""
	if len(where) > 0 {
		cond = " AND " + strings.Join(where, " AND ")
	}
	rows, err := q.QueryContext(ctx, `SELECT n.id FROM honours_notices n WHERE n.town_id = $1
		AND (n.status = 'notice' OR (n.status = 'published' AND n.published_at >= $2))`+cond+` ORDER BY n.status = 'published', n.notice_until DESC, n.id DESC LIMIT 100`, args...)
	if err != nil {
		return nil, fmt.Errorf("honours: notice board: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Notice, 0, len(ids))
	for _, id := range ids {
		n, err := s.notice(ctx, q, `n.id = $1`, id, staff, viewer)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// maxReason bounds an objection's reason and a decision.
const maxReason = 500

// Object files a resident's objection (异议) to an item of a list on notice, once per item, while
// the notice runs. Only residents of the notice's scope object; anyone else answers NotFound.
func (s *Service) Object(ctx context.Context, a *auth.Actor, noticeID, itemID int64, reason string) (Objection, error) {
	if err := auth.MayAnywhere(a, PermJoin); err != nil {
		return Objection{}, err
	}
	var f errs.Fields
	reason = strings.TrimSpace(reason)
	f.Text("reason", reason, maxReason, true)
	if err := f.Err(); err != nil {
		return Objection{}, err
	}
	var o Objection
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		m, ok, err := s.me(ctx, tx, a)
		if err != nil {
			return err
		}
		var townID, villageID int64
		var status string
		var until time.Time
		err = tx.QueryRowContext(ctx, `SELECT town_id, COALESCE(village_id, 0), status, notice_until FROM honours_notices WHERE id = $1`, noticeID).Scan(&townID, &villageID, &status, &until)
		if db.IsNoRows(err) || !ok || !m.Active || (err == nil && (m.TownID != townID || (villageID != 0 && villageID != m.VillageID))) {
			return notFound
		}
		if err != nil {
			return fmt.Errorf("honours: object: %w", err)
		}
		var label string
		err = tx.QueryRowContext(ctx, `SELECT label FROM honours_notice_items WHERE notice_id = $1 AND item_id = $2`, noticeID, itemID).Scan(&label)
		if db.IsNoRows(err) {
			return notFound
		}
		if err != nil {
			return err
		}
		if status != NoticeOpen || !s.Now().Before(until) {
			return errs.New(errs.Conflict, "honours.notice.closed")
		}
		now := s.Now()
		o = Objection{NoticeID: noticeID, ItemID: itemID, ResidentName: m.Name, Mine: true, Reason: reason, Status: "open", CreatedAt: now}
		err = tx.QueryRowContext(ctx, `INSERT INTO honours_objections (notice_id, item_id, resident_id, reason, status, created_at) VALUES ($1, $2, $3, $4, 'open', $5)
			ON CONFLICT (notice_id, item_id, resident_id) DO NOTHING RETURNING id`, noticeID, itemID, m.ID, reason, now).Scan(&o.ID)
		if db.IsNoRows(err) {
			return errs.New(errs.Conflict, "honours.notice.objected")
		}
		if err != nil {
			return fmt.Errorf("honours: object: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.notice.object", Entity: "honours_notice", EntityID: noticeID, TownID: townID, VillageID: villageID,
			Summary: auth.Summarize(nil, map[string]any{"item": label})})
	})
	return o, err
}

// DecideObjection upholds an objection (the item is struck from the list, with the decision as
// the reason) or dismisses it (the item stays), with the town's reason; the objector is told, and
// so is the person the item names when it is struck. Only the town's staff decide.
func (s *Service) DecideObjection(ctx context.Context, a *auth.Actor, objectionID int64, uphold bool, decision string) (Notice, error) {
	if err := auth.MayAnywhere(a, PermManage); err != nil {
		return Notice{}, err
	}
	var f errs.Fields
	decision = strings.TrimSpace(decision)
	f.Text("decision", decision, maxReason, true)
	if err := f.Err(); err != nil {
		return Notice{}, err
	}
	var noticeID int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var townID, villageID, itemID, objector int64
		var title string
		err := tx.QueryRowContext(ctx, `SELECT n.id, n.town_id, COALESCE(n.village_id, 0), n.title, o.item_id, o.resident_id FROM honours_objections o
			JOIN honours_notices n ON n.id = o.notice_id WHERE o.id = $1`, objectionID).Scan(&noticeID, &townID, &villageID, &title, &itemID, &objector)
		if db.IsNoRows(err) || (err == nil && !manages(a, townID)) {
			return auth.Refuse(a, PermManage)
		}
		if err != nil {
			return fmt.Errorf("honours: objection %d: %w", objectionID, err)
		}
		status, told := "dismissed", "honours.outcome.objection_dismissed"
		if uphold {
			status, told = "upheld", "honours.outcome.objection_upheld"
		}
		now := s.Now()
		res, err := tx.ExecContext(ctx, `UPDATE honours_objections SET status = $1, decided_by_name = $2, decision = $3, decided_at = $4 WHERE id = $5 AND status = 'open'
			AND EXISTS (SELECT 1 FROM honours_notices n WHERE n.id = honours_objections.notice_id AND n.status = 'notice')`, status, a.Name, decision, now, objectionID)
		if err != nil {
			return fmt.Errorf("honours: decide objection: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return errs.New(errs.Conflict, "honours.notice.decided")
		}
		var label string
		var concerned int64
		if err := tx.QueryRowContext(ctx, `SELECT label, COALESCE(resident_id, 0) FROM honours_notice_items WHERE notice_id = $1 AND item_id = $2`, noticeID, itemID).Scan(&label, &concerned); err != nil {
			return fmt.Errorf("honours: objection item: %w", err)
		}
		link := fmt.Sprintf("/honours/notices/%d", noticeID)
		if uphold {
			if _, err := tx.ExecContext(ctx, `UPDATE honours_notice_items SET struck_at = $1, struck_reason = $2 WHERE notice_id = $3 AND item_id = $4 AND struck_at IS NULL`,
				now, decision, noticeID, itemID); err != nil {
				return fmt.Errorf("honours: strike item: %w", err)
			}
			if err := s.Notify.Tell(ctx, tx, concerned, notify.Outcome{Title: "honours.outcome.struck_title", Body: "honours.outcome.struck", Args: []any{title, decision}, Link: link}); err != nil {
				return err
			}
		}
		if err := s.Notify.Tell(ctx, tx, objector, notify.Outcome{Title: "honours.outcome.objection_title", Body: told, Args: []any{title, label, decision}, Link: link}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.notice.decide", Entity: "honours_notice", EntityID: noticeID, TownID: townID, VillageID: villageID,
			Summary: auth.Summarize(map[string]any{"objection": "open"}, map[string]any{"objection": status, "item": label, "decision": decision})})
	})
	if err != nil {
		return Notice{}, err
	}
	return s.NoticeByID(ctx, a, noticeID)
}

// Publish publishes a list whose notice is over and has no objection open: the items struck by
// upheld objections are left out, the owning part keeps the rest (publisher.Keep) in the same
// transaction, then pays their points (publisher.Pay). Publishing twice answers Conflict; a
// payment that failed is paid again by PayNotice. Only the town's staff publish.
func (s *Service) Publish(ctx context.Context, a *auth.Actor, noticeID int64) (Notice, error) {
	if err := auth.MayAnywhere(a, PermManage); err != nil {
		return Notice{}, err
	}
	var n Notice
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = s.notice(ctx, tx, `n.id = $1`, noticeID, true, 0)
		if err == nil && !manages(a, n.TownID) {
			err = auth.Refuse(a, PermManage)
		}
		if err != nil {
			return err
		}
		switch {
		case n.Status != NoticeOpen:
			return errs.New(errs.Conflict, "honours.notice.not_open")
		case !n.Due:
			return errs.New(errs.Conflict, "honours.notice.not_due")
		case n.OpenObjections > 0:
			return errs.New(errs.Conflict, "honours.notice.objections_open")
		}
		now := s.Now()
		res, err := tx.ExecContext(ctx, `UPDATE honours_notices SET status = 'published', published_at = $1 WHERE id = $2 AND status = 'notice'`, now, n.ID)
		if err != nil {
			return fmt.Errorf("honours: publish: %w", err)
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			if err != nil {
				return err
			}
			return errs.New(errs.Conflict, "honours.notice.not_open")
		}
		n.Status, n.PublishedAt = NoticePublished, now
		var kept []NoticeItem
		for _, it := range n.Items {
			if !it.Struck {
				kept = append(kept, it)
			}
		}
		if p := s.publishers[n.Kind]; p.Keep != nil {
			if err := p.Keep(ctx, tx, a, n, kept); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.notice.publish", Entity: "honours_notice", EntityID: n.ID, TownID: n.TownID, VillageID: n.VillageID,
			Summary: auth.Summarize(map[string]any{"status": NoticeOpen}, map[string]any{"status": NoticePublished, "kept": len(kept), "struck": len(n.Items) - len(kept)})})
	})
	if err != nil {
		return Notice{}, err
	}
	if err := s.PayNotice(ctx, a, n.ID); err != nil {
		return n, err
	}
	return n, nil
}

// PayNotice pays (again) the points a published list earns: the bank answers each event once, so
// only what it has not answered is paid.
func (s *Service) PayNotice(ctx context.Context, a *auth.Actor, noticeID int64) error {
	var n Notice
	err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id, kind, ref_id, status FROM honours_notices WHERE id = $1`, noticeID).Scan(&n.TownID, &n.Kind, &n.RefID, &n.Status)
	if db.IsNoRows(err) || (err == nil && !manages(a, n.TownID)) {
		return auth.Refuse(a, PermManage)
	}
	if err != nil {
		return fmt.Errorf("honours: notice %d: %w", noticeID, err)
	}
	if n.Status != NoticePublished {
		return errs.New(errs.Conflict, "honours.notice.not_open")
	}
	n.ID = noticeID
	if p := s.publishers[n.Kind]; p.Pay != nil {
		return p.Pay(ctx, a, n)
	}
	return nil
}

// Withdraw takes a list off notice before it is published, with the town's reason: the owning
// part may put a corrected list on notice again only under a new record.
func (s *Service) Withdraw(ctx context.Context, a *auth.Actor, noticeID int64, reason string) (Notice, error) {
	if err := auth.MayAnywhere(a, PermManage); err != nil {
		return Notice{}, err
	}
	var f errs.Fields
	reason = strings.TrimSpace(reason)
	f.Text("reason", reason, maxReason, true)
	if err := f.Err(); err != nil {
		return Notice{}, err
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var townID, villageID int64
		err := tx.QueryRowContext(ctx, `SELECT town_id, COALESCE(village_id, 0) FROM honours_notices WHERE id = $1`, noticeID).Scan(&townID, &villageID)
		if db.IsNoRows(err) || (err == nil && !manages(a, townID)) {
			return auth.Refuse(a, PermManage)
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE honours_notices SET status = 'withdrawn' WHERE id = $1 AND status = 'notice'`, noticeID)
		if err != nil {
			return fmt.Errorf("honours: withdraw: %w", err)
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			if err != nil {
				return err
			}
			return errs.New(errs.Conflict, "honours.notice.not_open")
		}
		if err := s.Notify.TellEach(ctx, tx, `SELECT resident_id FROM honours_notice_items WHERE notice_id = $1 AND resident_id IS NOT NULL
			UNION SELECT resident_id FROM honours_objections WHERE notice_id = $1`, []any{noticeID},
			notify.Outcome{Title: "honours.outcome.withdrawn_title", Body: "honours.outcome.withdrawn", Args: []any{reason}, Link: "/honours/notices"}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.notice.withdraw", Entity: "honours_notice", EntityID: noticeID, TownID: townID, VillageID: villageID,
			Summary: auth.Summarize(map[string]any{"status": NoticeOpen}, map[string]any{"status": NoticeWithdrawn, "reason": reason})})
	})
	if err != nil {
		return Notice{}, err
	}
	return s.NoticeByID(ctx, a, noticeID)
}

// noticesTodo counts, for the town's staff, the objections waiting for a decision and the lists
// whose notice is over, ready to publish.
func (s *Service) noticesTodo(ctx context.Context, a *auth.Actor) (objections, due int, err error) {
	if a == nil || !manages(a, a.TownID) {
		return 0, 0, nil
	}
	q := s.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_objections o JOIN honours_notices n ON n.id = o.notice_id
		WHERE n.town_id = $1 AND n.status = 'notice' AND o.status = 'open'`, a.TownID).Scan(&objections); err != nil {
		return 0, 0, fmt.Errorf("honours: objections todo: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_notices WHERE town_id = $1 AND status = 'notice' AND notice_until <= $2`, a.TownID, s.Now()).Scan(&due); err != nil {
		return 0, 0, fmt.Errorf("honours: notices todo: %w", err)
	}
	return objections, due, nil
}

// objectionNotice is an objection and its notice, for the town's staff who decide it (the
// confirmation page names the item): anyone else, and a missing objection, are refused as
// DecideObjection refuses them.
func (s *Service) objectionNotice(ctx context.Context, a *auth.Actor, objectionID int64) (Notice, Objection, error) {
	var noticeID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT notice_id FROM honours_objections WHERE id = $1`, objectionID).Scan(&noticeID)
	if db.IsNoRows(err) {
		return Notice{}, Objection{}, auth.Refuse(a, PermManage)
	}
	if err != nil {
		return Notice{}, Objection{}, fmt.Errorf("honours: objection %d: %w", objectionID, err)
	}
	n, err := s.NoticeByID(ctx, a, noticeID)
	if err == nil && !manages(a, n.TownID) {
		err = auth.Refuse(a, PermManage)
	}
	if err != nil {
		return Notice{}, Objection{}, err
	}
	for _, it := range n.Items {
		for _, o := range it.Objections {
			if o.ID == objectionID {
				return n, o, nil
			}
		}
	}
	return Notice{}, Objection{}, auth.Refuse(a, PermManage)
}
