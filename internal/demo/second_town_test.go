package demo

import (
	"context"
	"fmt"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
)

// TestSecondTownLeavesFirstAlone: the second town is drawn from a stream of its own, so the first
// town is the same person for person with it or without it, and no phone is drawn twice.
func TestSecondTownLeavesFirstAlone(t *testing.T) {
	o, _ := Options{Seed: 5, Residents: 200}.normalize()
	one := plan(o)
	o.SecondTown = true
	two := plan(o)
	if one.second != nil || two.second == nil {
		t.Fatalf("second town: without %v, with %v", one.second != nil, two.second != nil)
	}
	people := func(tw *town) []string {
		var out []string
		for _, v := range tw.villages {
			for _, h := range v.households {
				for _, p := range h.members {
					out = append(out, fmt.Sprintf("%s %s %s %d %s", v.name, h.number, p.name, p.age, p.phone))
				}
			}
		}
		return out
	}
	if a, b := fmt.Sprint(people(one)), fmt.Sprint(people(two)); a != b {
		t.Fatal("the first town changed when the second was added")
	}
	phones := map[string]bool{}
	for _, tw := range []*town{two, two.second} {
		for _, v := range tw.villages {
			for _, h := range v.households {
				for _, p := range h.members {
					if p.phone != "" && phones[p.phone] {
						t.Errorf("phone %s drawn twice", p.phone)
					}
					phones[p.phone] = true
				}
			}
		}
	}
}

func TestEnsureSecondTown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ps, as := services(t, d)
		info, err := Ensure(ctx, d, ps, as, Options{Seed: 2, Residents: MinResidents, SecondTown: true})
		if err != nil {
			t.Fatal(err)
		}
		if info.Residents != MinResidents || info.Villages != len(villageNames) || len(info.Accounts) != 7 || info.SecondTownID == 0 {
			t.Fatalf("info = %+v", info)
		}
		town, err := ps.TownByName(ctx, SecondTownName)
		if err != nil || town.ID != info.SecondTownID || town.Code != SecondTownCode {
			t.Fatalf("second town %+v, %v", town, err)
		}
		var villages, households, residents int
		q := d.Read()
		q.QueryRowContext(ctx, `SELECT COUNT(*) FROM villages WHERE town_id = $1`, town.ID).Scan(&villages)
		q.QueryRowContext(ctx, `SELECT COUNT(*) FROM households h JOIN villages v ON v.id = h.village_id WHERE v.town_id = $1`, town.ID).Scan(&households)
		q.QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE town_id = $1`, town.ID).Scan(&residents)
		if villages != 2 || households != 5 || residents < 5 {
			t.Errorf("西集镇: %d villages, %d households, %d residents", villages, households, residents)
		}
		xj, err := ps.VillageByName(ctx, town.ID, "西集村")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]auth.Grant{
			PhoneDistrictAdmin: {Role: auth.DistrictAdmin},
			PhoneTownAdmin2:    {Role: auth.TownAdmin, TownID: town.ID},
			PhoneVillageAdmin3: {Role: auth.VillageAdmin, TownID: town.ID, VillageID: xj.ID},
			PhoneResident3:     {Role: auth.ResidentRole, TownID: town.ID, VillageID: xj.ID},
		}
		for _, a := range SecondTownAccounts() {
			sess, err := as.Login(ctx, a.Phone, DemoPassword, "127.0.0.1", "web")
			if err != nil {
				t.Fatalf("login %s (%s): %v", a.Phone, a.Who, err)
			}
			actor, err := as.Authenticate(ctx, sess.Token)
			if err != nil || actor == nil {
				t.Fatalf("authenticate %s: %v", a.Phone, err)
			}
			g := want[a.Phone]
			if len(actor.Grants) != 1 || actor.Grants[0].Role != g.Role || actor.Grants[0].TownID != g.TownID || actor.Grants[0].VillageID != g.VillageID ||
				string(g.Role) != a.Role {
				t.Errorf("%s: grants %+v, want %+v", a.Phone, actor.Grants, g)
			}
			if wantRecord := a.Phone == PhoneResident3; (actor.ResidentID != 0) != wantRecord {
				t.Errorf("%s: resident record %d", a.Phone, actor.ResidentID)
			}
		}
		again, err := Ensure(ctx, d, ps, as, Options{SecondTown: true})
		if err != nil || again.SecondTownID != info.SecondTownID {
			t.Fatalf("reopened: %+v, %v", again, err)
		}
	})
}
