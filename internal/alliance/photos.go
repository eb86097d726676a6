package alliance

import (
	"context"
	"database/sql"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
)

// savePhotos keeps a record's uploaded photos (a milestone, activity, donation, handover or dispute session) in
// alliance_photos, inside tx (bank.SavePhotos).
func (s *Service) savePhotos(ctx context.Context, tx *sql.Tx, owner string, ownerID int64, raw [][]byte) error {
	return bank.SavePhotos(ctx, tx, "alliance_photos", owner, ownerID, raw, s.Now())
}

// photoIDs are the ids of a record's photos, in the order they were kept.
func (s *Service) photoIDs(ctx context.Context, q db.Querier, owner string, ownerID int64) ([]int64, error) {
	return bank.PhotoIDs(ctx, q, "alliance_photos", owner, ownerID)
}

// Photo is a kept photo as the caller may see it: the part that owns it decides (a milestone of a
// project they may read, an activity's, a donation's or a handover's, a session of a case they
// handle). Anything else answers NotFound.
func (s *Service) Photo(ctx context.Context, a *auth.Actor, id int64) (mime string, data []byte, err error) {
	q := s.DB.Read()
	var owner string
	var ownerID int64
	err = q.QueryRowContext(ctx, `SELECT owner, owner_id, mime, data FROM alliance_photos WHERE id = $1`, id).Scan(&owner, &ownerID, &mime, &data)
	if db.IsNoRows(err) {
		return "", nil, notFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("alliance: photo %d: %w", id, err)
	}
	var ok bool
	switch owner {
	case "milestone":
		ok, err = s.seesMilestonePhoto(ctx, q, a, ownerID)
	case "activity":
		ok, err = s.seesActivityPhoto(ctx, q, a, ownerID)
	case "donation", "handover":
		ok, err = s.seesDonationPhoto(ctx, q, a, owner, ownerID)
	case "session":
		ok, err = s.seesSessionPhoto(ctx, q, a, ownerID)
	}
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, notFound
	}
	return mime, data, nil
}
