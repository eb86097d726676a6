package e2e

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
)

// TestCrashSafety kills the server with SIGKILL at a random moment under write load (awards,
// awards put on notice, redemptions and volunteer sign-ups from concurrent clients), restarts it
// on the same database, and checks that the ledger verifies and that every write answered with a
// 2xx is there: sent again with its idempotency key, each answers with its first result.
func TestCrashSafety(t *testing.T) {
	needE2E(t)
	t.Run("SQLite", func(t *testing.T) { crash(t, "") })
	t.Run("PostgreSQL", func(t *testing.T) { crash(t, dbtest.PostgresURL(t)) })
}

func crash(t *testing.T, dbURL string) {
	s := startServer(t, serverOpts{Demo: true, DB: dbURL, Name: "siwei demo"})
	staff := login(t, s, demo.PhoneVillageAdmin)
	r1, r2 := login(t, s, demo.PhoneResident), login(t, s, demo.PhonePartyMember)
	m1, m2 := whoami(t, r1), whoami(t, r2)
	towel := goods(t, r1, "毛巾")
	rs := residentsOf(t, staff, m1.VillageID)
	// The two residents who redeem are awarded twice as often, so that they have points to spend.
	var feed []resident
	for _, r := range rs {
		if r.ID == m1.ID || r.ID == m2.ID {
			feed = append(feed, r)
		}
	}
	volunteers := append(under(rs, "volunteer"), feed...)
	helpers := under(rs, "help")
	if len(feed) != 2 || len(helpers) == 0 {
		t.Fatalf("demo village: residents %+v", rs)
	}

	post, shifts := volunteerShifts(t, staff, m1.VillageID, 400, r1, r2)

	l := newLoad()
	staffs := []*client{staff}
	workers := []worker{
		l.redeemer([]*client{r1}, 0, m1.ID, towel.ID),
		l.redeemer([]*client{r2}, 1, m2.ID, towel.ID),
		l.signer([]*client{r1}, 0, m1.ID, shifts),
		l.signer([]*client{r2}, 1, m2.ID, shifts),
		l.awarder(staffs, 0, "help", helpers),
	}
	for w := range 6 {
		workers = append(workers, l.awarder(staffs, w+1, "volunteer", volunteers))
	}
	killAt := time.Second + rand.N(2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), killAt+30*time.Second)
	defer cancel()
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		time.Sleep(killAt)
		l.stopped.Store(true)
		s.kill()
	}()
	l.drive(ctx, t, workers...)
	<-killed
	t.Logf("SIGKILL after %v: %d awards, %d on notice, %d redemptions, %d sign-ups acknowledged; %d refused (409), %d unanswered",
		killAt.Round(time.Millisecond), l.count("award"), l.count("claim"), l.count("redeem"), l.count("signup"), l.refused.Load(), l.lost.Load())
	if l.count("award") < 10 || l.count("claim") < 1 || l.count("signup") < 2 {
		t.Fatalf("too little load before the kill to prove anything")
	}

	// The database as the kill left it must verify, before anything repairs it.
	verify(t, s.opts.Data, dbURL)
	s2 := s.restart()
	// Sessions live in the database: the old tokens work on the new process.
	staff2, residents := staff.on(s2), map[int64]*client{m1.ID: r1.on(s2), m2.ID: r2.on(s2)}
	l.replay(t, func(a ack) *client {
		if a.Kind == "redeem" || a.Kind == "signup" {
			return residents[a.Resident]
		}
		return staff2
	})
	l.checkShifts(t, staff2, post, false)
	s2.stop()
	verify(t, s.opts.Data, dbURL)
}
