package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"siwei/internal/demo"
)

// TestOfflineClaim is a resident on a phone with weak signal (issue 13 item 22): with the signal
// gone, the balance and the claim form still open from what the service worker kept, and a claim
// filed with a photo waits on the phone as a draft, said on the form and the home page; nothing
// reaches the server. The draft is kept twice, as when a draft was sent but its answer lost; when
// the signal returns both are sent with the claim's one idempotency key, and the resident has
// exactly one claim.
func TestOfflineClaim(t *testing.T) {
	s := startServer(t, serverOpts{Demo: true})
	api := login(t, s, demo.PhoneResident)
	m := whoami(t, api)
	start := balance(t, api, m.ID)
	b := newBrowser(t, s, true)

	b.login(demo.PhoneResident, demo.DemoPassword, b.T("home.hello", m.Name))
	// Once the service worker is active, the pages opened with signal are kept on the phone.
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`navigator.serviceWorker.ready.then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		b.fail("the service worker is not active: %v", err)
	}
	b.visit("/", b.T("home.hello", m.Name))
	b.until(`navigator.serviceWorker.controller !== null`, "the service worker controls the page")
	b.visit("/bank", b.T("bank.balance"))
	b.exactly(".balance", fmt.Sprint(start))
	b.visit("/bank/claims/new", b.T("bank.claim_submit"))

	b.offline(true)
	b.visit("/bank", b.T("bank.balance"))
	b.exactly(".balance", fmt.Sprint(start))
	b.visit("/bank/claims/new", b.T("bank.claim_submit"))
	what := fmt.Sprintf("没信号时帮五保户修好了院墙 %d", time.Now().UnixNano()%100000)
	b.set(`select[name=rule_code]`, "filial")
	b.fill(`textarea[name=description]`, what)
	b.set(`input[name=happened_on]`, today())
	b.upload(`input[name=photos]`, photoFile(t))
	b.click(`form[action="/bank/claims"] button.primary`)
	b.see(b.T("offline.saved"), b.T("offline.claims_wait", "1"))
	b.path("/bank/claims/new")
	b.shot("offline-claim-kept")
	if n := claimsNamed(t, api, what); n != 0 {
		t.Fatalf("%d claims reached the server without signal", n)
	}
	b.visit("/", b.T("offline.claims_wait", "1"))

	// The same draft twice, with the same key: as if it had been sent and its answer lost.
	ctx2, cancel2 := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel2()
	if n, err := chromedp.Run(ctx2, chromedp.Evaluate[int](`(async () => {
		const ds = await siweiDrafts.list(document.getElementById("main").dataset.who);
		const d = Object.assign({}, ds[0]); delete d.id;
		await siweiDrafts.save(d);
		return (await siweiDrafts.list(document.getElementById("main").dataset.who)).length;
	})()`, chromedp.EvalAwaitPromise)); err != nil || n != 2 {
		t.Fatalf("drafts kept: %d, %v; want 2", n, err)
	}
	b.visit("/", b.T("offline.claims_wait", "2"))

	b.offline(false)
	b.see(b.T("offline.sent", "2"))
	if n := claimsNamed(t, api, what); n != 1 {
		t.Fatalf("%d claims %q after the signal returned, want 1", n, what)
	}
	b.visit("/bank/claims", what)
	if n := strings.Count(b.text(), what); n != 1 {
		b.fail("the claims page shows %q %d times, want once", what, n)
	}
	b.visit("/", b.T("home.hello", m.Name))
	if left, err := eval[bool](b, `!!document.getElementById("drafts-note")`); err != nil || left {
		b.fail("the home page still says drafts wait (%v)", err)
	}
}

// offline cuts the tab and its service worker off the network, and tells the page so, or gives
// the network back.
func (b *browser) offline(off bool) {
	b.t.Helper()
	b.do(fmt.Sprintf("offline %v", off), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		sw := true
		conds := []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}}
		if _, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{EmulateOfflineServiceWorker: &sw, MatchedNetworkConditions: conds}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
	b.until(fmt.Sprintf(`navigator.onLine === %v`, !off), "navigator.onLine follows")
}

// until waits up to 15 seconds for a JavaScript condition.
func (b *browser) until(cond, what string) {
	b.t.Helper()
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if ok, err := eval[bool](b, cond); err == nil && ok {
			return
		}
		if time.Now().After(end) {
			b.fail("%s: %s stays false", what, cond)
		}
	}
}

// claimsNamed counts the caller's claims with this description.
func claimsNamed(t testing.TB, c *client, description string) int {
	t.Helper()
	var cs []claimInfo
	c.must(t, http.StatusOK, "GET", "/api/v1/bank/claims", nil, &cs)
	n := 0
	for _, x := range cs {
		if x.Description == description {
			n++
		}
	}
	return n
}

// TestOfflineNeed is the same phone filing a 微志愿 need without signal (issue 13 item 22): the
// need form, opened with signal, keeps the need as a draft, said on the form; nothing reaches
// the server. Kept twice, as when a draft was sent but its answer lost, it is sent twice with the
// form's one idempotency key when the signal returns, and the server files one need: both drafts
// count as sent, the second answered with the first need.
func TestOfflineNeed(t *testing.T) {
	s := startServer(t, serverOpts{Demo: true})
	api := login(t, s, demo.PhoneResident)
	m := whoami(t, api)
	b := newBrowser(t, s, true)

	b.login(demo.PhoneResident, demo.DemoPassword, b.T("home.hello", m.Name))
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`navigator.serviceWorker.ready.then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		b.fail("the service worker is not active: %v", err)
	}
	// The home page is kept for the way back without signal; the need form's page is not kept, so
	// it is opened with signal.
	b.visit("/", b.T("home.hello", m.Name))
	b.until(`navigator.serviceWorker.controller !== null`, "the service worker controls the page")
	b.visit("/", b.T("home.hello", m.Name))
	b.visit("/volunteer/needs", b.T("volunteer.file_need"))

	b.offline(true)
	what := fmt.Sprintf("没信号时记下：院墙塌了一角 %d", time.Now().UnixNano()%100000)
	b.set(`select[name=category]`, "repair")
	b.fill(`textarea[name=description]`, what)
	b.click(`form[action="/volunteer/needs"] button.primary`)
	b.see(b.T("offline.saved"), b.T("offline.needs_wait", "1"))
	b.path("/volunteer/needs")
	if n := needsNamed(t, api, what); n != 0 {
		t.Fatalf("%d needs reached the server without signal", n)
	}

	// The same draft twice, with the same key: as if it had been sent and its answer lost.
	ctx2, cancel2 := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel2()
	if n, err := chromedp.Run(ctx2, chromedp.Evaluate[int](`(async () => {
		const who = document.getElementById("main").dataset.who;
		const ds = (await siweiDrafts.list(who)).filter(d => d.kind === "need");
		if (ds.length !== 1 || !ds[0].fields.some(f => f[0] === "idempotency_key" && f[1])) return -1;
		const d = Object.assign({}, ds[0]); delete d.id;
		await siweiDrafts.save(d);
		return (await siweiDrafts.list(who)).length;
	})()`, chromedp.EvalAwaitPromise)); err != nil || n != 2 {
		t.Fatalf("need drafts kept: %d, %v; want 2, one key", n, err)
	}
	b.visit("/", b.T("offline.needs_wait", "2"))

	b.offline(false)
	b.see(b.T("offline.sent", "2"))
	if n := needsNamed(t, api, what); n != 1 {
		t.Fatalf("%d needs %q after the signal returned, want 1", n, what)
	}
	b.visit("/volunteer/needs", what)
	if n, err := eval[int](b, fmt.Sprintf(`document.getElementById("needs-raised-list").innerText.split(%q).length - 1`, what)); err != nil || n != 1 {
		b.fail("the needs page lists %q %d times (%v), want once", what, n, err)
	}
	b.shot("offline-need-sent")
}

// needsNamed counts the caller's needs with this description.
func needsNamed(t testing.TB, c *client, description string) int {
	t.Helper()
	var ns []struct {
		Description string `json:"description"`
	}
	c.must(t, http.StatusOK, "GET", "/api/v1/volunteer/needs", nil, &ns)
	n := 0
	for _, x := range ns {
		if x.Description == description {
			n++
		}
	}
	return n
}
