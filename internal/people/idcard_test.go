package people_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"siwei/internal/people"
)

// idToday is the calendar day the ID tests run on: 20 May 2026.
var idToday = time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)

// testID builds a valid-looking 身份证号 for area 110112 (通州区), a birth date "2006-01-02" and a
// 3-digit sequence (odd: male), with its check character computed.
func testID(birth string, seq int) string {
	first17 := fmt.Sprintf("110112%s%03d", strings.ReplaceAll(birth, "-", ""), seq)
	return first17 + string(people.IDCheckChar(first17))
}

// withCheck appends the right check character to 17 digits.
func withCheck(first17 string) string { return first17 + string(people.IDCheckChar(first17)) }

// wrongCheck appends a check character that is not the right one.
func wrongCheck(first17 string) string {
	right := people.IDCheckChar(first17)
	for _, c := range []byte("0123456789X") {
		if c != right {
			return first17 + string(c)
		}
	}
	panic("unreachable")
}

func TestIDCheckCharMatchesStandard(t *testing.T) {
	// The worked examples of GB 11643-1999: the check digit does not come from our own code.
	for first17, want := range map[string]byte{
		"11010519491231002": 'X',
		"44052418800101001": '4',
		"11011219900315007": 'X',
	} {
		if got := people.IDCheckChar(first17); got != want {
			t.Errorf("IDCheckChar(%s) = %c, want %c", first17, got, want)
		}
	}
}

func TestParseIDNumber(t *testing.T) {
	date := func(s string) time.Time {
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ok := []struct {
		name   string
		in     string
		number string
		birth  string
		gender people.Gender
	}{
		{"standard example, check X", "11010519491231002X", "11010519491231002X", "1949-12-31", people.Female},
		{"lower-case x", "11010519491231002x", "11010519491231002X", "1949-12-31", people.Female},
		{"spaces around", "  11010519491231002X\t", "11010519491231002X", "1949-12-31", people.Female},
		{"computed X", withCheck("11011219900315007"), "11011219900315007X", "1990-03-15", people.Male},
		{"male", withCheck("11011220000101001"), withCheck("11011220000101001"), "2000-01-01", people.Male},
		{"female", withCheck("11011220000101002"), withCheck("11011220000101002"), "2000-01-01", people.Female},
		{"leap day", withCheck("11011220000229003"), withCheck("11011220000229003"), "2000-02-29", people.Male},
		{"born today", withCheck("11011220260520004"), withCheck("11011220260520004"), "2026-05-20", people.Female},
		{"born 1900", withCheck("11011219000101005"), withCheck("11011219000101005"), "1900-01-01", people.Male},
	}
	for _, c := range ok {
		t.Run("OK/"+c.name, func(t *testing.T) {
			if !strings.HasSuffix(c.number, "X") && c.name == "computed X" {
				t.Fatalf("fixture %s does not end in X", c.number)
			}
			id, key := people.ParseIDNumber(c.in, idToday)
			if key != "" {
				t.Fatalf("ParseIDNumber(%q) refused with %s", c.in, key)
			}
			want := people.IDNumber{Number: c.number, Birth: date(c.birth), Gender: c.gender}
			if id != want {
				t.Fatalf("ParseIDNumber(%q) = %+v, want %+v", c.in, id, want)
			}
		})
	}

	bad := []struct {
		name string
		in   string
		key  string
	}{
		{"empty", "", "people.id_length"},
		{"17 characters", "11010519491231002", "people.id_length"},
		{"19 characters", "11010519491231002X1", "people.id_length"},
		{"old 15-digit number", "110105491231002", "people.id_length"},
		{"full-width digits", "１１０１０５１９４９１２３１００２Ｘ", "people.id_length"},
		{"letter in the digits", "1101051949123100AX", "people.id_chars"},
		{"X in the digits", "11010519491231X021", "people.id_chars"},
		{"space in the middle", "110105194912 31002X", "people.id_length"},
		{"check char Y", "11010519491231002Y", "people.id_chars"},
		{"wrong check digit", wrongCheck("11010519491231002"), "people.id_checksum"},
		{"digit instead of X", "110105194912310020", "people.id_checksum"},
		{"30 February", withCheck("11011220000230001"), "people.id_birth_invalid"},
		{"29 February of a common year", withCheck("11011220010229001"), "people.id_birth_invalid"},
		{"month 13", withCheck("11011219991301001"), "people.id_birth_invalid"},
		{"day 00", withCheck("11011219990100001"), "people.id_birth_invalid"},
		{"before 1900", "440524188001010014", "people.id_birth_invalid"},
		{"born tomorrow", withCheck("11011220260521001"), "people.id_birth_future"},
		{"born next year", withCheck("11011220270101001"), "people.id_birth_future"},
	}
	for _, c := range bad {
		t.Run("Err/"+c.name, func(t *testing.T) {
			id, key := people.ParseIDNumber(c.in, idToday)
			if key != c.key {
				t.Fatalf("ParseIDNumber(%q) key = %q, want %q", c.in, key, c.key)
			}
			if id != (people.IDNumber{}) {
				t.Fatalf("ParseIDNumber(%q) refused but returned %+v", c.in, id)
			}
		})
	}
}

func TestParseIDNumberTodayIsADate(t *testing.T) {
	// Late in the evening of the day before, a person born "tomorrow" is still in the future; the
	// clock part of today must not matter.
	late := time.Date(2026, 5, 20, 23, 59, 59, 0, time.UTC)
	if _, key := people.ParseIDNumber(withCheck("11011220260520001"), late); key != "" {
		t.Fatalf("born today at 23:59: %s", key)
	}
	if _, key := people.ParseIDNumber(withCheck("11011220260521001"), late); key != "people.id_birth_future" {
		t.Fatalf("born tomorrow at 23:59: key %q", key)
	}
}

func TestParseIDNumberGender(t *testing.T) {
	for d := byte('0'); d <= '9'; d++ {
		first17 := "1101122000010100" + string(d)
		id, key := people.ParseIDNumber(withCheck(first17), idToday)
		if key != "" {
			t.Fatalf("%s: %s", first17, key)
		}
		want := people.Female
		if (d-'0')%2 == 1 {
			want = people.Male
		}
		if id.Gender != want {
			t.Errorf("17th digit %c: gender %s, want %s", d, id.Gender, want)
		}
	}
}

func TestMaskID(t *testing.T) {
	for in, want := range map[string]string{
		"11010519491231002X": "110***********002X",
		"110***********002X": "110***********002X", // masking a masked number changes nothing
		"110105********002X": "110***********002X", // the mask before migration 0013
		"110105491231002":    "110********1002",
		"1234567890":         "123***7890",
		"123456789":          "*********",
		"":                   "",
	} {
		if got := people.MaskID(in); got != want {
			t.Errorf("MaskID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"13912340001":  "139****0001",
		"15800000003":  "158****0003",
		"1234":         "1234",
		"":             "",
		"139123400012": "139123400012",
	} {
		if got := people.MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (people.Resident{Phone: "13912340001"}).MaskedPhone(); got != "139****0001" {
		t.Errorf("MaskedPhone = %q", got)
	}
}

func FuzzParseIDNumber(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "11010519491231002x", " 11010519491231002X ", "110105194912310020",
		withCheck("11011220000229003"), withCheck("11011220000230001"), withCheck("11011220260521001"),
		"", "X", "11010519491231002", "1101051949123100\u00e9X", "ＸＸＸＸＸＸＸＸＸＸＸＸＸＸＸＸＸＸ",
	} {
		f.Add(s)
	}
	keys := map[string]bool{"people.id_length": true, "people.id_chars": true, "people.id_birth_invalid": true,
		"people.id_birth_future": true, "people.id_checksum": true}
	f.Fuzz(func(t *testing.T, s string) {
		id, key := people.ParseIDNumber(s, idToday)
		if key != "" {
			if !keys[key] {
				t.Fatalf("ParseIDNumber(%q): unknown key %q", s, key)
			}
			if id != (people.IDNumber{}) {
				t.Fatalf("ParseIDNumber(%q) refused with %s but returned %+v", s, key, id)
			}
			return
		}
		n := id.Number
		if n != strings.ToUpper(strings.TrimSpace(s)) || len(n) != 18 {
			t.Fatalf("ParseIDNumber(%q) accepted as %q", s, n)
		}
		if people.IDCheckChar(n[:17]) != n[17] {
			t.Fatalf("accepted %q whose check char should be %c", n, people.IDCheckChar(n[:17]))
		}
		if id.Birth.Format("20060102") != n[6:14] || id.Birth.After(idToday) || id.Birth.Year() < 1900 {
			t.Fatalf("accepted %q with birth %v", n, id.Birth)
		}
		if wantMale := (n[16]-'0')%2 == 1; (id.Gender == people.Male) != wantMale || (id.Gender != people.Male && id.Gender != people.Female) {
			t.Fatalf("accepted %q with gender %q", n, id.Gender)
		}
		m := people.MaskID(n)
		if len(m) != 18 || m[:3] != n[:3] || m[14:] != n[14:] || m[3:14] != "***********" {
			t.Fatalf("MaskID(%q) = %q", n, m)
		}
		if again, key := people.ParseIDNumber(n, idToday); key != "" || again != id {
			t.Fatalf("re-parsing %q: %+v %q", n, again, key)
		}
	})
}

func TestResidentAgeAndClass(t *testing.T) {
	d := func(s string) time.Time {
		x, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	cases := []struct {
		name  string
		birth string
		party bool
		today string
		age   int
		class people.MemberClass
	}{
		{"day before 18th birthday", "2008-05-20", false, "2026-05-19", 17, people.Minor},
		{"18th birthday", "2008-05-20", false, "2026-05-20", 18, people.Villager},
		{"day after 18th birthday", "2008-05-20", false, "2026-05-21", 18, people.Villager},
		{"month before 18th birthday", "2008-06-01", false, "2026-05-31", 17, people.Minor},
		{"party member, adult", "1970-01-01", true, "2026-05-20", 56, people.PartyMember},
		{"party member on 18th birthday", "2008-05-20", true, "2026-05-20", 18, people.PartyMember},
		{"party member the day before 18", "2008-05-20", true, "2026-05-19", 17, people.Minor},
		{"newborn", "2026-05-20", false, "2026-05-20", 0, people.Minor},
		{"leap-day birth, 28 Feb of a common year", "2008-02-29", false, "2026-02-28", 17, people.Minor},
		{"leap-day birth, 1 March of a common year", "2008-02-29", false, "2026-03-01", 18, people.Villager},
		{"leap-day birth, 28 Feb of a leap year", "2000-02-29", false, "2024-02-28", 23, people.Villager},
		{"leap-day birth, 29 Feb of a leap year", "2000-02-29", false, "2024-02-29", 24, people.Villager},
		{"31 December birth on 1 January", "2007-12-31", false, "2026-01-01", 18, people.Villager},
		{"1 January birth on 31 December", "2008-01-01", false, "2025-12-31", 17, people.Minor},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := people.Resident{BirthDate: d(c.birth), PartyMember: c.party}
			if got := r.Age(d(c.today)); got != c.age {
				t.Errorf("Age = %d, want %d", got, c.age)
			}
			if got := r.Class(d(c.today)); got != c.class {
				t.Errorf("Class = %s, want %s", got, c.class)
			}
		})
	}
}

func TestTownToday(t *testing.T) {
	// 16:30 UTC on 19 May is already 20 May in Beijing: caps and birthdays follow the town's day.
	now := time.Date(2026, 5, 19, 16, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		tz   string
		want string
	}{{"", "2026-05-20"}, {"Asia/Shanghai", "2026-05-20"}, {"UTC", "2026-05-19"}, {"Nowhere/Atlantis", "2026-05-20"}} {
		got := people.Town{TimeZone: c.tz}.Today(now)
		if got.Format("2006-01-02") != c.want || got.Location() != time.UTC || got.Hour() != 0 {
			t.Errorf("Today in %q = %v, want %s midnight UTC", c.tz, got, c.want)
		}
	}
}
