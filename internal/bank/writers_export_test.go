package bank

import (
	"context"
	"database/sql"
	"fmt"

	"siwei/internal/db"
)

// PostThrough posts ts in order through one of the ledger's writers, for the test that they all
// write the same rows: "post" (the group commit; a Guard that does nothing keeps PostgreSQL from
// handing it to postStatement), "statement" (postStatement, PostgreSQL only) or "many" (postMany:
// awards drawn on one issuing sub-account, as one chunk).
func (s *Service) PostThrough(ctx context.Context, writer string, ts []Transfer) ([]Posted, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	if err := s.ensureTown(ctx, ts[0].TownID); err != nil {
		return nil, err
	}
	switch writer {
	case "post", "statement":
		if writer == "statement" && s.DB.Engine != db.Postgres {
			return nil, fmt.Errorf("postStatement runs on PostgreSQL only")
		}
		out := make([]Posted, len(ts))
		for i, t := range ts {
			if writer == "post" {
				t.Guard = func(context.Context, *sql.Tx) error { return nil }
			}
			p, err := s.write(ctx, t, func(ctx context.Context, tx *sql.Tx) (Posted, error) { return s.post(ctx, tx, t) })
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", writer, t.Key, err)
			}
			out[i] = p
		}
		return out, nil
	case "many":
		counter, err := s.issuingAccount(ctx, ts[0].TownID, ts[0].ResidentID)
		if err != nil {
			return nil, err
		}
		ptrs := make([]*Transfer, len(ts))
		for i := range ts {
			if c, _ := s.issuingAccount(ctx, ts[i].TownID, ts[i].ResidentID); c != counter {
				return nil, fmt.Errorf("many: %q is drawn on another issuing sub-account", ts[i].Key)
			}
			ptrs[i] = &ts[i]
		}
		var out []Posted
		err = s.group.Do(ctx, func(tx *sql.Tx) error {
			posted, results, err := s.postMany(ctx, tx, ts[0].TownID, counter, ptrs)
			for _, r := range results {
				if err == nil && r != nil {
					err = r
				}
			}
			out = posted
			return err
		})
		return out, err
	}
	return nil, fmt.Errorf("no writer %q", writer)
}

// ShopAccount is a village's shop account, the counter account of a redemption.
func (s *Service) ShopAccount(ctx context.Context, villageID int64) (int64, error) {
	if err := s.ensureTown(ctx, s.townOfVillage(ctx, villageID)); err != nil {
		return 0, err
	}
	return s.shopAccount(ctx, s.DB.Read(), villageID)
}

func (s *Service) townOfVillage(ctx context.Context, villageID int64) int64 {
	var town int64
	s.DB.Read().QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, villageID).Scan(&town)
	return town
}
