package bank

import (
	"context"
	"slices"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// Villages lists the villages of a town in which the actor may take act (auth.VillageRead: the
// villages they may see), in the town's order, and makes sure that id, when it is not 0, is one of
// them: a village outside them is not found, as a missing one is. It is the bank's one decision of
// which villages a page offers and acts on; an actor who may take act in none of the town's
// villages is refused. With no town named (0), the town is the village's own.
func (s *Service) Villages(ctx context.Context, a *auth.Actor, townID int64, act auth.Action, id int64) ([]people.Village, error) {
	vs, err := s.villages(ctx, a, townID, act, id)
	if err != nil && id != 0 {
		return nil, auth.Hide(err)
	}
	return vs, err
}

func (s *Service) villages(ctx context.Context, a *auth.Actor, townID int64, act auth.Action, id int64) ([]people.Village, error) {
	if townID == 0 && id != 0 {
		v, err := s.People.Village(ctx, a, id)
		if err != nil {
			return nil, err
		}
		townID = v.TownID
	}
	all, ids, err := visible(a, act, townID)
	if err != nil {
		return nil, err
	}
	vs, err := s.People.Villages(ctx, a, townID)
	if err != nil {
		return nil, err
	}
	vs = slices.DeleteFunc(vs, func(v people.Village) bool { return !all && !slices.Contains(ids, v.ID) })
	if id != 0 && !slices.ContainsFunc(vs, func(v people.Village) bool { return v.ID == id }) {
		return nil, errs.New(errs.NotFound, "error.not_found")
	}
	return vs, nil
}

// visible says in which villages of a town the actor may take act: all of them, or those listed.
// An actor who may take it in none is refused as auth refuses them.
func visible(a *auth.Actor, act auth.Action, townID int64) (all bool, ids []int64, err error) {
	all, ids = auth.Visible(a, act, townID)
	if !all && len(ids) == 0 {
		if err := auth.Can(a, act, auth.Scope{TownID: townID}); err != nil {
			return false, nil, err
		}
		return false, nil, errs.New(errs.Forbidden, "error.forbidden")
	}
	return all, ids, nil
}
