package consult

import (
	"context"
	"database/sql"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
)

// savePhotos keeps a record's uploaded photos (a topic, reply, visit or member card) in
// consult_photos, inside tx (bank.SavePhotos).
func (s *Service) savePhotos(ctx context.Context, tx *sql.Tx, owner string, ownerID int64, raw [][]byte) error {
	return bank.SavePhotos(ctx, tx, "consult_photos", owner, ownerID, raw, s.Now())
}

// photoIDs are the ids of a record's photos, in the order they were kept.
func (s *Service) photoIDs(ctx context.Context, q db.Querier, owner string, ownerID int64) ([]int64, error) {
	return bank.PhotoIDs(ctx, q, "consult_photos", owner, ownerID)
}

// Photo is a kept photo as the caller may see it: its owner must be visible to them (a topic of
// their scope, a reply to a referral they may read, a visit to their household or one they made,
// or a care-team member's public card). Anything else answers NotFound.
func (s *Service) Photo(ctx context.Context, a *auth.Actor, id int64) (mime string, data []byte, err error) {
	q := s.DB.Read()
	var owner string
	var ownerID int64
	err = q.QueryRowContext(ctx, `SELECT owner, owner_id, mime, data FROM consult_photos WHERE id = $1`, id).Scan(&owner, &ownerID, &mime, &data)
	if db.IsNoRows(err) {
		return "", nil, notFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("consult: photo: %w", err)
	}
	switch owner {
	case "topic":
		err = s.topicVisible(ctx, q, a, ownerID)
	case "reply":
		err = s.replyVisible(ctx, q, a, ownerID)
	case "visit":
		err = s.visitVisible(ctx, q, a, ownerID)
	case "member":
		err = s.memberVisible(ctx, q, a, ownerID)
	default:
		err = notFound
	}
	if err != nil {
		return "", nil, err
	}
	return mime, data, nil
}
