package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"siwei/internal/db"
	"siwei/internal/errs"
)

// Limits are the throttles on guessing passwords. Every attempt counts against one allowance
// (login_attempts.allowance): a stranger's (""), a known device's ("device:<id>") or an account's
// password-change form ("password").
type Limits struct {
	// Window is how far back failures count.
	Window time.Duration
	// PairFree is how many failures a stranger may make for one phone from one address before
	// each further attempt waits: a minute after the last failure, doubling up to Window.
	PairFree int
	// Phone is the looser ceiling on strangers' failures for one phone from all addresses.
	Phone int
	// Addr is the ceiling on strangers' failures from one address for all phones: it stops one
	// address from trying a password on every phone, and is high because many households share
	// an address behind their carrier's NAT.
	Addr int
	// Device is how many failures a device that logged in to the phone before may make.
	Device int
	// Password is how many wrong old passwords an account may give on the password-change form.
	Password int
}

// loginWindow is the default Window; PruneLoginAttempts keeps attempts an hour longer.
const loginWindow = 15 * time.Minute

// DefaultLimits are the limits of a new Service.
var DefaultLimits = Limits{Window: loginWindow, PairFree: 5, Phone: 20, Addr: 100, Device: 10, Password: 5}

// tooMany is a refusal that says when to retry; web sends it as Retry-After.
type tooMany struct {
	e     *errs.Error
	after time.Duration
}

func (t *tooMany) Error() string { return t.e.Error() }
func (t *tooMany) Unwrap() error { return t.e }

// RetryAfter reports how long a client refused for too many attempts, or for a busy server,
// should wait before trying again.
func RetryAfter(err error) (time.Duration, bool) {
	var t *tooMany
	if errors.As(err, &t) {
		return t.after, true
	}
	return 0, false
}

func refuseFor(after time.Duration) error {
	minutes := int((after + time.Minute - 1) / time.Minute)
	return &tooMany{e: errs.New(errs.TooMany, "auth.too_many_attempts_wait", max(minutes, 1)), after: after}
}

// errBusy refuses an attempt that found no hash slot free in time.
var errBusy = &tooMany{e: errs.New(errs.TooMany, "auth.busy"), after: hashWait}

// LoginInput is one attempt to log in.
type LoginInput struct {
	Phone, Password string
	// Addr is the client's address.
	Addr string
	// Kind is the kind of session to open: "web" or "api".
	Kind string
	// Device is the device cookie the browser sent, if any.
	Device string
}

// Login is LoginWith for a client without a device cookie.
func (s *Service) Login(ctx context.Context, phone, password, addr, kind string) (Session, error) {
	return s.LoginWith(ctx, LoginInput{Phone: phone, Password: password, Addr: addr, Kind: kind})
}

// LoginWith checks a phone and password and opens a session. The attempt is recorded as a
// failure before the password is hashed, under a lock on the phone and the address, so that the
// limits hold however many guesses arrive at once; past a limit it is refused without hashing. A
// browser with a device cookie for the phone is counted against its own allowance. On success the
// session carries a device cookie for the browser.
func (s *Service) LoginWith(ctx context.Context, in LoginInput) (Session, error) {
	phone := strings.TrimSpace(in.Phone)
	var f errs.Fields
	if phone == "" {
		f.Add("phone", "field.required")
	} else if len(phone) > 32 {
		f.Add("phone", "field.phone_invalid")
	}
	if in.Password == "" {
		f.Add("password", "field.required")
	}
	if err := f.Err(); err != nil {
		return Session{}, err
	}
	deviceID := s.device(in.Device, phone)
	allowance := ""
	if deviceID != "" {
		allowance = "device:" + deviceID
	}
	attempt, err := s.reserve(ctx, phone, in.Addr, allowance)
	if err != nil {
		return Session{}, err
	}
	var id int64
	var hash string
	var disabled bool
	err = s.DB.Read().QueryRowContext(ctx, `SELECT id, password_hash, disabled FROM accounts WHERE phone = $1`, phone).Scan(&id, &hash, &disabled)
	if err != nil && !db.IsNoRows(err) {
		return Session{}, fmt.Errorf("auth: login: %w", err)
	}
	// An unknown phone, or an account without a password, costs the same hash as a known one, so
	// that timing does not tell which phones have accounts.
	known := id != 0 && hash != ""
	if !known {
		hash = dummyHash
	}
	ok, err := s.checkThrottled(ctx, attempt, hash, in.Password)
	if err != nil {
		return Session{}, err
	}
	if !ok || !known || disabled {
		return Session{}, errs.New(errs.Unauthorized, "auth.bad_credentials")
	}
	var sess Session
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE login_attempts SET ok = TRUE WHERE id = $1`, attempt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET last_login_at = $1 WHERE id = $2`, s.Now(), id); err != nil {
			return err
		}
		var err error
		sess, err = s.openSession(ctx, tx, id, in.Kind)
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("auth: login: %w", err)
	}
	if len(s.DeviceKey) != 0 {
		if deviceID == "" {
			deviceID = randomToken()[:22]
		}
		sess.DeviceExpires = s.Now().Add(deviceTTL)
		sess.Device = s.deviceToken(phone, deviceID, sess.DeviceExpires)
	}
	return sess, nil
}

// checkThrottled checks pw against hash in a hash slot, for the reserved attempt. With no slot
// free in time the attempt is taken back, since nothing was tried, and refused as busy.
func (s *Service) checkThrottled(ctx context.Context, attempt int64, hash, pw string) (bool, error) {
	if !acquireHash(ctx, hashWait) {
		if _, err := s.DB.Write().ExecContext(context.WithoutCancel(ctx), `DELETE FROM login_attempts WHERE id = $1`, attempt); err != nil {
			return false, fmt.Errorf("auth: take back attempt: %w", err)
		}
		return false, errBusy
	}
	defer releaseHash()
	s.counted()
	return checkPassword(hash, pw), nil
}

// counted counts a password hashed to check a login or an old password.
func (s *Service) counted() {
	if s.prepared != nil {
		s.prepared.hashes.Add(1)
	}
}

// PasswordChecks is how many passwords this service has hashed to check a login or an old
// password, for tests that prove the limits hold under concurrency.
func (s *Service) PasswordChecks() int64 {
	if s.prepared == nil {
		return 0
	}
	return s.prepared.hashes.Load()
}

// reserve records an attempt for phone from addr against allowance as a failure, if the limits
// allow one now, and returns its id. Transactions for the same phone or address run one after
// another, so each sees the attempts reserved before it.
func (s *Service) reserve(ctx context.Context, phone, addr, allowance string) (int64, error) {
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// Always the phone first, then the address: two attempts never wait on each other in turn.
		if err := s.DB.Serialize(ctx, tx, "login:phone:"+phone); err != nil {
			return err
		}
		if addr != "" {
			if err := s.DB.Serialize(ctx, tx, "login:addr:"+addr); err != nil {
				return err
			}
		}
		now := s.Now()
		wait, err := s.wait(ctx, tx, phone, addr, allowance, now)
		if err != nil {
			return err
		}
		if wait > 0 {
			return refuseFor(wait)
		}
		return tx.QueryRowContext(ctx, `INSERT INTO login_attempts (phone, addr, ok, at, allowance) VALUES ($1, $2, FALSE, $3, $4) RETURNING id`,
			phone, addr, now, allowance).Scan(&id)
	})
	if _, ok := RetryAfter(err); ok {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("auth: reserve attempt: %w", err)
	}
	return id, nil
}

// wait is how long an attempt against allowance must wait before it may be made; 0 means now.
func (s *Service) wait(ctx context.Context, tx *sql.Tx, phone, addr, allowance string, now time.Time) (time.Duration, error) {
	l := s.Limits
	since := now.Add(-l.Window)
	// ceiling is the wait until fewer than limit failures remain in the window.
	ceiling := func(limit int, where string, args ...any) (time.Duration, error) {
		times, err := failures(ctx, tx, where, append(args, since)...)
		if err != nil || len(times) < limit {
			return 0, err
		}
		return times[len(times)-limit].Add(l.Window).Sub(now), nil
	}
	switch {
	case allowance == "password":
		return ceiling(l.Password, `phone = $1 AND allowance = 'password'`, phone)
	case allowance != "":
		return ceiling(l.Device, `phone = $1 AND allowance = $2`, phone, allowance)
	}
	// A stranger: the phone from this address, with back-off after a success there resets it…
	lastOK := since
	err := tx.QueryRowContext(ctx, `SELECT at FROM login_attempts WHERE phone = $1 AND addr = $2 AND ok AND at > $3 ORDER BY at DESC LIMIT 1`,
		phone, addr, since).Scan(&lastOK)
	if err != nil && !db.IsNoRows(err) {
		return 0, err
	}
	times, err := failures(ctx, tx, `phone = $1 AND addr = $2 AND allowance = ''`, phone, addr, lastOK)
	if err != nil {
		return 0, err
	}
	if n := len(times); n >= l.PairFree {
		backoff := l.Window
		if shift := n - l.PairFree; shift < 10 {
			backoff = min(time.Minute<<shift, l.Window)
		}
		if w := times[n-1].Add(backoff).Sub(now); w > 0 {
			return w, nil
		}
	}
	// …the phone from everywhere…
	if w, err := ceiling(l.Phone, `phone = $1 AND allowance = ''`, phone); w > 0 || err != nil {
		return w, err
	}
	// …and the address for every phone.
	return ceiling(l.Addr, `addr = $1 AND allowance = ''`, addr)
}

// failures lists, oldest first, the times of the failed attempts that match where, whose last
// placeholder is left for the start of the window.
func failures(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]time.Time, error) {
	q := fmt.Sprintf(`SELECT at FROM login_attempts WHERE %s AND NOT ok AND at > $%d ORDER BY at`, where, len(args))
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var t time.Time
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ChangePassword changes the actor's own password after checking the old one; other sessions
// end. The new password is checked first, so a refused one costs no hash. Wrong old passwords
// are limited per account, and the old one is checked in a hash slot, as logins are.
func (s *Service) ChangePassword(ctx context.Context, a *Actor, old, new string) error {
	if a == nil {
		return errs.New(errs.Unauthorized, "error.unauthorized")
	}
	var phone, hash string
	var residentID sql.NullInt64
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT phone, password_hash, resident_id FROM accounts WHERE id = $1`, a.AccountID).
		Scan(&phone, &hash, &residentID); err != nil {
		return fmt.Errorf("auth: change password: %w", err)
	}
	var f errs.Fields
	if old == "" {
		f.Add("old_password", "field.required")
	}
	if err := s.checkNewPassword(ctx, &f, "new_password", new, phone, residentID.Int64); err != nil {
		return err
	}
	if !f.Has("new_password") && new == old {
		f.Add("new_password", "auth.password_same")
	}
	if err := f.Err(); err != nil {
		return err
	}
	attempt, err := s.reserve(ctx, phone, "", "password")
	if err != nil {
		return err
	}
	if !acquireHash(ctx, hashWait) {
		s.DB.Write().ExecContext(context.WithoutCancel(ctx), `DELETE FROM login_attempts WHERE id = $1`, attempt)
		return errBusy
	}
	s.counted()
	ok := checkPassword(hash, old)
	var nh string
	if ok {
		nh = hashPassword(new)
	}
	releaseHash()
	if !ok {
		f.Add("old_password", "auth.old_password_wrong")
		return f.Err()
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE login_attempts SET ok = TRUE WHERE id = $1`, attempt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = $1, must_change_password = FALSE WHERE id = $2`, nh, a.AccountID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2`, a.AccountID, a.Session)
		return err
	})
}
