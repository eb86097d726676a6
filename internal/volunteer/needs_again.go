package volunteer

import (
	"context"
	"errors"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// A need sent twice: under one idempotency key it is one need (the phone resends a draft kept
// without signal with its key), and a need like one filed moments ago for the same person asks
// first (issue 13 items 21 and 22).

// errNeedRaced is a need whose key another request stored first.
var errNeedRaced = errors.New("volunteer: need key raced")

// needWithKey is the need the actor already recorded under the input's key, answered again
// (Replayed), if any. The key sent with another need is refused: it names one need only.
func (s *Service) needWithKey(ctx context.Context, a *auth.Actor, v people.Village, in NeedInput) (Need, bool, error) {
	var id int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id FROM volunteer_needs WHERE recorded_by = $1 AND idem_key = $2`, a.AccountID, in.IdempotencyKey).Scan(&id)
	if db.IsNoRows(err) {
		return Need{}, false, nil
	}
	if err != nil {
		return Need{}, false, fmt.Errorf("volunteer: need key: %w", err)
	}
	n, err := s.need(ctx, s.DB.Read(), id)
	if err != nil {
		return Need{}, true, err
	}
	if n.VillageID != v.ID || n.Category != in.Category || n.Description != in.Description || n.Urgency != in.Urgency ||
		n.ForResidentID != in.ForResidentID || n.ForName != in.ForName {
		return Need{}, true, &errs.Error{Code: errs.Conflict, Key: "volunteer.key_reused", Fields: []errs.FieldError{{Field: "idempotency_key", Key: "volunteer.key_reused"}}}
	}
	n, err = s.Need(ctx, a, id)
	n.Replayed = true
	return n, true, err
}

// checkDuplicateNeed refuses, for the person to confirm, a need of the same category for the same
// person (the resident, or the name recorded at the door when there is none) as one filed in the
// last errs.DuplicateWindow and not refused: a second tap, or the resident and a visiting cadre
// both recording the same need. The refusal names the need already there by what it says. The
// need's own key is no duplicate of it: sent twice at once, the second answers the first.
func (s *Service) checkDuplicateNeed(ctx context.Context, a *auth.Actor, v people.Village, in NeedInput) error {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	q := `SELECT description FROM volunteer_needs WHERE category = ` + arg(in.Category) + ` AND created_at > ` + arg(s.Now().Add(-errs.DuplicateWindow)) +
		` AND status <> 'refused' AND `
	if in.ForResidentID != 0 {
		q += `for_resident_id = ` + arg(in.ForResidentID)
	} else {
		q += `village_id = ` + arg(v.ID) + ` AND for_resident_id IS NULL AND for_name = ` + arg(in.ForName)
	}
	if in.IdempotencyKey != "" {
		q += ` AND NOT (recorded_by = ` + arg(a.AccountID) + ` AND COALESCE(idem_key, '') = ` + arg(in.IdempotencyKey) + `)`
	}
	var description string
	err := s.DB.Read().QueryRowContext(ctx, q+` ORDER BY id DESC LIMIT 1`, args...).Scan(&description)
	if db.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("volunteer: need duplicates: %w", err)
	}
	if r := []rune(description); len(r) > 40 {
		description = string(r[:40]) + "…"
	}
	return errs.Duplicate("volunteer.need_duplicate", in.ForName, description)
}
