package bank

import (
	"context"
	"database/sql"
	"fmt"
	"siwei/internal/clock"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

var claimStatuses = []string{ClaimPending, ClaimRejected, ClaimNotice, ClaimPosted, ClaimWithdrawn}

// Claims is the staff queue: claims of the villages the actor reviews, by village and status,
// ClaimPageSize a page; pending claims oldest first, others newest first.
func (s *Service) Claims(ctx context.Context, a *auth.Actor, f ClaimFilter) ([]Claim, error) {
	if a == nil || a.AccountID == 0 {
		return nil, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if f.Status != "" && !slices.Contains(claimStatuses, f.Status) {
		return nil, errs.Field("status", "bank.claim_status_invalid")
	}
	town := f.TownID
	if town == 0 {
		town = a.TownID
	}
	all, villages, err := visible(a, PermReview, town)
	if err != nil {
		return nil, err
	}
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if town != 0 {
		where = append(where, "c.town_id = "+arg(town))
	}
	switch {
	case f.VillageID != 0:
		if !all && !slices.Contains(villages, f.VillageID) {
			return nil, errs.New(errs.NotFound, "error.not_found")
		}
		where = append(where, "c.village_id = "+arg(f.VillageID))
	case !all:
		in := make([]string, len(villages))
		for i, v := range villages {
			in[i] = arg(v)
		}
		where = append(where, "c.village_id IN ("+strings.Join(in, ", ")+")")
	}
	order := "c.id DESC"
	if f.Status != "" {
		where = append(where, "c.status = "+arg(f.Status))
		if f.Status == ClaimPending {
			order = "c.id"
		}
	}
	page := max(f.Page, 1)
	q := claimSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY %s LIMIT %d OFFSET %d", order, ClaimPageSize, (page-1)*ClaimPageSize)
	out, err := s.claims(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return out, s.withObjections(ctx, out, true, 0)
}

// NoticeBoard lists the claims on a village's notice board (公示栏), for the village's residents
// and staff. A minor's name shows as the surname and ＊.
func (s *Service) NoticeBoard(ctx context.Context, a *auth.Actor, villageID int64) ([]Claim, error) {
	if a == nil || a.AccountID == 0 {
		return nil, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	var townID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, villageID).Scan(&townID)
	if db.IsNoRows(err) {
		return nil, errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return nil, fmt.Errorf("bank: notice board: %w", err)
	}
	sc := auth.Scope{TownID: townID, VillageID: villageID}
	if auth.Can(a, auth.VillageRead, sc) != nil && !s.activeIn(ctx, a.Self(), villageID) {
		return nil, errs.New(errs.NotFound, "error.not_found")
	}
	town, err := s.People.Town(ctx, townID)
	if err != nil {
		return nil, err
	}
	today := town.Clock(s.Now).Today()
	out, err := s.claims(ctx, claimSelect+` WHERE c.village_id = $1 AND c.status = 'notice' ORDER BY c.notice_until, c.id`, villageID)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if claimMinor(out[i], today) {
			out[i].ResidentName, out[i].ResidentID = MaskMinor(out[i].ResidentName), 0
		}
	}
	return out, s.withObjections(ctx, out, auth.Can(a, PermReview, sc) == nil, a.Self())
}

// MyClaims lists the claims of the resident the actor is, newest first (the last 100).
func (s *Service) MyClaims(ctx context.Context, a *auth.Actor) ([]Claim, error) {
	self := a.Self()
	if err := auth.Can(a, auth.SelfRead, auth.Scope{ResidentID: self}); err != nil {
		return nil, err
	}
	out, err := s.claims(ctx, claimSelect+` WHERE c.resident_id = $1 ORDER BY c.id DESC LIMIT 100`, self)
	if err != nil {
		return nil, err
	}
	return out, s.withObjections(ctx, out, false, self)
}

// ClaimByID returns one claim to whoever may see it: its village's reviewers, the claimant, and,
// while it is on notice, the village's residents (a minor's claim then with the name masked).
func (s *Service) ClaimByID(ctx context.Context, a *auth.Actor, id int64) (Claim, error) {
	c, staff, err := s.visibleClaim(ctx, a, id)
	if err != nil {
		return Claim{}, err
	}
	out := []Claim{c}
	err = s.withObjections(ctx, out, staff, a.Self())
	return out[0], err
}

// visibleClaim loads a claim and checks that the actor may see it; staff reports a reviewer.
func (s *Service) visibleClaim(ctx context.Context, a *auth.Actor, id int64) (c Claim, staff bool, err error) {
	if a == nil || a.AccountID == 0 {
		return Claim{}, false, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if c, err = s.claimByID(ctx, s.DB.Read(), id); err != nil {
		return Claim{}, false, err
	}
	if auth.Can(a, PermReview, auth.Scope{TownID: c.townID, VillageID: c.VillageID}) == nil {
		return c, true, nil
	}
	if a.Self() == c.ResidentID || a.ResidentID == c.ResidentID {
		return c, false, nil
	}
	if c.Status == ClaimNotice && s.activeIn(ctx, a.Self(), c.VillageID) {
		town, err := s.People.Town(ctx, c.townID)
		if err != nil {
			return Claim{}, false, err
		}
		if !claimMinor(c, town.Clock(s.Now).Today()) {
			return c, false, nil
		}
	}
	return Claim{}, false, errs.New(errs.NotFound, "error.not_found")
}

// activeIn reports whether a resident is an active resident of a village.
func (s *Service) activeIn(ctx context.Context, residentID, villageID int64) bool {
	if residentID == 0 {
		return false
	}
	var n int
	err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE id = $1 AND village_id = $2 AND status = 'active'`, residentID, villageID).Scan(&n)
	return err == nil && n > 0
}

const claimSelect = `SELECT c.id, c.town_id, c.village_id, c.resident_id, r.name, r.birth_date, c.rule_id, c.rule_code, br.name, br.cap_period, br.cap_count,
	br.evidence_required, br.notice_required, c.points, c.description, c.happened_on, c.status, COALESCE(c.recorded_by, 0), c.recorded_name,
	c.reviewed_name, c.review_reason, c.notice_until, COALESCE(c.transaction_id, 0), c.created_at,
	(SELECT COUNT(*) FROM bank_claim_photos p WHERE p.claim_id = c.id)
	FROM bank_claims c JOIN residents r ON r.id = c.resident_id JOIN bank_rules br ON br.id = c.rule_id`

func scanClaim(sc interface{ Scan(...any) error }) (Claim, error) {
	var c Claim
	var until sql.NullTime
	err := sc.Scan(&c.ID, &c.townID, &c.VillageID, &c.ResidentID, &c.ResidentName, &c.birth, &c.rule.ID, &c.RuleCode, &c.RuleName,
		&c.rule.CapPeriod, &c.rule.CapCount, &c.rule.EvidenceRequired, &c.rule.NoticeRequired, &c.Points, &c.Description, &c.HappenedOn,
		&c.Status, &c.recordedBy, &c.RecordedByName, &c.ReviewedByName, &c.ReviewReason, &until, &c.TransactionID, &c.CreatedAt, &c.Photos)
	if err != nil {
		return c, err
	}
	c.Objections = []Objection{}
	c.rule.Code, c.rule.Name, c.rule.Points = c.RuleCode, c.RuleName, c.Points
	if until.Valid {
		c.NoticeUntil = until.Time
	}
	if c.Status == ClaimRejected && c.ReviewReason == claimOverCap {
		c.ReviewKey, c.ReviewReason = c.ReviewReason, ""
	}
	return c, nil
}

func (s *Service) claimByID(ctx context.Context, q db.Querier, id int64) (Claim, error) {
	c, err := scanClaim(q.QueryRowContext(ctx, claimSelect+` WHERE c.id = $1`, id))
	if db.IsNoRows(err) {
		return c, errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return c, fmt.Errorf("bank: claim: %w", err)
	}
	return c, nil
}

func (s *Service) claims(ctx context.Context, q string, args ...any) ([]Claim, error) {
	rows, err := s.DB.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("bank: claims: %w", err)
	}
	defer rows.Close()
	out := []Claim{}
	for rows.Next() {
		c, err := scanClaim(rows)
		if err != nil {
			return nil, fmt.Errorf("bank: claims: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// withObjections fills in the claims' objections. Objectors' names are shown to reviewers
// (names) and each objector sees their own; nobody else learns who objected.
func (s *Service) withObjections(ctx context.Context, cs []Claim, names bool, viewer int64) error {
	if len(cs) == 0 {
		return nil
	}
	at := map[int64]int{}
	ph := make([]string, len(cs))
	args := make([]any, len(cs))
	for i := range cs {
		cs[i].Objections = []Objection{}
		at[cs[i].ID] = i
		ph[i], args[i] = fmt.Sprintf("$%d", i+1), cs[i].ID
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT o.id, o.claim_id, o.resident_id, r.name, o.reason, o.status, o.decided_name, o.decision, o.decided_at, o.created_at
		FROM bank_objections o JOIN residents r ON r.id = o.resident_id WHERE o.claim_id IN (`+strings.Join(ph, ", ")+`) ORDER BY o.id`, args...)
	if err != nil {
		return fmt.Errorf("bank: objections: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o Objection
		var decided sql.NullTime
		if err := rows.Scan(&o.ID, &o.ClaimID, &o.ResidentID, &o.ResidentName, &o.Reason, &o.Status, &o.DecidedByName, &o.Decision, &decided, &o.CreatedAt); err != nil {
			return fmt.Errorf("bank: objections: %w", err)
		}
		if decided.Valid {
			o.DecidedAt = decided.Time
		}
		if !names && o.ResidentID != viewer {
			o.ResidentID, o.ResidentName = 0, ""
		}
		c := &cs[at[o.ClaimID]]
		c.Objections = append(c.Objections, o)
	}
	return rows.Err()
}

// claimMinor reports whether the claimant is under 18 on the town's day.
func claimMinor(c Claim, today time.Time) bool {
	b, err := time.Parse(clock.DayLayout, c.birth)
	return err == nil && people.Resident{BirthDate: b}.Age(today) < 18
}

// compoundSurnames are the two-character surnames, so that 欧阳娜娜 shows as 欧阳＊, not 欧＊.
var compoundSurnames = []string{"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐", "轩辕", "端木", "呼延", "南宫", "独孤", "西门"}

// MaskMinor shows a minor's name on public boards as the surname followed by one ＊, so that
// neither the given name nor its length shows: 王小明 → 王＊, 欧阳明 → 欧阳＊.
func MaskMinor(name string) string {
	r := []rune(strings.TrimSpace(name))
	if len(r) == 0 {
		return "＊"
	}
	if len(r) > 2 && slices.Contains(compoundSurnames, string(r[:2])) {
		return string(r[:2]) + "＊"
	}
	return string(r[:1]) + "＊"
}
