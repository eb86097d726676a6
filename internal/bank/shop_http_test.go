package bank_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"siwei/internal/bank"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// The shop's items of a town are read only by those who work or live in it: ?town_id= naming
// another town answers 404, as a missing town does (issue 11, item 15: it was not checked).
func TestItemsOfAnotherTownLookMissing(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80, SecondTown: true}, false, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		first, second := env.Info.TownID, env.Info.SecondTownID
		if second == 0 {
			t.Fatal("the demo has no second town")
		}
		for town, phone := range map[int64]string{first: demo.PhoneTownAdmin, second: demo.PhoneTownAdmin2} {
			if _, err := env.Sys.Bank.CreateItem(ctx, login(t, env, phone), town, bank.ItemInput{Kind: "goods", Name: fmt.Sprintf("镇%d的毛巾", town), Price: 2}); err != nil {
				t.Fatal(err)
			}
		}
		ownItems := func(c *servertest.Client, town int64, query string) (int, string) {
			var items []bank.Item
			st, body := c.JSON("GET", "/api/v1/bank/items"+query, nil, &items)
			for _, it := range items {
				if it.TownID != town {
					t.Errorf("%s: an item of town %d: %+v", query, it.TownID, it)
				}
			}
			return st, body
		}
		cases := []struct {
			phone string
			town  int64 // the caller's own town
		}{
			{demo.PhoneResident, first}, {demo.PhoneVillageAdmin, first}, {demo.PhoneTownAdmin, first},
			{demo.PhoneResident3, second}, {demo.PhoneVillageAdmin3, second}, {demo.PhoneTownAdmin2, second},
		}
		for _, c := range cases {
			api := env.API(c.phone)
			other := first + second - c.town
			if st, body := ownItems(api, c.town, ""); st != 200 || !strings.Contains(body, fmt.Sprintf("镇%d的毛巾", c.town)) {
				t.Errorf("%s, own town: %d %.200s", c.phone, st, body)
			}
			if st, body := ownItems(api, c.town, fmt.Sprintf("?town_id=%d", c.town)); st != 200 {
				t.Errorf("%s, own town by id: %d %.200s", c.phone, st, body)
			}
			if st, body := api.JSON("GET", fmt.Sprintf("/api/v1/bank/items?town_id=%d", other), nil, nil); st != 404 || strings.Contains(body, "毛巾") {
				t.Errorf("%s, the other town: %d %.200s", c.phone, st, body)
			}
			if st, _ := api.JSON("GET", "/api/v1/bank/items?town_id=999999", nil, nil); st != 404 {
				t.Errorf("%s, no such town: %d", c.phone, st)
			}
		}
		// The district admin reads either town.
		district := env.API(demo.PhoneDistrictAdmin)
		for _, town := range []int64{first, second} {
			if st, body := ownItems(district, town, fmt.Sprintf("?town_id=%d", town)); st != 200 || !strings.Contains(body, fmt.Sprintf("镇%d的毛巾", town)) {
				t.Errorf("district admin, town %d: %d %.200s", town, st, body)
			}
		}
		// The staff shop page says the same.
		if st, body := env.Browser(demo.PhoneTownAdmin).Get(fmt.Sprintf("/admin/bank/shop?town_id=%d", second)); st != 404 || strings.Contains(body, "毛巾") {
			t.Errorf("the shop page of the other town: %d", st)
		}
	})
}
