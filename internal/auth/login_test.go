package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/errs"
)

// wantWait checks a refusal for too many attempts and the wait it names.
func wantWait(t *testing.T, err error, want time.Duration) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Code != errs.TooMany || e.Key != "auth.too_many_attempts_wait" {
		t.Fatalf("got %v, want too many attempts", err)
	}
	if got, ok := auth.RetryAfter(err); !ok || got < want-time.Second || got > want {
		t.Fatalf("retry after %v, want %v", got, want)
	}
}

func TestLoginLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		now := db.Now()
		f.as.Now = func() time.Time { return now }
		f.as.DeviceKey = []byte("a key for the device cookies of the tests")
		f.as.Limits = auth.Limits{Window: 15 * time.Minute, PairFree: 3, Phone: 8, Addr: 8, Device: 2, Password: 2}
		login := func(phone, password, addr, device string) (auth.Session, error) {
			return f.as.LoginWith(f.ctx, auth.LoginInput{Phone: phone, Password: password, Addr: addr, Kind: "web", Device: device})
		}
		fail := func(t *testing.T, phone, addr, device string) {
			t.Helper()
			_, err := login(phone, "wrong-password", addr, device)
			wantErr(t, err, errs.Unauthorized, "auth.bad_credentials")
		}
		// refused checks that an attempt is refused without hashing or storing anything.
		refused := func(t *testing.T, phone, addr, device string, wait time.Duration) {
			t.Helper()
			n, h := f.count(t, "login_attempts"), f.as.PasswordChecks()
			_, err := login(phone, testPassword, addr, device)
			wantWait(t, err, wait)
			if f.count(t, "login_attempts") != n || f.as.PasswordChecks() != h {
				t.Fatal("a refused attempt was stored or hashed")
			}
		}
		t.Run("PairBacksOff", func(t *testing.T) {
			for range 3 {
				fail(t, r1Phone, "198.51.100.1", "")
			}
			// The fourth waits a minute, even with the right password…
			refused(t, r1Phone, "198.51.100.1", "", time.Minute)
			// …but not the owner elsewhere, whose success does not clear this pair's count.
			if _, err := login(r1Phone, testPassword, "198.51.100.2", ""); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Minute)
			fail(t, r1Phone, "198.51.100.1", "")
			refused(t, r1Phone, "198.51.100.1", "", 2*time.Minute) // the wait doubles
			now = now.Add(2 * time.Minute)
			fail(t, r1Phone, "198.51.100.1", "")
			refused(t, r1Phone, "198.51.100.1", "", 4*time.Minute)
			now = now.Add(4 * time.Minute)
			// A success from the pair starts it afresh.
			if _, err := login(r1Phone, testPassword, "198.51.100.1", ""); err != nil {
				t.Fatal(err)
			}
			fail(t, r1Phone, "198.51.100.1", "")
		})
		t.Run("PhoneCeilingSparesDevices", func(t *testing.T) {
			now = now.Add(time.Hour)
			s, err := login(r2Phone, testPassword, "192.0.2.7", "")
			if err != nil {
				t.Fatal(err)
			}
			if s.Device == "" || !s.DeviceExpires.After(now.Add(300*24*time.Hour)) {
				t.Fatalf("no device cookie: %+v", s)
			}
			other, err := login(v1AdminPhone, testPassword, "192.0.2.7", "")
			if err != nil {
				t.Fatal(err)
			}
			forger := *f.as
			forger.DeviceKey = []byte("a key that is not the server's")
			forged, err := forger.LoginWith(f.ctx, auth.LoginInput{Phone: r2Phone, Password: testPassword, Addr: "192.0.2.8", Kind: "web"})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 8 {
				fail(t, r2Phone, fmt.Sprintf("203.0.113.%d", i), "")
			}
			// Strangers to the phone wait until the oldest failure leaves the window, even at the
			// owner's address…
			refused(t, r2Phone, "203.0.113.99", "", 15*time.Minute)
			refused(t, r2Phone, "192.0.2.7", "", 15*time.Minute)
			// …and a cookie for another phone, a forged or an altered one makes nobody less of one.
			refused(t, r2Phone, "192.0.2.7", other.Device, 15*time.Minute)
			refused(t, r2Phone, "192.0.2.7", forged.Device, 15*time.Minute)
			refused(t, r2Phone, "192.0.2.7", altered(s.Device), 15*time.Minute)
			// The owner's browser logs in all the same, from anywhere, and keeps its cookie's device.
			again, err := login(r2Phone, testPassword, "203.0.113.99", s.Device)
			if err != nil {
				t.Fatalf("the owner's device was locked out: %v", err)
			}
			if again.Device == "" {
				t.Fatal("no device cookie renewed")
			}
			// A device has its own allowance: two failures, then it waits too.
			fail(t, r2Phone, "203.0.113.99", s.Device)
			fail(t, r2Phone, "203.0.113.99", s.Device)
			refused(t, r2Phone, "203.0.113.99", s.Device, 15*time.Minute)
		})
		t.Run("Address", func(t *testing.T) {
			now = now.Add(time.Hour)
			for i := range 8 {
				fail(t, fmt.Sprintf("137%08d", i), "203.0.113.9", "")
			}
			refused(t, v1AdminPhone, "203.0.113.9", "", 15*time.Minute)
			if _, err := login(v1AdminPhone, testPassword, "203.0.113.10", ""); err != nil {
				t.Fatalf("another address: %v", err)
			}
		})
		t.Run("ErrTooLong", func(t *testing.T) {
			_, err := login(strings.Repeat("1", 33), testPassword, "203.0.113.11", "")
			wantErr(t, err, errs.Invalid, "error.invalid", "phone:field.phone_invalid")
		})
		t.Run("Prune", func(t *testing.T) {
			now = now.Add(2 * time.Hour)
			if err := f.as.PruneLoginAttempts(f.ctx); err != nil {
				t.Fatal(err)
			}
			if n := f.count(t, "login_attempts"); n != 0 {
				t.Fatalf("%d attempts left after pruning", n)
			}
		})
	})
}

// TestLoginConcurrent sends many wrong passwords for one phone at once: no more of them are
// hashed than the limit allows, and no more hashes run at once than there are slots.
func TestLoginConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		before := f.as.PasswordChecks()
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[string]int{}
		for range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.as.Login(f.ctx, r1Phone, "wrong-password", "198.51.100.1", "web")
				key := "ok"
				if e, ok := errs.As(err); ok {
					key = string(e.Code)
				} else if err != nil {
					key = err.Error()
				}
				mu.Lock()
				got[key]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		hashed := f.as.PasswordChecks() - before
		if hashed > int64(auth.DefaultLimits.PairFree) || got["unauthorized"] != int(hashed) || got["too_many_requests"] != 60-int(hashed) {
			t.Fatalf("%d hashed, answers %v", hashed, got)
		}
		if h := auth.Hashes(); h.Max > h.Bound || h.InFlight != 0 {
			t.Fatalf("hashes %+v", h)
		}
	})
}

func TestPasswordPolicy(t *testing.T) {
	for _, c := range []struct{ pw, key string }{
		{"12345678", "auth.password_common"},
		{"QWERTY123", "auth.password_common"},
		{"woaini1314", "auth.password_common"},
		{"1qaz2wsx", "auth.password_common"},
		{"password", "auth.password_common"},
		{"aaaaaaaa", "auth.password_repeated"},
		{"啊啊啊啊啊啊啊啊", "auth.password_repeated"},
		{"1234567", "auth.password_too_short"},
		{"siwei-demo", ""},
		{"qianTuan-2026", ""},
	} {
		err := auth.ValidatePassword(c.pw)
		if c.key == "" {
			if err != nil {
				t.Errorf("%q: %v", c.pw, err)
			}
			continue
		}
		e, ok := errs.As(err)
		if !ok || len(e.Fields) != 1 || e.Fields[0].Key != c.key {
			t.Errorf("%q: got %v, want %s", c.pw, err, c.key)
		}
	}
}

func TestChangePasswordPolicyAndLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		const idNumber = "11011219500101123X"
		f.as.DecryptID = func(sealed []byte) (string, error) {
			if string(sealed) != "\x01\x02\x03" {
				return "", errors.New("not the fixture's")
			}
			return idNumber, nil
		}
		f.as.Limits.Password = 2
		// The clock stands still: the wait asked for is measured from the failed attempts, and the
		// hashing between them takes seconds on a loaded machine (CI once saw 14m57s for 15m).
		now := db.Now()
		f.as.Now = func() time.Time { return now }
		a := f.actorOf(t, r1Phone)
		refused := []struct {
			name, old, new string
			fields         []string
		}{
			{"ErrCommon", testPassword, "12345678", []string{"new_password:auth.password_common"}},
			{"ErrRepeated", testPassword, "aaaaaaaa", []string{"new_password:auth.password_repeated"}},
			{"ErrPhone", testPassword, r1Phone, []string{"new_password:auth.password_phone"}},
			{"ErrPhoneInside", testPassword, "zs" + r1Phone, []string{"new_password:auth.password_phone"}},
			{"ErrPhoneTail", testPassword, r1Phone[3:], []string{"new_password:auth.password_phone"}},
			{"ErrIDNumber", testPassword, strings.ToLower(idNumber), []string{"new_password:auth.password_id_number"}},
			{"ErrBirthDate", testPassword, "19500101", []string{"new_password:auth.password_id_number"}},
			{"ErrTooShort", testPassword, "short", []string{"new_password:auth.password_too_short"}},
			{"ErrSame", testPassword, testPassword, []string{"new_password:auth.password_same"}},
			{"ErrOldRequired", "", "brand-new-pw", []string{"old_password:field.required"}},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				h := f.as.PasswordChecks()
				wantErr(t, f.as.ChangePassword(f.ctx, a, c.old, c.new), errs.Invalid, "error.invalid", c.fields...)
				if f.as.PasswordChecks() != h {
					t.Fatal("a refused new password cost a hash")
				}
			})
		}
		t.Run("ErrOldWrongIsLimited", func(t *testing.T) {
			for range 2 {
				wantErr(t, f.as.ChangePassword(f.ctx, a, "not-the-password", "brand-new-pw"), errs.Invalid, "error.invalid", "old_password:auth.old_password_wrong")
			}
			h := f.as.PasswordChecks()
			wantWait(t, f.as.ChangePassword(f.ctx, a, testPassword, "brand-new-pw"), 15*time.Minute)
			if f.as.PasswordChecks() != h {
				t.Fatal("a refused attempt was hashed")
			}
			// The form's limit is the account's own: logging in is not affected.
			f.login(t, r1Phone, testPassword)
		})
		t.Run("OK", func(t *testing.T) {
			b := f.actorOf(t, r2Phone)
			other := f.login(t, r2Phone, testPassword)
			if err := f.as.ChangePassword(f.ctx, b, testPassword, "siwei-demo"); err != nil {
				t.Fatal(err)
			}
			if got, _ := f.as.Authenticate(f.ctx, other); got != nil {
				t.Fatal("the account's other session did not end")
			}
			f.login(t, r2Phone, "siwei-demo")
		})
	})
}

// altered changes one character in the middle of a device cookie's signature, to another one
// that base64 reads as different bits.
func altered(cookie string) string {
	i := strings.LastIndexByte(cookie, '.') + 5
	c := byte('A')
	if cookie[i] == 'A' {
		c = 'B'
	}
	return cookie[:i] + string(c) + cookie[i+1:]
}
