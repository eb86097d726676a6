package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"siwei/internal/bank"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// The viewports of the journeys: a common phone, and an office PC.
const (
	phoneW, phoneH     = 390, 844
	desktopW, desktopH = 1280, 900
)

// chromium finds the browser: SIWEI_CHROMIUM, else chromium or google-chrome on the PATH. A
// machine without one, or without a font for Chinese, skips the browser journeys with a message
// saying what to install, so that `go test ./...` passes on a laptop without Chromium; with
// SIWEI_E2E=1 (CI, which installs both) it fails instead. SIWEI_E2E=off skips the package.
func chromium(t testing.TB) string {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("SIWEI_E2E") == "1" {
			t.Fatal(what + "; SIWEI_E2E=1 requires the browser journeys")
		}
		t.Skip(what + "; skipping the browser journeys (SIWEI_E2E=1 makes this a failure)")
	}
	// Without a CJK font the pages would pass on their text and show boxes to a person.
	if out, err := exec.Command("fc-list", ":lang=zh", "family").Output(); err == nil && len(bytes.TrimSpace(out)) == 0 {
		missing("no font for Chinese: install one (Debian: apt-get install -y fonts-noto-cjk)")
	}
	if p := os.Getenv("SIWEI_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing("no Chromium: install it (Debian: apt-get install -y chromium fonts-noto-cjk) or set SIWEI_CHROMIUM")
	return ""
}

// browser is one headless Chromium tab on a server, sized as a phone or a desktop. Its methods
// fail the test with the page's text and a screenshot when what a person should see is not there.
type browser struct {
	t     testing.TB
	ctx   context.Context
	base  string
	phone bool
	shots string
	cat   web.Catalog
	step  int
}

func newBrowser(t testing.TB, s *server, phone bool) *browser {
	t.Helper()
	needE2E(t)
	path := chromium(t)
	w, h := desktopW, desktopH
	if phone {
		w, h = phoneW, phoneH
	}
	// The whole browser lives at most as long as this deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(w, h), chromedp.Flag("lang", "zh-CN"), chromedp.Flag("hide-scrollbars", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	viewport := chromedp.EmulateViewport(int64(w), int64(h))
	if phone {
		viewport = chromedp.EmulateViewport(int64(w), int64(h), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait, chromedp.EmulateScale(2))
	}
	if err := chromedp.Do(bctx, viewport); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	cat, err := web.LoadCatalog(people.Messages, bank.Messages, notify.Messages, volunteer.Messages)
	if err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("SIWEI_E2E_SHOTS")
	if shots == "" {
		shots = t.(interface{ ArtifactDir() string }).ArtifactDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: bctx, base: s.URL, phone: phone, shots: shots, cat: cat}
}

// T is a message of the zh-CN catalog, as the page shows it.
func (b *browser) T(key string, args ...any) string {
	b.t.Helper()
	if _, ok := b.cat["zh-CN"][key]; !ok {
		b.t.Fatalf("no message %s in the zh-CN catalog", key)
	}
	return b.cat.T("zh-CN", key, args...)
}

// do runs actions with a bound of 20 seconds.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression into T.
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// text is what the page shows.
func (b *browser) text() string {
	s, _ := eval[string](b, `document.body ? document.body.innerText : ""`)
	return s
}

// fail ends the test with the page's address, its text and a screenshot.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	loc, _ := eval[string](b, `location.href`)
	name := b.shot("failure")
	b.t.Fatalf("%s\n  at %s (screenshot %s)\n  page text:\n%s", fmt.Sprintf(format, args...), loc, name, tail(b.text(), 3000))
}

// visit opens a path and waits until it shows every text.
func (b *browser) visit(path string, texts ...string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
	b.see(texts...)
}

// see waits up to 15 seconds for the page to show every text (htmx may still be swapping), and
// on a phone checks that nothing overflows sideways.
func (b *browser) see(texts ...string) {
	b.t.Helper()
	js, _ := json.Marshal(texts)
	cond := fmt.Sprintf(`document.readyState === "complete" && !document.querySelector(".htmx-request") && document.body &&
		%s.every(t => document.body.innerText.includes(t))`, js)
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := eval[bool](b, cond)
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			var missing []string
			page := b.text()
			for _, t := range texts {
				if !strings.Contains(page, t) {
					missing = append(missing, t)
				}
			}
			b.fail("the page does not show %q", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b.phone {
		w, err := eval[int](b, `document.documentElement.scrollWidth`)
		if err != nil || w > phoneW {
			b.fail("the page is %d px wide on a %d px phone (%v)", w, phoneW, err)
		}
	}
}

// fill types into an input.
func (b *browser) fill(sel, value string) {
	b.t.Helper()
	b.do("fill "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

// set sets a select's, a date's or a number's value.
func (b *browser) set(sel, value string) {
	b.t.Helper()
	b.do("set "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
}

// click clicks an element; follow it with see for what should appear.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// upload sets the files of a file input.
func (b *browser) upload(sel string, files ...string) {
	b.t.Helper()
	b.do("upload to "+sel, chromedp.SetUploadFiles(chromedp.CSS(sel), files))
}

// shot saves a full-page screenshot as NN-name.png and returns its path.
func (b *browser) shot(name string) string {
	b.step++
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.step, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
	return path
}

// login logs in through the login form and waits for the landing page.
func (b *browser) login(phone, password string, landing ...string) {
	b.t.Helper()
	b.visit("/login", b.T("login.title"))
	b.fill(`input[name=phone]`, phone)
	b.fill(`input[name=password]`, password)
	b.click(`form[action="/login"] button`)
	b.see(landing...)
}
