package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
	"siwei/internal/web"
)

// postLogin posts the login form from addr (as a trusted proxy's X-Forwarded-For names it) with
// the client's cookies, and returns the status and the Retry-After header.
func postLogin(t *testing.T, c *http.Client, base, addr, phone, password string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"phone": {phone}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// browser is a browser that has logged in to phone with the demo password.
func browser(t *testing.T, base, phone string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if st, _ := postLogin(t, c, base, "192.0.2.1", phone, demo.DemoPassword); st != http.StatusSeeOther {
		t.Fatalf("login %s: %d", phone, st)
	}
	return c
}

// TestLoginUnderAttack sends 300 wrong passwords for one phone at once, as the probe did: only
// the limit's worth are hashed, never more at once than the slots, and the rest are told to come
// back later. The owner is not locked out: not from elsewhere, and not from a browser that logged
// in before, even at the attacker's address.
func TestLoginUnderAttack(t *testing.T) {
	trust := web.TrustProxy
	web.TrustProxy = true
	t.Cleanup(func() { web.TrustProxy = trust })
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		owner := browser(t, env.URL, demo.PhoneResident) // logged in before: holds a device cookie
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 300},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		before := env.Sys.Auth.PasswordChecks()
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		retry := 0
		for range 300 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, after := postLogin(t, hc, env.URL, "198.51.100.66", demo.PhoneResident, "wrong-password")
				mu.Lock()
				defer mu.Unlock()
				statuses[st]++
				if st == http.StatusTooManyRequests && after != "" && after != "0" {
					retry++
				}
			}()
		}
		wg.Wait()
		hashed := env.Sys.Auth.PasswordChecks() - before
		t.Logf("%d hashed; answers %v", hashed, statuses)
		if hashed > int64(auth.DefaultLimits.PairFree) || statuses[http.StatusUnauthorized] != int(hashed) ||
			statuses[http.StatusTooManyRequests] != 300-int(hashed) || retry != statuses[http.StatusTooManyRequests] {
			t.Fatalf("%d hashed, answers %v, %d with Retry-After", hashed, statuses, retry)
		}
		if h := auth.Hashes(); h.Max > h.Bound || h.InFlight != 0 || h.Bound < 1 {
			t.Fatalf("hashes %+v", h)
		}
		if st, _ := env.Anonymous().Get("/healthz"); st != http.StatusOK {
			t.Fatalf("healthz %d", st)
		}
		// An attempt refused because every hash slot was busy (other tests hash meanwhile) is taken
		// back, since nothing was tried: the attacker makes up the pair's allowance one at a time.
		for i := 0; env.Sys.Auth.PasswordChecks()-before < int64(auth.DefaultLimits.PairFree) && i < 2*auth.DefaultLimits.PairFree; i++ {
			if st, _ := postLogin(t, hc, env.URL, "198.51.100.66", demo.PhoneResident, "wrong-password"); st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
				t.Fatalf("a wrong password within the allowance: %d", st)
			}
		}
		if n := env.Sys.Auth.PasswordChecks() - before; n != int64(auth.DefaultLimits.PairFree) {
			t.Fatalf("%d hashed for the pair, want %d", n, auth.DefaultLimits.PairFree)
		}
		// The attacker's address waits, even with the right password…
		if st, _ := postLogin(t, hc, env.URL, "198.51.100.66", demo.PhoneResident, demo.DemoPassword); st != http.StatusTooManyRequests {
			t.Fatalf("right password from the attacker's address: %d", st)
		}
		// …the owner elsewhere does not…
		if st, _ := postLogin(t, hc, env.URL, "192.0.2.10", demo.PhoneResident, demo.DemoPassword); st != http.StatusSeeOther {
			t.Fatalf("the owner from another address: %d", st)
		}
		// …and the owner's browser does not, even from the attacker's address.
		if st, _ := postLogin(t, owner, env.URL, "198.51.100.66", demo.PhoneResident, demo.DemoPassword); st != http.StatusSeeOther {
			t.Fatalf("the owner's browser: %d", st)
		}
	})
}

// TestLoginPhoneCeiling spreads wrong passwords for one phone over many addresses: past the
// ceiling strangers wait, but a browser that logged in to the phone before does not.
func TestLoginPhoneCeiling(t *testing.T) {
	trust := web.TrustProxy
	web.TrustProxy = true
	t.Cleanup(func() { web.TrustProxy = trust })
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		owner := browser(t, env.URL, demo.PhonePartyMember)
		hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for i := range auth.DefaultLimits.Phone {
			if st, _ := postLogin(t, hc, env.URL, fmt.Sprintf("203.0.113.%d", i), demo.PhonePartyMember, "wrong-password"); st != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d", i, st)
			}
		}
		st, after := postLogin(t, hc, env.URL, "192.0.2.99", demo.PhonePartyMember, demo.DemoPassword)
		if st != http.StatusTooManyRequests || after == "" {
			t.Fatalf("a stranger past the ceiling: %d, Retry-After %q", st, after)
		}
		if st, _ := postLogin(t, owner, env.URL, "192.0.2.99", demo.PhonePartyMember, demo.DemoPassword); st != http.StatusSeeOther {
			t.Fatalf("the owner's browser: %d", st)
		}
	})
}

// TestPasswordChangeLimits: the password form refuses what is easily guessed, saying why, and
// stops guessing the old password.
func TestPasswordChangeLimits(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		var idEnc []byte
		if err := d.Read().QueryRowContext(context.Background(), `SELECT r.id_enc FROM residents r JOIN accounts a ON a.resident_id = r.id WHERE a.phone = $1`,
			demo.PhoneResident).Scan(&idEnc); err != nil {
			t.Fatal(err)
		}
		idNumber, err := env.Sys.People.Cipher.Decrypt(idEnc)
		if err != nil {
			t.Fatal(err)
		}
		c := env.Browser(demo.PhoneResident)
		for _, tc := range []struct{ new, says string }{
			{"12345678", "这个密码太常见"},
			{"qwerty123", "这个密码太常见"},
			{"woaini1314", "这个密码太常见"},
			{"aaaaaaaa", "同一个字符重复"},
			{demo.PhoneResident, "不能用手机号"},
			{idNumber, "不能用身份证号"},
			{idNumber[10:], "不能用身份证号"},
		} {
			st, body := c.PostForm("/password", url.Values{"old_password": {demo.DemoPassword}, "new_password": {tc.new}})
			if st != http.StatusUnprocessableEntity || !strings.Contains(body, tc.says) {
				t.Fatalf("%s: %d, want 422 saying %s", tc.new, st, tc.says)
			}
		}
		for i := range auth.DefaultLimits.Password {
			if st, _ := c.PostForm("/password", url.Values{"old_password": {"not-the-password"}, "new_password": {"a-good-new-one"}}); st != http.StatusUnprocessableEntity {
				t.Fatalf("wrong old password %d: %d", i, st)
			}
		}
		st, body := c.PostForm("/password", url.Values{"old_password": {demo.DemoPassword}, "new_password": {"a-good-new-one"}})
		if st != http.StatusTooManyRequests || !strings.Contains(body, "分钟后再试") {
			t.Fatalf("past the limit: %d %.300s", st, body)
		}
		// The form's limit does not touch logging in.
		env.Browser(demo.PhoneResident)
	})
}
