package alliance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// savePhotos re-encodes each uploaded photo (bank.ProcessPhoto: JPEG, bounded size, no EXIF) and
// keeps it for its owner (a milestone, an activity, a donation, a handover, a dispute session)
// inside tx; a photo that is refused is named on the field photos and nothing is kept.
func (s *Service) savePhotos(ctx context.Context, tx *sql.Tx, owner string, ownerID int64, raw [][]byte) error {
	now := s.Now()
	for _, b := range raw {
		mime, w, h, out, err := bank.ProcessPhoto(b)
		if err != nil {
			var e *errs.Error
			if errors.As(err, &e) {
				return &errs.Error{Code: e.Code, Key: "error.invalid", Fields: []errs.FieldError{{Field: "photos", Key: e.Key, Args: e.Args}}}
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_photos (owner, owner_id, mime, width, height, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			owner, ownerID, mime, w, h, out, now); err != nil {
			return fmt.Errorf("alliance: photo: %w", err)
		}
	}
	return nil
}

// photoIDs are the ids of an owner's photos, in the order they were kept.
func (s *Service) photoIDs(ctx context.Context, q db.Querier, owner string, ownerID int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM alliance_photos WHERE owner = $1 AND owner_id = $2 ORDER BY id`, owner, ownerID)
	if err != nil {
		return nil, fmt.Errorf("alliance: photos: %w", err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
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
