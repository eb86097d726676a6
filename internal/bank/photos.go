package bank

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// The limits on a claim's photos (证明照片).
const (
	MaxPhotos      = 3
	MaxPhotoBytes  = 5 << 20
	MaxPhotoPixels = 40_000_000 // refused before decoding, so a small file cannot claim gigabytes
	// MaxPhotoMemory bounds what one decode may hold, reckoned from the header before decoding:
	// a 40 MP phone photo (JPEG, 4:2:0) needs about 60 MiB, but a 16-bit PNG of the same pixels
	// 8 bytes a pixel, and a progressive JPEG keeps every coefficient (4 bytes a sample) as well.
	MaxPhotoMemory = 128 << 20
	MaxPhotoSide   = 1600
	photoQuality   = 85
)

// photoWait is how long a claim waits for a decoding slot before it is told to retry: 20 s, and
// longer in a test that sends more photos at once than a loaded machine decodes in that time.
var photoWait = func() *atomic.Int64 { var d atomic.Int64; d.Store(int64(20 * time.Second)); return &d }()

// photoSlots bounds the photos decoded at once to the cores: decoding is CPU-bound, so more at
// once would not finish sooner, and each may hold up to MaxPhotoMemory.
var photoSlots = make(chan struct{}, max(1, runtime.NumCPU()))

// photoDecodes counts full decodes, so that a test can tell a photo refused from its header
// from one that was decoded; photoBusy counts those in flight and photoPeak the most at once.
var photoDecodes, photoBusy, photoPeak atomic.Int64

// photo is an uploaded photo whose header has been read and found within the limits.
type photo struct {
	data   []byte
	decode func([]byte) (image.Image, error)
}

// inspectPhoto makes the cheap checks of an uploaded photo, none of which decodes pixels: its
// size, its type by content (JPEG or PNG only), its dimensions from the header, and the memory
// its decoding would take. The error is an *errs.Error with key bank.photo_invalid,
// bank.photo_too_large, bank.photo_dimensions or bank.photo_memory.
func inspectPhoto(b []byte) (photo, error) {
	if len(b) > MaxPhotoBytes {
		return photo{}, errs.New(errs.TooLarge, "bank.photo_too_large")
	}
	invalid := errs.New(errs.Invalid, "bank.photo_invalid")
	var cfg image.Config
	var need int64 // bytes the decoder holds for each pixel, in sixteenths
	var err error
	p := photo{data: b}
	switch http.DetectContentType(b) {
	case "image/jpeg":
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
		p.decode = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
		if err == nil {
			need = jpegNeed(b, cfg)
		}
	case "image/png":
		cfg, err = png.DecodeConfig(bytes.NewReader(b))
		p.decode = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
		if err == nil {
			need = 16 * pngNeed(cfg.ColorModel)
			if len(b) > 28 && b[28] == 1 {
				need *= 2 // interlaced (Adam7): each pass is decoded on its own before they are merged
			}
		}
	default:
		return photo{}, invalid
	}
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return photo{}, invalid
	}
	px := int64(cfg.Width) * int64(cfg.Height)
	if px > MaxPhotoPixels {
		return photo{}, errs.New(errs.TooLarge, "bank.photo_dimensions")
	}
	if px*need/16 > MaxPhotoMemory {
		return photo{}, errs.New(errs.TooLarge, "bank.photo_memory")
	}
	return p, nil
}

// pngNeed is the bytes a pixel takes in the image png.Decode returns for a colour model.
func pngNeed(m color.Model) int64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.RGBAModel, color.NRGBAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8 // the widest: an unknown model is not taken to be cheap
}

// jpegNeed is the bytes a pixel takes while jpeg.Decode runs, in sixteenths of a byte: one per
// sample of each component at its sampling (4:2:0 chroma is a quarter plane each), four more
// per sample for the coefficients a progressive JPEG keeps, and four for the converted image of
// a four-component (CMYK) one. The frame header is read for the sampling; should it not be
// found, every component is taken at full resolution.
func jpegNeed(b []byte, cfg image.Config) int64 {
	comps, progressive, sampling := jpegFrame(b)
	if comps == 0 {
		comps = 3
		if cfg.ColorModel == color.GrayModel {
			comps = 1
		} else if cfg.ColorModel == color.CMYKModel {
			comps = 4
		}
		sampling = nil
	}
	var hmax, vmax int64 = 1, 1
	for _, s := range sampling {
		hmax, vmax = max(hmax, int64(s>>4)), max(vmax, int64(s&15))
	}
	var planes int64 // sixteenths of a pixel, summed over the components
	for i := range comps {
		if i < len(sampling) && sampling[i]>>4 > 0 && sampling[i]&15 > 0 {
			planes += 16 * int64(sampling[i]>>4) * int64(sampling[i]&15) / (hmax * vmax)
		} else {
			planes += 16
		}
	}
	need := planes
	if progressive {
		need += 4 * planes
	}
	if comps == 4 {
		need += 4 * 16
	}
	return need + 2 // and a margin for the blocks' rounding and the decoder's buffers
}

// jpegFrame reads a JPEG's frame header (SOF): the number of components, whether it is
// progressive, and each component's sampling factors (H<<4 | V). comps is 0 when no frame
// header is found before the image data.
func jpegFrame(b []byte) (comps int, progressive bool, sampling []byte) {
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return 0, false, nil
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF:
			i++
			continue
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			i += 2
			continue
		case marker == 0xDA || marker == 0xD9:
			return 0, false, nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 0, false, nil
		}
		seg := b[i+4 : i+2+n]
		// SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
		if marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
			if len(seg) < 6 {
				return 0, false, nil
			}
			comps = int(seg[5])
			if len(seg) < 6+3*comps {
				return 0, false, nil
			}
			for c := range comps {
				sampling = append(sampling, seg[6+3*c+1])
			}
			return comps, marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE, sampling
		}
		i += 2 + n
	}
	return 0, false, nil
}

// ProcessPhoto checks an uploaded photo and returns what is stored: the image re-encoded as JPEG
// with its longest side at most MaxPhotoSide and turned upright. Re-encoding keeps only pixels,
// so EXIF metadata (GPS position, device, time) is dropped. Only JPEG and PNG are accepted, by
// content, not by name; the error is an *errs.Error with a key of inspectPhoto's.
func ProcessPhoto(b []byte) (mime string, w, h int, out []byte, err error) {
	p, err := inspectPhoto(b)
	if err != nil {
		return "", 0, 0, nil, err
	}
	return p.process(context.Background())
}

// process decodes, shrinks and re-encodes an inspected photo, taking a decoding slot for it: a
// claim that cannot have one within photoWait is told to try again.
func (p photo) process(ctx context.Context) (mime string, w, h int, out []byte, err error) {
	wait := time.NewTimer(time.Duration(photoWait.Load()))
	defer wait.Stop()
	select {
	case photoSlots <- struct{}{}:
	case <-wait.C:
		return "", 0, 0, nil, errs.New(errs.TooMany, "bank.photos_busy")
	case <-ctx.Done():
		return "", 0, 0, nil, ctx.Err()
	}
	defer func() { <-photoSlots }()
	photoDecodes.Add(1)
	for n := photoBusy.Add(1); ; {
		if peak := photoPeak.Load(); n <= peak || photoPeak.CompareAndSwap(peak, n) {
			break
		}
	}
	defer photoBusy.Add(-1)
	img, err := p.decode(p.data)
	if err != nil {
		return "", 0, 0, nil, errs.New(errs.Invalid, "bank.photo_invalid")
	}
	sw, sh := img.Bounds().Dx(), img.Bounds().Dy()
	if sw <= 0 || sh <= 0 || int64(sw)*int64(sh) > MaxPhotoPixels {
		return "", 0, 0, nil, errs.New(errs.Invalid, "bank.photo_invalid")
	}
	dw, dh := photoFit(sw, sh, MaxPhotoSide)
	small := photoOrient(photoDownscale(img, dw, dh), photoEXIFOrientation(p.data))
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

// SavePhotos re-encodes each photo uploaded to a pillar's record (ProcessPhoto: JPEG, bounded
// size, no EXIF) and keeps it in the pillar's photo table (owner, owner_id, mime, width, height,
// data, created_at) inside tx: the one way 微协商's and 微联盟's records keep photos. A photo that
// is refused is named on the field photos and, the transaction failing, nothing is kept. table is
// the pillar's own constant, never input.
func SavePhotos(ctx context.Context, tx db.Querier, table, owner string, ownerID int64, raw [][]byte, now time.Time) error {
	for _, b := range raw {
		mime, w, h, out, err := ProcessPhoto(b)
		if err != nil {
			if e, ok := errs.As(err); ok {
				return &errs.Error{Code: e.Code, Key: "error.invalid", Fields: []errs.FieldError{{Field: "photos", Key: e.Key, Args: e.Args}}}
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (owner, owner_id, mime, width, height, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			owner, ownerID, mime, w, h, out, now); err != nil {
			return fmt.Errorf("bank: photo in %s: %w", table, err)
		}
	}
	return nil
}

// PhotoIDs are the ids of a record's photos in a pillar's photo table, in the order they were kept.
func PhotoIDs(ctx context.Context, q db.Querier, table, owner string, ownerID int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM `+table+` WHERE owner = $1 AND owner_id = $2 ORDER BY id`, owner, ownerID)
	if err != nil {
		return nil, fmt.Errorf("bank: photos in %s: %w", table, err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
