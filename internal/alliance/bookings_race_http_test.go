package alliance_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"siwei/internal/clock"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// TestBookingsRacing: a resident who sends eight bookings to the dispute centre at once has three
// waiting, the most one may, on both engines: the count and the insert are one request at a time.
func TestBookingsRacing(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		loc, err := env.Sys.People.Zone(context.Background(), env.Info.TownID)
		if err != nil {
			t.Fatal(err)
		}
		day := time.Now().In(loc).AddDate(0, 0, 1).Format(clock.DayLayout)
		browser := env.Browser(demo.PhoneResident)
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], _ = browser.PostForm("/alliance/disputes/bookings", url.Values{"matter": {"邻居占用通道"}, "preferred_day": {day}})
			}()
		}
		wg.Wait()
		var ok, refused int
		for _, st := range statuses {
			switch st {
			case http.StatusSeeOther:
				ok++
			case http.StatusConflict:
				refused++
			default:
				t.Errorf("a booking answered %d", st)
			}
		}
		var booked int
		if err := env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM dispute_consultations WHERE status = 'booked'`).Scan(&booked); err != nil {
			t.Fatal(err)
		}
		if ok != 3 || refused != 5 || booked != 3 {
			t.Errorf("%d booked (%d stored), %d refused; want 3 and 5", ok, booked, refused)
		}
	})
}
