package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// A device cookie, as in OWASP's "Slow down online guessing attacks with device cookies", marks a
// browser where someone logged in to a phone with its password. It names the phone and a random
// device id, signed with the server's key, so it cannot be forged or moved to another phone. A
// login that brings a valid one for its phone is counted against that device's own allowance,
// not the one that strangers to the phone share: a guesser who exhausts the phone's allowance
// from elsewhere does not lock its owner out of the browsers the owner already uses.

// DeviceCookie is the cookie's name.
const DeviceCookie = "siwei_device"

// deviceTTL is how long a device stays trusted after its last login there.
const deviceTTL = 365 * 24 * time.Hour

// deviceToken signs a device cookie for phone and device id, valid until exp.
func (s *Service) deviceToken(phone, id string, exp time.Time) string {
	payload := "1|" + phone + "|" + id + "|" + strconv.FormatInt(exp.Unix(), 10)
	m := hmac.New(sha256.New, s.DeviceKey)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// device returns the device id of a cookie signed by this server for phone that has not expired,
// or "" for anything else.
func (s *Service) device(cookie, phone string) string {
	if len(s.DeviceKey) == 0 || cookie == "" || len(cookie) > 300 {
		return ""
	}
	p64, sig64, ok := strings.Cut(cookie, ".")
	if !ok {
		return ""
	}
	// Strict: a cookie has one spelling, so no altered copy of it passes for the original.
	payload, err1 := base64.RawURLEncoding.Strict().DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.Strict().DecodeString(sig64)
	if err1 != nil || err2 != nil {
		return ""
	}
	m := hmac.New(sha256.New, s.DeviceKey)
	m.Write(payload)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return ""
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 4 || parts[0] != "1" || parts[1] != phone || parts[2] == "" {
		return ""
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || !time.Unix(exp, 0).After(s.Now()) {
		return ""
	}
	return parts[2]
}
