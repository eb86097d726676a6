package bank_test

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"sync"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
)

// deepPNG is a valid 16-bit RGB PNG of w × h black pixels: a few hundred kilobytes that would
// take 8 bytes a pixel to decode (6000 × 6600: 302 MiB), under the pixel limit all the same.
func deepPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		out.WriteString(typ)
		out.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		binary.Write(&out, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 2 // 16 bits a sample, RGB
	chunk("IHDR", ihdr)
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := make([]byte, 1+6*w) // filter byte 0 and the samples, all zero
	for range h {
		zw.Write(row)
	}
	zw.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// A photo whose decoding would take hundreds of megabytes is refused from its header, on its
// field, without being decoded; and a claim refused for its other fields decodes none of its
// photos.
func TestClaimPhotosRefusedBeforeDecoding(t *testing.T) {
	bomb := base64.StdEncoding.EncodeToString(deepPNG(t, 6000, 6600))
	if len(bomb) > 2<<20 {
		t.Fatalf("the 16-bit PNG is %d bytes in base64: it should compress small", len(bomb))
	}
	pic := base64.StdEncoding.EncodeToString(smallPNG(t))
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		res := f.env.API(demo.PhoneResident)
		cases := []struct {
			name       string
			claim      map[string]any
			field, key string
		}{
			{"16-bit PNG of 6000 × 6600", map[string]any{"rule_code": "brave", "description": "扑灭草垛火情", "happened_on": yesterday(),
				"photos": []string{pic, bomb}}, "photos[1]", "bank.photo_memory"},
			{"unknown rule", map[string]any{"rule_code": "nope", "description": "扑灭草垛火情", "happened_on": yesterday(),
				"photos": []string{pic}}, "rule_code", "bank.rule_unknown"},
			{"no description", map[string]any{"rule_code": "brave", "description": "", "happened_on": yesterday(),
				"photos": []string{pic, pic}}, "description", "field.required"},
		}
		for _, c := range cases {
			before := bank.PhotoDecodes()
			st, raw := res.JSON("POST", "/api/v1/bank/claims", c.claim, nil)
			if p := problem(raw); st != 422 || len(p.Errors) != 1 || p.Errors[0].Field != c.field || p.Errors[0].Code != c.key {
				t.Errorf("%s: %d %.300s", c.name, st, raw)
			}
			if n := bank.PhotoDecodes() - before; n != 0 {
				t.Errorf("%s: %d photos decoded for a refused claim", c.name, n)
			}
		}
		if n := f.count(t, "bank_claims"); n != 0 {
			t.Fatalf("refused claims stored %d", n)
		}
		// The counter counts: a claim in order decodes its photo.
		before := bank.PhotoDecodes()
		ok := map[string]any{"rule_code": "brave", "description": "扑灭草垛火情", "happened_on": yesterday(), "photos": []string{pic}}
		if st, raw := res.JSON("POST", "/api/v1/bank/claims", ok, nil); st != 201 || bank.PhotoDecodes()-before != 1 {
			t.Fatalf("claim: %d, %d decodes: %.300s", st, bank.PhotoDecodes()-before, raw)
		}
	})
}

// However many claims arrive at once, no more photos are decoded at once than there are decoding
// slots (the cores); the others wait for one, and every claim is stored. The wait is long here:
// under -race on a loaded machine the 24 decodes took longer than the 20 s a claim waits in
// service, and claims were told to retry (CI failed on that).
func TestClaimPhotoDecodesAreBounded(t *testing.T) {
	defer bank.SetPhotoWait(10 * time.Minute)()
	img := image.NewRGBA(image.Rect(0, 0, 1200, 900))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	pic := base64.StdEncoding.EncodeToString(b.Bytes())
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		res := f.env.API(demo.PhoneResident)
		const claims = 12
		var wg sync.WaitGroup
		status := make([]int, claims)
		for i := range claims {
			wg.Go(func() {
				status[i], _ = res.JSON("POST", "/api/v1/bank/claims", map[string]any{"rule_code": "clean", "description": fmt.Sprintf("打扫村道 %d", i),
					"happened_on": yesterday(), "photos": []string{pic, pic}, "confirm_duplicate": true}, nil)
			})
		}
		wg.Wait()
		for i, st := range status {
			if st != 201 {
				t.Errorf("claim %d: %d", i, st)
			}
		}
		if peak := bank.PhotoPeak(); peak < 1 || peak > int64(bank.PhotoSlots()) {
			t.Errorf("%d photos decoded at once, with %d slots", peak, bank.PhotoSlots())
		}
		if n := f.count(t, "bank_claim_photos"); n != 2*claims {
			t.Errorf("%d photos stored, want %d", n, 2*claims)
		}
	})
}
