package bank

import (
	"context"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// CardsOfVillage returns the cards of a village's residents by resident id, in one query, for the
// card desk's list. Staff who may read the village's register only.
func (s *Service) CardsOfVillage(ctx context.Context, a *auth.Actor, villageID int64) (map[int64]Card, error) {
	var townID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, villageID).Scan(&townID)
	if db.IsNoRows(err) {
		return nil, errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return nil, fmt.Errorf("bank: cards of village: %w", err)
	}
	if err := auth.Can(a, auth.ResidentRead, auth.Scope{TownID: townID, VillageID: villageID}); err != nil {
		return nil, auth.Hide(err)
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+cardCols+cardFrom+` WHERE r.village_id = $1`, villageID)
	if err != nil {
		return nil, fmt.Errorf("bank: cards of village: %w", err)
	}
	defer rows.Close()
	out := map[int64]Card{}
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			return nil, fmt.Errorf("bank: cards of village: %w", err)
		}
		out[c.ResidentID] = c.Card
	}
	return out, rows.Err()
}
