package honours

import (
	"context"
	"database/sql"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
)

// savePhotos keeps a record's uploaded photos (a nomination's, a deed's, an action's poster, an
// entry's, a judge's, a wall name's) in honours_photos, inside tx (bank.SavePhotos).
func (s *Service) savePhotos(ctx context.Context, tx *sql.Tx, owner string, ownerID int64, raw [][]byte) error {
	return bank.SavePhotos(ctx, tx, "honours_photos", owner, ownerID, raw, s.Now())
}

// photoIDs are the ids of a record's photos, in the order they were kept.
func (s *Service) photoIDs(ctx context.Context, q db.Querier, owner string, ownerID int64) ([]int64, error) {
	return bank.PhotoIDs(ctx, q, "honours_photos", owner, ownerID)
}

// Photo is a kept photo as the caller may see it: the part that owns it decides (a nomination's
// to its staff and its people, a name's on the public wall to anyone, an action's poster and the
// photos of its deeds shown with consent, a contest entry's to its organisers, judges and
// household). Anything else answers NotFound.
func (s *Service) Photo(ctx context.Context, a *auth.Actor, id int64) (mime string, data []byte, err error) {
	q := s.DB.Read()
	var owner string
	var ownerID int64
	err = q.QueryRowContext(ctx, `SELECT owner, owner_id, mime, data FROM honours_photos WHERE id = $1`, id).Scan(&owner, &ownerID, &mime, &data)
	if db.IsNoRows(err) {
		return "", nil, notFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("honours: photo %d: %w", id, err)
	}
	var ok bool
	switch owner {
	case "nomination", "wall":
		ok, err = s.seesHonourPhoto(ctx, q, a, owner, ownerID)
	case "action", "deed":
		ok, err = s.seesActionPhoto(ctx, q, a, owner, ownerID)
	case "entry", "score":
		ok, err = s.seesContestPhoto(ctx, q, a, owner, ownerID)
	}
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, notFound
	}
	return mime, data, nil
}
