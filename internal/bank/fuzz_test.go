package bank

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
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

// FuzzDecodeClaim: the claim API's own decoder (web.Decode with room for photos) refuses a body
// with an Invalid *errs.Error whose fields name what failed, or accepts exactly one JSON value,
// whose claim encodes to JSON that decodes to the same claim.
func FuzzDecodeClaim(f *testing.F) {
	for _, s := range []string{
		`{"rule_code":"snow","description":"扫雪","happened_on":"2026-05-20","photos":["iVBORw0KGgo="]}`,
		`{"photos":["not base64!"]}`, `{"photos":[null,""]}`, `{"photos":"x"}`, `{"rule":"x"}`,
		`null`, `{}]`, `{} {}`, ``,
	} {
		f.Add([]byte(s))
	}
	decode := func(body []byte) (ClaimInput, error) {
		var in ClaimInput
		r := httptest.NewRequest("POST", "/api/v1/bank/claims", bytes.NewReader(body))
		return in, decodeClaim(httptest.NewRecorder(), r, &in)
	}
	fieldKeys := map[string]bool{"field.wrong_type": true, "field.unknown": true, "bank.photo_invalid": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decode(body)
		if err != nil {
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Invalid || e.Key != "error.bad_json" {
				t.Fatalf("%q refused with %#v", body, err)
			}
			for _, fe := range e.Fields {
				if !fieldKeys[fe.Key] || (fe.Key == "bank.photo_invalid" && fe.Field != "photos") {
					t.Fatalf("%q refused with field %+v", body, fe)
				}
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted %q, which is not one JSON value", body)
		}
		enc, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decode(enc)
		if err != nil || !reflect.DeepEqual(again, in) {
			t.Fatalf("%q decoded to %+v, through %s to %+v (%v)", body, in, enc, again, err)
		}
	})
}
