package web

import (
	"errors"
	"io"
	"net/http"
	"net/url"

	"siwei/internal/errs"
)

// maxFormField bounds one text field of a multipart form.
const maxFormField = 64 << 10

// ReadPhotoForm reads a form that may carry photos in the field named photos, part by part, so that
// each photo is read once into memory, none is larger than maxBytes, and no more than maxPhotos
// photos and 1 MiB of text are read in all: more photos are refused on the field photos before the
// rest is read. A form that is not multipart is read as an ordinary one. Empty file inputs are
// skipped; the service checks what each photo is (bank.ProcessPhoto) before it keeps it.
func ReadPhotoForm(w http.ResponseWriter, r *http.Request, maxPhotos int, maxBytes int64) (url.Values, [][]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, int64(maxPhotos)*maxBytes+1<<20)
	form := url.Values{}
	mr, err := r.MultipartReader()
	if err != nil {
		if err := r.ParseForm(); err != nil {
			return form, nil, photoBodyError(err)
		}
		return r.PostForm, nil, nil
	}
	var photos [][]byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return form, photos, nil
		}
		if err != nil {
			return form, nil, photoBodyError(err)
		}
		name := part.FormName()
		switch {
		case name == "photos":
			b, err := io.ReadAll(io.LimitReader(part, maxBytes+1))
			if err != nil {
				return form, nil, photoBodyError(err)
			}
			if int64(len(b)) > maxBytes {
				return form, nil, errs.Field("photos", "bank.photo_too_large")
			}
			if len(b) > 0 {
				if len(photos) == maxPhotos {
					return form, nil, errs.Field("photos", "field.photos_too_many", maxPhotos)
				}
				photos = append(photos, b)
			}
		case part.FileName() == "" && name != "":
			b, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil {
				return form, nil, photoBodyError(err)
			}
			if len(b) > maxFormField {
				return form, nil, errs.Field(name, "field.too_long")
			}
			form.Add(name, string(b))
		}
	}
}

// photoBodyError is the refusal of a form that could not be read: too large, or broken.
func photoBodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &errs.Error{Code: errs.TooLarge, Key: "error.invalid", Fields: []errs.FieldError{{Field: "photos", Key: "bank.photos_too_large"}}}
	}
	return errs.Field("photos", "bank.photo_invalid")
}
