package people

import (
	"strings"
	"time"

	"siwei/internal/clock"
)

// IDNumber is a checked 身份证号 (GB 11643-1999): 6-digit area, 8-digit birth date, 3-digit
// sequence whose last digit is odd for men, and a check character.
type IDNumber struct {
	Number string
	Birth  time.Time
	Gender Gender
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// IDCheckChar computes the check character for the first 17 digits.
func IDCheckChar(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

// ParseIDNumber checks s and returns the message key of the first thing wrong with it, or "".
// today bounds the birth date; it is the town's calendar day.
func ParseIDNumber(s string, today time.Time) (IDNumber, string) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 18 {
		return IDNumber{}, "people.id_length"
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return IDNumber{}, "people.id_chars"
		}
	}
	if c := s[17]; (c < '0' || c > '9') && c != 'X' {
		return IDNumber{}, "people.id_chars"
	}
	birth, err := time.Parse("20060102", s[6:14])
	if err != nil || birth.Format("20060102") != s[6:14] {
		return IDNumber{}, "people.id_birth_invalid"
	}
	if birth.Year() < 1900 {
		return IDNumber{}, "people.id_birth_invalid"
	}
	if birth.After(clock.Date(today)) {
		return IDNumber{}, "people.id_birth_future"
	}
	if IDCheckChar(s) != s[17] {
		return IDNumber{}, "people.id_checksum"
	}
	g := Female
	if (s[16]-'0')%2 == 1 {
		g = Male
	}
	return IDNumber{Number: s, Birth: birth, Gender: g}, ""
}

// MaskID shows the first 3 and last 4 characters: 110***********123X. It hides the whole birth
// date and most of the area code: with six shown, the eight hidden digits were exactly the birth
// date, which anyone who saw the date beside the mask could put back. Masking a masked number
// gives it back unchanged.
func MaskID(s string) string {
	if len(s) < 10 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + strings.Repeat("*", len(s)-7) + s[len(s)-4:]
}

// MaskPhone shows the first 3 and last 4 digits: 139****0001.
func MaskPhone(s string) string {
	if len(s) != 11 {
		return s
	}
	return s[:3] + "****" + s[7:]
}
