package bank

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"siwei/internal/errs"
)

// Card is a resident's bank card (开卡): a number (town code + serial + check character) printed on
// it and a QR code carrying a signed token of the number and generation. Reissuing a lost card
// gives it a new number and the next generation; the old number is retired (bank_retired_cards),
// so the lost card is refused by its QR code and by its printed number alike.
type Card struct {
	ID           int64     `json:"id"`
	ResidentID   int64     `json:"resident_id"`
	ResidentName string    `json:"resident_name"`
	VillageName  string    `json:"village_name"`
	Number       string    `json:"number"`
	Generation   int       `json:"generation"`
	Status       string    `json:"status"`
	IssuedAt     time.Time `json:"issued_at"`
}

// The card statuses.
const (
	CardActive = "active"
	CardLost   = "lost"
)

// The purposes of the keys derived from the master secret.
const (
	cardKeyPurpose      = "siwei card token"
	householdKeyPurpose = "siwei household code"
)

// cardMACSize is the length of the truncated HMAC in a token: 128 bits keep forgery out of reach
// and keep the token (about 50 characters) in a QR code of version 4 at medium recovery.
const cardMACSize = 16

// maxTokenLen bounds what ParseCardToken looks at; real tokens are under 64 characters.
const maxTokenLen = 128

// CardToken is what a card's QR code carries: base64url(number "." generation "." mac) where mac
// is HMAC-SHA256(key, "card|number|generation") cut to 16 bytes. It never carries the ID number.
func CardToken(key []byte, c Card) string {
	gen := strconv.Itoa(c.Generation)
	raw := make([]byte, 0, len(c.Number)+len(gen)+2+cardMACSize)
	raw = append(raw, c.Number...)
	raw = append(raw, '.')
	raw = append(raw, gen...)
	raw = append(raw, '.')
	raw = append(raw, cardMAC(key, c.Number, gen)...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func cardMAC(key []byte, number, gen string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("card|" + number + "|" + gen))
	return m.Sum(nil)[:cardMACSize]
}

// ParseCardToken checks a token made by CardToken and returns the card number and generation.
// It accepts only the exact text CardToken produces (no padding, line breaks or other spellings of
// the same bytes) and compares the MAC in constant time.
func ParseCardToken(key []byte, tok string) (number string, generation int, err error) {
	bad := errs.New(errs.NotFound, "bank.card_unknown")
	if tok == "" || len(tok) > maxTokenLen {
		return "", 0, bad
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	// The decoder skips line breaks; only the canonical spelling is a token.
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != tok || len(raw) < cardMACSize+4 {
		return "", 0, bad
	}
	mac, body := raw[len(raw)-cardMACSize:], raw[:len(raw)-cardMACSize]
	if body[len(body)-1] != '.' {
		return "", 0, bad
	}
	body = body[:len(body)-1]
	dot := strings.LastIndexByte(string(body), '.')
	if dot < 0 {
		return "", 0, bad
	}
	number, gen := string(body[:dot]), string(body[dot+1:])
	generation, err = strconv.Atoi(gen)
	if err != nil || generation < 1 || strconv.Itoa(generation) != gen || !CardNumberOK(number) {
		return "", 0, bad
	}
	if !hmac.Equal(mac, cardMAC(key, number, gen)) {
		return "", 0, bad
	}
	return number, generation, nil
}

// CardNumberOK reports whether s has the shape of a card number: a town code of 6–12 digits, a
// dash, and either six digits (a number printed before check characters, see CardNumber) or at
// least six digits and a check character (0–9 or X). It does not check the check character:
// CardCheckOK does.
func CardNumberOK(s string) bool {
	town, serial, ok := strings.Cut(s, "-")
	if !ok || len(s) > 32 || !cardDigits(town) || len(town) < 6 || len(town) > 12 || len(serial) < 6 {
		return false
	}
	if len(serial) == legacySerialLen {
		return cardDigits(serial)
	}
	last := serial[len(serial)-1]
	return cardDigits(serial[:len(serial)-1]) && (last == 'X' || (last >= '0' && last <= '9'))
}

// legacySerialLen is the length of the serial of the numbers printed before they had a check
// character: exactly six digits (%06d), since no town had reached a millionth card. A number
// issued since always has at least seven characters after the dash (six digits or more, then the
// check character), so the length alone tells the two apart, and old cards keep working.
const legacySerialLen = 6

// CardNumber is the number of a town's serial-th card: the town code, a dash, the serial in six
// digits or more, and the ISO 7064 MOD 11-2 check character (as in the ID number) of all the
// digits, town code included, so that one mistyped digit or two swapped are caught at the
// counter before any look-up.
func CardNumber(townCode string, serial int64) string {
	body := fmt.Sprintf("%s-%06d", townCode, serial)
	return body + string(mod112(body))
}

// CardCheckOK reports whether a number of CardNumberOK's shape is one that could have been issued:
// a number from before check characters has none to check; a newer one's must match.
func CardCheckOK(s string) bool {
	_, serial, _ := strings.Cut(s, "-")
	if len(serial) == legacySerialLen {
		return true
	}
	return mod112(s[:len(s)-1]) == s[len(s)-1]
}

// mod112 is the ISO 7064 MOD 11-2 check character of the digits of s (other characters are
// skipped): 0–9 or X.
func mod112(s string) byte {
	p := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			p = (p + int(c-'0')) * 2 % 11
		}
	}
	return "0123456789X"[(12-p)%11]
}

func cardDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// cardKey is the key that signs card tokens.
func (s *Service) cardKey() []byte { return s.People.Cipher.Derive(cardKeyPurpose) }

// TokenOf is the token for a card's QR code.
func (s *Service) TokenOf(c Card) string { return CardToken(s.cardKey(), c) }

// CardQR is the card's QR code as a 256-pixel PNG.
func (s *Service) CardQR(c Card) ([]byte, error) { return qrPNG(s.TokenOf(c)) }

func qrPNG(content string) ([]byte, error) {
	png, err := qrcode.Encode(content, qrcode.Medium, 256)
	if err != nil {
		return nil, fmt.Errorf("bank: qr code: %w", err)
	}
	return png, nil
}

// qrDataURL is a QR code as a data: URL for an <img> on a print sheet.
func qrDataURL(content string) (template.URL, error) {
	png, err := qrPNG(content)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}
