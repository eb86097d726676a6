package main

import (
	"archive/zip"
	"bytes"
	"image/png"
	"testing"
)

// TestAttackBombs checks that the bench's bombs are what it says they are: small on the wire,
// huge once decoded, and well-formed enough to get past the first checks of their readers.
func TestAttackBombs(t *testing.T) {
	b, err := pngBomb(6000, 6600)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the photo bomb is not a PNG: %v", err)
	}
	if cfg.Width != 6000 || cfg.Height != 6600 || len(b) > 512<<10 {
		t.Errorf("photo bomb: %d × %d in %d bytes, want 6000 × 6600 in under 512 KiB", cfg.Width, cfg.Height, len(b))
	}
	x, err := xlsxBomb(250 << 20)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(x), int64(len(x)))
	if err != nil {
		t.Fatalf("the spreadsheet bomb is not a zip: %v", err)
	}
	var inflated uint64
	for _, f := range zr.File {
		inflated += f.UncompressedSize64
	}
	if inflated < 250<<20 || len(x) > 512<<10 {
		t.Errorf("spreadsheet bomb: %d bytes inflating to %d, want under 512 KiB inflating to 250 MiB or more", len(x), inflated)
	}
}
