// Package e2e tests the real siwei binary from outside, the way a town office, a district and a
// resident's phone meet it: TestMain builds ./cmd/siwei once, and each test runs it as a child
// process on a free loopback port with a fresh data folder or PostgreSQL database.
//
//   - journeys_test.go: a resident's journey on a phone and a staff member's at a desktop, in
//     headless Chromium driven by chromedp (browser_test.go), with screenshots. They need Chromium
//     and a font for Chinese (Debian: apt-get install chromium fonts-noto-cjk); without them they
//     skip, saying what is missing, unless SIWEI_E2E=1 (as in CI) makes that a failure.
//   - crash_test.go: SIGKILL under write load, restart, `siwei verify`, and every 2xx still there.
//   - district_test.go: two app servers on one PostgreSQL database.
//   - harness_test.go and load_test.go: the child processes, the API client and the load.
//
// SIWEI_E2E=off skips the whole package; SIWEI_E2E_BINARY=PATH tests that
// binary instead of building one; SIWEI_E2E_SHOTS=DIR keeps the screenshots there instead of in the
// test's artifact folder (go test -artifacts). The PostgreSQL tests run when SIWEI_TEST_POSTGRES
// names a server, as everywhere else.
package e2e
