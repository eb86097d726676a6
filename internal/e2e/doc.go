// Package e2e tests the real siwei binary from outside, the way a town office, a district and a
// resident's phone meet it: TestMain builds ./cmd/siwei once, and each test runs it as a child
// process on a free loopback port with a fresh data folder or PostgreSQL database.
//
//   - browser_test.go: a resident's and a staff member's journeys in headless Chromium (chromedp),
//     with screenshots; Chromium must be installed (Debian: apt-get install chromium
//     fonts-noto-cjk) or the tests fail.
//   - crash_test.go: SIGKILL under write load, restart, `siwei verify`, and every 2xx in the ledger.
//   - district_test.go: two app servers on one PostgreSQL database.
//
// SIWEI_E2E=off skips the package (for a machine without Chromium); SIWEI_E2E_BINARY=PATH tests that
// binary instead of building one; SIWEI_E2E_SHOTS=DIR keeps the screenshots there instead of in the
// test's temporary folder. The PostgreSQL tests run when
// SIWEI_TEST_POSTGRES names a server, as everywhere else.
package e2e
