package bank

import (
	"bytes"
	"strings"
	"testing"

	"siwei/internal/errs"
)

// The keys of the card-token target: the town's, and another town's.
var (
	fuzzTokenKey = bytes.Repeat([]byte{9}, 32)
	fuzzOtherKey = bytes.Repeat([]byte{10}, 32)
)

// base64URL is the alphabet of a card token.
const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// FuzzCardToken: the token of every well-formed card parses back to its number and generation,
// is short enough for ParseCardToken and its QR code, and can never be taken for a typed card
// number at the counter; the token of an ill-formed card, the token under another town's key and
// every one-byte change, cut or extension of a token are refused as an unknown card.
func FuzzCardToken(f *testing.F) {
	f.Add("110112104-000007", 1, uint(0), byte('A'))
	f.Add("110112104123-00000000000000000001", 9999, uint(40), byte('_'))
	f.Add("110112-000001", 2, uint(7), byte('\n'))
	f.Add("110112104-000007", 0, uint(3), byte('a'))
	f.Add("110112104-000007.1", 1, uint(3), byte('a'))
	f.Add("", -1, uint(0), byte(0))
	f.Fuzz(func(t *testing.T, number string, gen int, pos uint, b byte) {
		refused := func(what, tok string, key []byte) {
			t.Helper()
			n, g, err := ParseCardToken(key, tok)
			if e, ok := errs.As(err); !ok || e.Code != errs.NotFound || e.Key != "bank.card_unknown" || n != "" || g != 0 {
				t.Fatalf("%s %q: %q %d %v", what, tok, n, g, err)
			}
		}
		tok := CardToken(fuzzTokenKey, Card{Number: number, Generation: gen})
		if !CardNumberOK(number) || gen < 1 {
			refused("token of an ill-formed card", tok, fuzzTokenKey)
			return
		}
		if n, g, err := ParseCardToken(fuzzTokenKey, tok); err != nil || n != number || g != gen {
			t.Fatalf("token %q of %s/%d parses as %q %d %v", tok, number, gen, n, g, err)
		}
		if len(tok) > maxTokenLen || strings.Trim(tok, base64URL) != "" || CardNumberOK(tok) {
			t.Fatalf("token %q of %s/%d", tok, number, gen)
		}
		refused("token under another key", tok, fuzzOtherKey)
		i := int(pos % uint(len(tok)))
		if changed := tok[:i] + string(b) + tok[i+1:]; changed != tok {
			refused("changed token", changed, fuzzTokenKey)
		}
		refused("cut token", tok[:i], fuzzTokenKey)
		refused("extended token", tok+string(b), fuzzTokenKey)
	})
}
