package web

import (
	"strconv"
	"strings"
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
