package bank

// 批量开卡 on the card desk: a village's staff open cards for the residents of the village on the
// register who have none yet, after a question that names the village and how many. The question
// carries the residents it counted, so that those are opened and nobody else; each stands on
// their own (IssueCards), and the outcome names those refused and why.

import (
	"context"
	"slices"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// MaxVillageCards bounds one 批量开卡: more residents than a village has.
const MaxVillageCards = 10_000

// VillageCards is what 批量开卡 came to in a village: the cards opened, the residents refused, by
// name, with why, and how many of those named are not on the village's register at all (Unknown),
// who are not named.
type VillageCards struct {
	Village people.Village
	Opened  []Card
	Refused []RefusedCard
	Unknown int
}

// RefusedCard is a resident 批量开卡 opened no card for, and why: a message key and its arguments.
type RefusedCard struct {
	Person
	Key  string
	Args []any
}

// cardVillage is a village where the actor may open cards (IssueCard's auth.ResidentWrite); any
// other is not found, as a missing one is.
func (s *Service) cardVillage(ctx context.Context, a *auth.Actor, villageID int64) (people.Village, error) {
	if villageID <= 0 {
		return people.Village{}, errs.New(errs.NotFound, "error.not_found")
	}
	vs, err := s.Villages(ctx, a, 0, auth.ResidentWrite, villageID)
	if err != nil {
		return people.Village{}, err
	}
	return vs[slices.IndexFunc(vs, func(v people.Village) bool { return v.ID == villageID })], nil
}

// Uncarded is a village where the actor may open cards and its residents on the register who have
// no card yet, by household: those 批量开卡 is for. Staff who may open cards in the village only;
// anyone else is answered as if the village did not exist.
func (s *Service) Uncarded(ctx context.Context, a *auth.Actor, villageID int64) (people.Village, []Person, error) {
	v, err := s.cardVillage(ctx, a, villageID)
	if err != nil {
		return v, nil, err
	}
	ps, err := s.people(ctx, `SELECT `+personCols+personFrom+` WHERE r.village_id = $1 AND r.status = 'active'
		AND NOT EXISTS (SELECT 1 FROM bank_cards c WHERE c.resident_id = r.id) ORDER BY h.number, r.id`, []any{villageID})
	return v, ps, err
}

// IssueVillageCards opens cards (批量开卡) for the residents of a village named: those Uncarded
// listed when the question was asked. Each is IssueCards' and stands on its own: one who has a card
// by now (another desk was quicker) or has left the register is refused alone, by name. Those named
// who are not on the village's register are refused unnamed, and a resident named twice counts
// once. Staff who may open cards in the village only; anyone else is answered as if the village
// did not exist, and nothing is opened.
func (s *Service) IssueVillageCards(ctx context.Context, a *auth.Actor, villageID int64, residentIDs []int64) (VillageCards, error) {
	v, err := s.cardVillage(ctx, a, villageID)
	if err != nil {
		return VillageCards{}, err
	}
	if len(residentIDs) == 0 {
		return VillageCards{}, errs.New(errs.Invalid, "bank.cards_bulk_none")
	}
	if len(residentIDs) > MaxVillageCards {
		return VillageCards{}, errs.New(errs.Invalid, "bank.cards_bulk_size", MaxVillageCards)
	}
	out := VillageCards{Village: v}
	var ids []int64
	seen := map[int64]bool{}
	for _, id := range residentIDs {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	// Who they are, among the village's residents whatever their standing: a chunk per query.
	named := map[int64]Person{}
	const chunk = 500
	for lo := 0; lo < len(ids); lo += chunk {
		p := s.DB.Params()
		ps, err := s.people(ctx, `SELECT `+personCols+personFrom+` WHERE r.village_id = `+p.Add(villageID)+
			` AND r.id IN (`+p.List(ids[lo:min(lo+chunk, len(ids))])+`)`, p.Args)
		if err != nil {
			return VillageCards{}, err
		}
		for _, x := range ps {
			named[x.ID] = x
		}
	}
	n := len(ids)
	ours := slices.DeleteFunc(ids, func(id int64) bool { _, ok := named[id]; return !ok })
	out.Unknown = n - len(ours)
	results, err := s.IssueCards(ctx, a, ours)
	if err != nil {
		return VillageCards{}, err
	}
	for _, r := range results {
		if r.Err == nil {
			out.Opened = append(out.Opened, r.Card)
			continue
		}
		refused := RefusedCard{Person: named[r.ResidentID], Key: "error.internal"}
		if e, ok := errs.As(r.Err); ok {
			refused.Key, refused.Args = e.Key, e.Args
		}
		out.Refused = append(out.Refused, refused)
	}
	return out, nil
}
