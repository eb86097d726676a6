package honours

import (
	"context"
	"database/sql"

	"siwei/internal/auth"
)

// OpenNotice puts a list on notice as the owning part does (openNotice), for the tests of what
// publishing it does.
func (s *Service) OpenNotice(ctx context.Context, a *auth.Actor, n Notice, items []NoticeItem) (Notice, error) {
	var out Notice
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.openNotice(ctx, tx, a, n, items)
		return err
	})
	return out, err
}
