package bank

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"net/http"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// The limits on a claim's photos (证明照片).
const (
	MaxPhotos      = 3
	MaxPhotoBytes  = 5 << 20
	MaxPhotoPixels = 40_000_000 // refused before decoding, so a small file cannot claim gigabytes
	MaxPhotoSide   = 1600
	photoQuality   = 85
)

// ProcessPhoto checks an uploaded photo and returns what is stored: the image re-encoded as JPEG
// with its longest side at most MaxPhotoSide and turned upright. Re-encoding keeps only pixels,
// so EXIF metadata (GPS position, device, time) is dropped. Only JPEG and PNG are accepted, by
// content, not by name; the error is an *errs.Error with key bank.photo_invalid,
// bank.photo_too_large or bank.photo_dimensions.
func ProcessPhoto(b []byte) (mime string, w, h int, out []byte, err error) {
	if len(b) > MaxPhotoBytes {
		return "", 0, 0, nil, errs.New(errs.TooLarge, "bank.photo_too_large")
	}
	invalid := errs.New(errs.Invalid, "bank.photo_invalid")
	var decodeConfig func([]byte) (image.Config, error)
	var decode func([]byte) (image.Image, error)
	switch http.DetectContentType(b) {
	case "image/jpeg":
		decodeConfig = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
	case "image/png":
		decodeConfig = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	default:
		return "", 0, 0, nil, invalid
	}
	cfg, err := decodeConfig(b)
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return "", 0, 0, nil, invalid
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPhotoPixels {
		return "", 0, 0, nil, errs.New(errs.TooLarge, "bank.photo_dimensions")
	}
	img, err := decode(b)
	if err != nil {
		return "", 0, 0, nil, invalid
	}
	sw, sh := img.Bounds().Dx(), img.Bounds().Dy()
	if sw <= 0 || sh <= 0 || int64(sw)*int64(sh) > MaxPhotoPixels {
		return "", 0, 0, nil, invalid
	}
	dw, dh := photoFit(sw, sh, MaxPhotoSide)
	small := photoOrient(photoDownscale(img, dw, dh), photoEXIFOrientation(b))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, small, &jpeg.Options{Quality: photoQuality}); err != nil {
		return "", 0, 0, nil, err
	}
	return "image/jpeg", small.Rect.Dx(), small.Rect.Dy(), buf.Bytes(), nil
}

// ClaimPhoto returns the n-th photo (from 1) of a claim the actor may see.
func (s *Service) ClaimPhoto(ctx context.Context, a *auth.Actor, claimID int64, n int) (string, []byte, error) {
	c, _, err := s.visibleClaim(ctx, a, claimID)
	if err != nil {
		return "", nil, err
	}
	if n < 1 || n > c.Photos {
		return "", nil, errs.New(errs.NotFound, "error.not_found")
	}
	var mime string
	var data []byte
	err = s.DB.Read().QueryRowContext(ctx, `SELECT mime, data FROM bank_claim_photos WHERE claim_id = $1 ORDER BY id LIMIT 1 OFFSET $2`, claimID, n-1).Scan(&mime, &data)
	if db.IsNoRows(err) {
		return "", nil, errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return "", nil, fmt.Errorf("bank: claim photo: %w", err)
	}
	return mime, data, nil
}

// photoFit scales w×h down so that the longer side is at most side, keeping the aspect ratio.
func photoFit(w, h, side int) (int, int) {
	long := max(w, h)
	if long <= side {
		return w, h
	}
	scale := func(n int) int { return max(1, int((int64(n)*int64(side)+int64(long)/2)/int64(long))) }
	return scale(w), scale(h)
}

// photoDownscale averages src over boxes into a dw×dh image (dw ≤ width, dh ≤ height), reading
// the source a strip of one row at a time, so that memory stays at one strip plus the result
// however large or oddly shaped the source is. Transparent pixels are laid on white, since JPEG
// has no alpha.
func photoDownscale(src image.Image, dw, dh int) *image.RGBA {
	const strip = 2048
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	buf := image.NewRGBA(image.Rect(0, 0, min(sw, strip), 1))
	// Source column x belongs to destination column x·dw/sw; colEnd(c) is the first one past c.
	colEnd := func(c int) int { return int((int64(c+1)*int64(sw) + int64(dw) - 1) / int64(dw)) }
	colN := make([]uint64, dw)
	for c, start := 0, 0; c < dw; c++ {
		colN[c] = uint64(colEnd(c) - start)
		start = colEnd(c)
	}
	sum := make([]uint64, dw*4)
	var rows uint64
	flush := func(dy int) {
		out := dst.Pix[dy*dst.Stride : dy*dst.Stride+dw*4]
		for c := range dw {
			n := colN[c] * rows
			var px [4]uint64
			for k := range 4 {
				px[k] = (sum[c*4+k] + n/2) / n
				sum[c*4+k] = 0
			}
			for k := range 3 {
				out[c*4+k] = uint8(min(255, px[k]+255-px[3]))
			}
			out[c*4+3] = 255
		}
		rows = 0
	}
	cur := 0
	for y := range sh {
		if dy := int(int64(y) * int64(dh) / int64(sh)); dy != cur {
			flush(cur)
			cur = dy
		}
		c, next := 0, colEnd(0)
		for x0 := 0; x0 < sw; x0 += strip {
			n := min(strip, sw-x0)
			draw.Draw(buf, image.Rect(0, 0, n, 1), src, image.Pt(b.Min.X+x0, b.Min.Y+y), draw.Src)
			for i := range n {
				for x0+i >= next {
					c++
					next = colEnd(c)
				}
				p, s := buf.Pix[i*4:i*4+4:i*4+4], sum[c*4:c*4+4:c*4+4]
				s[0] += uint64(p[0])
				s[1] += uint64(p[1])
				s[2] += uint64(p[2])
				s[3] += uint64(p[3])
			}
		}
		rows++
	}
	flush(cur)
	return dst
}

// photoOrient turns an image as its EXIF orientation (1–8) says, since the tag itself is dropped.
func photoOrient(m *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return m
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := range oh {
		for x := range ow {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			copy(out.Pix[y*out.Stride+x*4:y*out.Stride+x*4+4], m.Pix[sy*m.Stride+sx*4:sy*m.Stride+sx*4+4])
		}
	}
	return out
}

// photoEXIFOrientation reads the orientation tag of a JPEG's EXIF block, 1 (upright) when there is
// none or it cannot be read.
func photoEXIFOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return 1
		}
		marker := b[i+1]
		if marker == 0xFF {
			i++ // fill byte
			continue
		}
		if marker == 0xDA || marker == 0xD9 {
			return 1 // image data starts: no EXIF before it
		}
		if marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return photoTIFFOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// photoTIFFOrientation finds tag 0x0112 in the first IFD of a TIFF header.
func photoTIFFOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 1
	}
	n := int64(bo.Uint16(t[off:]))
	for e := off + 2; e+12 <= int64(len(t)) && n > 0; e, n = e+12, n-1 {
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 {
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 1
		}
	}
	return 1
}
