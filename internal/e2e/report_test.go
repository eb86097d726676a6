package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"siwei/internal/bank"
	"siwei/internal/demo"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/report"
	"siwei/internal/web"
)

// TestReportJourney is the 驾驶舱 as issue 18's journey has it: the town's admin opens the town
// page (the headline figures, the charts drawn by the vendored ECharts beside their tables), opens
// a village's page from the picker, switches to the big screen at 1920 × 1080 (dark, every
// headline figure on one screen, refreshing itself), and opens the monthly report's print page.
// Each is shot; the numbers the page shows are the API's.
func TestReportJourney(t *testing.T) {
	s := startServer(t, serverOpts{Demo: true})
	b := newBrowser(t, s, false)
	cat, err := web.LoadCatalog(people.Messages, bank.Messages, notify.Messages, report.Messages)
	if err != nil {
		t.Fatal(err)
	}
	b.cat = cat
	b.login(demo.PhoneTownAdmin, demo.DemoPassword, b.T("dashboard.title"))
	b.visit("/admin/report", b.T("report.headline"), b.T("report.fig.bank.cards"), b.T("report.fig.activities"), b.T("report.participation"))
	// The charts are drawn: ECharts ran and painted canvases.
	waitCanvases := func(min int) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			n, err := eval[int](b, `document.querySelectorAll("[data-chart] canvas").length`)
			if err == nil && n >= min {
				return
			}
			if time.Now().After(deadline) {
				b.fail("the charts were not drawn: %d canvases (%v)", n, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitCanvases(4)
	// The big number of 开卡数 is the API's.
	api := login(t, s, demo.PhoneTownAdmin)
	var doc report.Document
	api.must(t, 200, "GET", "/api/v1/report/figures?period="+strconv.Itoa(time.Now().Year()), nil, &doc)
	cards, ok := doc.Figure("bank.cards")
	if !ok || cards.Value == 0 {
		t.Fatalf("the API's 开卡数: %+v", cards)
	}
	b.see(thousands(int64(cards.Value)))
	b.shot("report-town")

	// A village from the picker.
	village := doc.Groups[0].Name
	b.click(`nav.rp-picks a:nth-child(2)`)
	b.see(village, b.T("report.headline"))
	b.shot("report-village")

	// The big screen at 1920 × 1080.
	b.do("the command centre's screen", chromedp.EmulateViewport(1920, 1080))
	b.visit("/admin/report?screen=1", b.T("report.screen_refresh"))
	waitCanvases(2)
	bg, err := eval[string](b, `getComputedStyle(document.body).backgroundColor`)
	if err != nil || bg != "rgb(11, 20, 38)" {
		b.fail("the big screen's ground: %q %v", bg, err)
	}
	refresh, err := eval[string](b, `document.querySelector("[data-refresh]").getAttribute("data-refresh")`)
	if err != nil || refresh != "60" {
		b.fail("the big screen refreshes every %q s (%v)", refresh, err)
	}
	// Every headline figure fits on the screen, without scrolling.
	bottom, err := eval[float64](b, `Math.max(...[...document.querySelectorAll(".rp-fig")].map(e => e.getBoundingClientRect().bottom))`)
	if err != nil || bottom > 1080 {
		b.fail("the headline figures reach %v px of 1080 (%v)", bottom, err)
	}
	b.shot("report-screen")

	// The monthly report's print page.
	b.do("an office screen", chromedp.EmulateViewport(desktopW, desktopH))
	last := time.Now().AddDate(0, -1, 0).Format("2006-01")
	b.visit("/admin/report/monthly?period="+last, b.T("report.monthly.notable"), b.T("report.monthly.flag"))
	if !strings.Contains(b.text(), last) {
		b.fail("the monthly report does not name %s", last)
	}
	b.shot("report-monthly")
}

// thousands writes n as the dashboard does: 18,754.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
