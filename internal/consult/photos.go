package consult

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// savePhotos re-encodes each uploaded photo (bank.ProcessPhoto: JPEG, bounded size, no EXIF) and
// keeps it for its owner (a topic, a reply, a visit or a member's card) inside tx; a photo that is
// refused is named on the field photos and nothing is kept.
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO consult_photos (owner, owner_id, mime, width, height, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			owner, ownerID, mime, w, h, out, now); err != nil {
			return fmt.Errorf("consult: photo: %w", err)
		}
	}
	return nil
}

// photoIDs are the ids of an owner's photos, in the order they were kept.
func (s *Service) photoIDs(ctx context.Context, q db.Querier, owner string, ownerID int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM consult_photos WHERE owner = $1 AND owner_id = $2 ORDER BY id`, owner, ownerID)
	if err != nil {
		return nil, fmt.Errorf("consult: photos: %w", err)
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

func (h *Handlers) photo(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	mime, data, err := h.S.Photo(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	// A photo never changes, but who may see it does: kept by the browser only.
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Write(data)
}
