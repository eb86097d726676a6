package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"siwei/internal/errs"
)

// FormID reads a positive id from a form or query value; anything else (empty, malformed,
// negative) is 0, which no record has, so a lookup of it answers not found.
func FormID(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// FormInt reads a whole number from a form value; anything that is not one is 0. Callers that
// must tell 0 from a mistake validate the field instead.
func FormInt(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}

// Form is the posted form. A body that cannot be read is refused as a whole: the refusal is sent
// and ok is false, so a handler returns at once.
func (a *App) Form(w http.ResponseWriter, r *http.Request) (form url.Values, ok bool) {
	if err := r.ParseForm(); err != nil {
		a.Error(w, r, errs.New(errs.Invalid, "error.invalid"))
		return nil, false
	}
	return r.PostForm, true
}
