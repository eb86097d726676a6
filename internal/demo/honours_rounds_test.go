package demo_test

import (
	"context"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/honours"
	"siwei/internal/server"
)

// TestHonoursRoundsDemo runs the demo's rounds step: 前疃村's round is open now with votes cast
// through the service, some of them assisted at the office, the demo resident free to vote, and
// exactly one anomaly flagged: the planted burst from one phone. A second run adds nothing.
func TestHonoursRoundsDemo(t *testing.T) {
	eachTown(t, "honours rounds", demo.Options{Seed: 5, Residents: 1000}, func(ctx context.Context, d *db.DB, sys *server.System, info demo.Info) error {
		return demo.HonoursRounds(ctx, d, sys.People, info, 5)
	}, func(t *testing.T, d *db.DB, sys *server.System, info demo.Info) {
		ctx := context.Background()
		if err := demo.HonoursRounds(ctx, d, sys.People, info, 5); err != nil {
			t.Fatal(err)
		}
		rounds, err := sys.Honours.Rounds(ctx, auth.System("test"), info.TownID, honours.RoundFilter{})
		if err != nil || len(rounds) != 1 {
			t.Fatalf("%d rounds, %v", len(rounds), err)
		}
		r := rounds[0]
		if r.Status != honours.RoundOpen || r.Voters < 15 || r.OpenFlags != 1 {
			t.Errorf("round %+v: want open, 15 voters or more, one open flag", r)
		}
		var rule string
		var votes, assisted int
		if err := d.Read().QueryRowContext(ctx, `SELECT rule, votes FROM honours_vote_flags WHERE round_id = $1`, r.ID).Scan(&rule, &votes); err != nil || rule != honours.FlagDeviceBurst || votes < honours.DeviceBurstVoters {
			t.Errorf("flag %s of %d votes, %v; want the device burst", rule, votes, err)
		}
		if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_votes WHERE round_id = $1 AND assisted_by_name <> ''`, r.ID).Scan(&assisted); err != nil || assisted == 0 {
			t.Errorf("%d assisted votes, %v", assisted, err)
		}
		var mine int
		if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_votes x JOIN accounts a ON a.resident_id = x.voter_id WHERE x.round_id = $1 AND a.phone IN ($2, $3)`,
			r.ID, demo.PhoneResident, demo.PhonePartyMember).Scan(&mine); err != nil || mine != 0 {
			t.Errorf("the demo resident or party member voted already: %d, %v", mine, err)
		}
	})
}
