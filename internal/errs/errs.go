// Package errs is siwei's one error type: a code that maps to an HTTP status, a message key from
// the catalog (never a sentence), and per-field keys for forms. Services return it for every
// decision that refuses a person; anything else is an internal error, logged and never shown.
package errs

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Code classifies a refusal.
type Code string

// The codes, and nothing else; web maps each to one HTTP status.
const (
	Invalid      Code = "invalid"
	NotFound     Code = "not_found"
	Forbidden    Code = "forbidden"
	Unauthorized Code = "unauthorized"
	Conflict     Code = "conflict"
	TooMany      Code = "too_many_requests"
	TooLarge     Code = "too_large"
)

// FieldError names a field and the message key that says what is wrong with it.
type FieldError struct {
	Field string `json:"field"`
	Key   string `json:"key"`
	// Args fill the message's placeholders (for example a row number).
	Args []any `json:"-"`
}

// Error is a refusal with a code and a message key.
type Error struct {
	Code   Code
	Key    string
	Args   []any
	Fields []FieldError
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Key
	for _, f := range e.Fields {
		s += fmt.Sprintf("; %s: %s", f.Field, f.Key)
	}
	return s
}

// New returns an error with a code and a message key.
func New(code Code, key string, args ...any) *Error {
	return &Error{Code: code, Key: key, Args: args}
}

// Field is an Invalid error naming one field and the message key that says what is wrong with it:
// the refusal of a single value.
func Field(field, key string, args ...any) *Error {
	return &Error{Code: Invalid, Key: "error.invalid", Fields: []FieldError{{Field: field, Key: key, Args: args}}}
}

// DuplicateWindow is how far back a request counts as a likely duplicate of one before it.
const DuplicateWindow = 24 * time.Hour

// ConfirmDuplicate is the form field (and JSON member) with which a person goes on with a request
// refused by Duplicate: confirm_duplicate=1.
const ConfirmDuplicate = "confirm_duplicate"

// Duplicate is the Conflict of a request that looks like one made within DuplicateWindow — a
// claim, a need or an award for the same person, of the same kind and day — for the person to
// decide: the message, naming what is already there, sits at the ConfirmDuplicate field, and the
// same request sent again with it set goes on. Every pillar asks the same way.
func Duplicate(key string, args ...any) *Error {
	return &Error{Code: Conflict, Key: key, Args: args, Fields: []FieldError{{Field: ConfirmDuplicate, Key: key, Args: args}}}
}

// IsDuplicate reports whether err is a Duplicate refusal.
func IsDuplicate(err error) bool {
	e, ok := As(err)
	return ok && e.Code == Conflict && len(e.Fields) == 1 && e.Fields[0].Field == ConfirmDuplicate
}

// Fields collects field errors while validating; Err returns nil when there are none.
type Fields []FieldError

// Add records that field is wrong for the reason key.
func (f *Fields) Add(field, key string, args ...any) {
	*f = append(*f, FieldError{Field: field, Key: key, Args: args})
}

// Text checks a line or a paragraph a person typed into field: present when required, at most max
// characters, and printable (a paragraph may hold line breaks and tabs).
func (f *Fields) Text(field, s string, max int, required bool) {
	switch {
	case s == "" && required:
		f.Add(field, "field.required")
	case utf8.RuneCountInString(s) > max:
		f.Add(field, "field.too_long")
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0:
		f.Add(field, "field.unprintable")
	}
}

// Has reports whether field already has an error.
func (f Fields) Has(field string) bool {
	for _, e := range f {
		if e.Field == field {
			return true
		}
	}
	return false
}

// Err is an Invalid error carrying the fields, or nil.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Key: "error.invalid", Fields: f}
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err is an *Error with the code.
func Is(err error, code Code) bool {
	e, ok := As(err)
	return ok && e.Code == code
}
