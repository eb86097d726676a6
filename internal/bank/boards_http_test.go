package bank_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
)

// A minor at the head of a household shows masked on the town-wide household board, as on the
// resident board (issue 11, item 10: "002-0777 欧阳小明" by household, "欧阳＊" by resident).
func TestHouseholdBoardMasksAMinorHead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		town := f.env.API(demo.PhoneTownAdmin)
		var minor people.ResidentJSON
		for page := 1; minor.ID == 0; page++ {
			var list people.ResidentList
			if st, body := town.JSON("GET", fmt.Sprintf("/api/v1/residents?page=%d", page), nil, &list); st != 200 || len(list.Items) == 0 {
				t.Fatalf("no minor in the demo town: %d %.200s", st, body)
			}
			for _, r := range list.Items {
				if r.Class == string(people.Minor) && len([]rune(r.Name)) > 1 {
					minor = r
					break
				}
			}
		}
		var household int64
		var number string
		f.one(t, `SELECT h.id, h.number FROM households h JOIN residents r ON r.household_id = h.id WHERE r.id = $1`, []any{minor.ID}, &household, &number)
		if err := d.Tx(context.Background(), func(tx *sql.Tx) error {
			_, err := tx.Exec(`UPDATE households SET head_resident_id = $1 WHERE id = $2`, minor.ID, household)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if st, body := town.JSON("POST", "/api/v1/bank/awards", map[string]any{"resident_id": minor.ID, "rule_code": "clean", "reason": "捡到钱包交公",
			"idempotency_key": "http:minor:head"}, nil); st != 201 {
			t.Fatalf("award a minor: %d %s", st, body)
		}
		masked := number + " " + bank.MaskMinor(minor.Name)
		var board bank.RankingsResponse
		if st, body := f.env.API(demo.PhoneResident).JSON("GET", "/api/v1/bank/rankings?by=household", nil, &board); st != 200 || len(board.Items) != 1 {
			t.Fatalf("household rankings: %d %s", st, body)
		}
		if got := board.Items[0]; got.ID != household || got.Name != masked || got.Points != 5 || got.Rank != 1 {
			t.Errorf("a minor's household on the board: %+v, want %q", got, masked)
		}
		if st, body := f.env.Browser(demo.PhoneResident).Get("/bank/rankings?by=household"); st != 200 || strings.Contains(body, escaped(t, minor.Name)) ||
			!strings.Contains(body, escaped(t, masked)) {
			t.Errorf("the household rankings page shows a minor's name: %d", st)
		}
	})
}
