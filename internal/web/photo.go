package web

import (
	"context"
	"net/http"
	"strconv"

	"siwei/internal/auth"
)

// PhotoSource finds a kept photo by its id as the actor may see it (NotFound otherwise): a
// pillar's service decides, by the record that owns the photo.
type PhotoSource func(ctx context.Context, a *auth.Actor, id int64) (mime string, data []byte, err error)

// PhotoByID is the handler of a pillar's photo route (/<pillar>/photos/{id}): the photo the
// source gives the caller, or the source's refusal.
func (a *App) PhotoByID(src PhotoSource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := a.PathID(w, r)
		if !ok {
			return
		}
		mime, data, err := src(r.Context(), auth.From(r.Context()), id)
		if err != nil {
			a.Error(w, r, err)
			return
		}
		WritePhoto(w, mime, data)
	}
}

// WritePhoto answers a kept photo. A photo never changes, but who may see it does: it is kept by
// the browser only, for an hour, and never sniffed as anything but its type.
func WritePhoto(w http.ResponseWriter, mime string, data []byte) {
	w.Header().Set("Content-Type", mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(data)
}
