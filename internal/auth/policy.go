package auth

import (
	"bufio"
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"strings"

	"siwei/internal/errs"
)

// commonPasswords lists, lowercased, the passwords of 8 characters or more that guessers try
// first: the top of the public leak lists (international and Chinese), digit runs, keyboard walks,
// repeated pairs, and common words and surnames with the usual endings (123, 520, 1314, 888).
// Shorter ones need no list: minPasswordLen refuses them.
//
//go:embed common_passwords.txt
var commonPasswordsTxt string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsTxt))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			m[w] = true
		}
	}
	return m
}()

// ValidatePassword checks a new password on its own: its length, that it is not one character
// repeated, and that it is not on the list of common passwords. What it must not be built from
// (the account's phone, the resident's ID number) is checked by the service, which knows them.
func ValidatePassword(pw string) error {
	var f errs.Fields
	if key := passwordProblem(pw); key != "" {
		f.Add("password", key)
	}
	return f.Err()
}

// passwordProblem is the message key of the first thing wrong with pw alone, or "".
func passwordProblem(pw string) string {
	n := len([]rune(pw))
	switch {
	case n < minPasswordLen:
		return "auth.password_too_short"
	case len(pw) > 128:
		return "auth.password_too_long"
	case strings.Count(pw, string([]rune(pw)[0])) == n:
		return "auth.password_repeated"
	case commonPasswords[strings.ToLower(pw)]:
		return "auth.password_common"
	}
	return ""
}

// madeFrom reports whether pw is secret or a piece of it at least minPasswordLen long (the last
// eight digits of a phone, the birth date in an ID number), or contains it whole.
func madeFrom(pw, secret string) bool {
	pw, secret = strings.ToUpper(pw), strings.ToUpper(secret)
	if secret == "" {
		return false
	}
	return strings.Contains(pw, secret) || (len([]rune(pw)) >= minPasswordLen && strings.Contains(secret, pw))
}

// checkNewPassword adds to f, under field, what is wrong with pw as the password of the account
// with this phone and resident record: ValidatePassword's checks, then the phone, then the ID
// number (when the account has a resident record and the service can read its ID number).
func (s *Service) checkNewPassword(ctx context.Context, f *errs.Fields, field, pw, phone string, residentID int64) error {
	if key := passwordProblem(pw); key != "" {
		f.Add(field, key)
		return nil
	}
	if madeFrom(pw, phone) {
		f.Add(field, "auth.password_phone")
		return nil
	}
	if residentID == 0 || s.DecryptID == nil {
		return nil
	}
	var enc []byte
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id_enc FROM residents WHERE id = $1`, residentID).Scan(&enc)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: check password: %w", err)
	}
	id, err := s.DecryptID(enc)
	if err != nil {
		return fmt.Errorf("auth: check password: resident %d: %w", residentID, err)
	}
	if madeFrom(pw, id) {
		f.Add(field, "auth.password_id_number")
	}
	return nil
}
