// Package people is the registry: towns, villages, households (户) and residents (居民), with the
// rules for 身份证号 and phones, member classes for the bank, and moves that keep their history.
package people

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/errs"
)

// Town is a 镇: it has villages, a code used in card numbers, and a time zone whose calendar sets
// days, weeks and months for caps, rankings and figures.
type Town struct {
	ID        int64
	Code      string
	Name      string
	TimeZone  string
	CreatedAt time.Time
}

// Location is the town's time zone, clock.DefaultZone when unset or unknown.
func (t Town) Location() *time.Location { return clock.Zone(t.TimeZone) }

// Clock is the town's calendar read from now (a service's Now): what day and month it is in the
// town. Every question about the town's today goes through it.
func (t Town) Clock(now func() time.Time) clock.Clock { return clock.In(t.Location(), now) }

// Today is the town's calendar day at the moment now, as a UTC midnight date: Clock for a caller
// that holds a moment rather than a clock.
func (t Town) Today(now time.Time) time.Time { return clock.Date(now.In(t.Location())) }

// Village is a 村 of a town.
type Village struct {
	ID        int64
	TownID    int64
	Code      string
	Name      string
	Active    bool
	Residents int
	CreatedAt time.Time
}

// Household is a 户: a 户号 unique in its village, an address and a head.
type Household struct {
	ID             int64
	VillageID      int64
	VillageName    string
	Number         string
	Address        string
	HeadResidentID int64
	HeadName       string
	Members        int
	CreatedAt      time.Time
}

// Gender is M or F, as on the ID card.
type Gender string

// The genders.
const (
	Male   Gender = "M"
	Female Gender = "F"
)

// Status is a resident's standing in the register: 在册, 迁出 or 死亡.
type Status string

// The statuses.
const (
	Active   Status = "active"
	MovedOut Status = "moved_out"
	Deceased Status = "deceased"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == Active || s == MovedOut || s == Deceased }

// CareTag marks a resident the care team and volunteers look after (特殊群体).
type CareTag string

// The care tags, with their Chinese names in the catalog under "care.<tag>".
const (
	Elderly    CareTag = "elderly"     // 高龄
	LivesAlone CareTag = "alone"       // 独居
	Childless  CareTag = "childless"   // 孤寡
	Disabled   CareTag = "disabled"    // 残疾
	LowIncome  CareTag = "dibao"       // 低保
	LeftBehind CareTag = "left_behind" // 留守儿童
)

// CareTags lists every care tag in display order.
var CareTags = []CareTag{Elderly, LivesAlone, Childless, Disabled, LowIncome, LeftBehind}

// careTagNames are the Chinese names used in spreadsheets.
var careTagNames = map[string]CareTag{"高龄": Elderly, "独居": LivesAlone, "孤寡": Childless, "残疾": Disabled, "低保": LowIncome, "留守儿童": LeftBehind}

// MemberClass is the bank's class for a resident: its rules differ for each.
type MemberClass string

// The member classes.
const (
	PartyMember MemberClass = "party"    // 党员
	Villager    MemberClass = "villager" // 村民
	Minor       MemberClass = "minor"    // 未成年人
)

// Relations are the accepted values of 与户主关系.
var Relations = []string{"户主", "配偶", "子", "女", "儿子", "女儿", "父亲", "母亲", "孙子", "孙女", "外孙子", "外孙女", "儿媳", "女婿", "兄弟姐妹", "祖父母", "外祖父母", "其他"}

// Resident is a person in the register. IDNumber is empty unless the viewer may see it; IDMasked
// is always set. BirthDate is always set, for the age and the member class that the pillars
// derive from it, but only a viewer with BirthShown may be shown it: the date is the eight digits
// that a masked ID number hides.
type Resident struct {
	ID              int64
	TownID          int64
	VillageID       int64
	VillageName     string
	HouseholdID     int64
	HouseholdNumber string
	Name            string
	Gender          Gender
	BirthDate       time.Time
	IDNumber        string
	IDMasked        string
	Phone           string
	Relation        string
	PartyMember     bool
	CareTags        []CareTag
	Status          Status
	StatusDate      string
	RegisteredOn    string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// BirthShown is set by the reads of the registry when the viewer may see the birth date: staff
	// who may see the ID number (resident.view_id) and the resident themself, not staff acting for
	// them. Pages, the API and exports show everyone else the age in years.
	BirthShown bool
}

// Age is the resident's age in whole years on a day.
func (r Resident) Age(today time.Time) int {
	age := today.Year() - r.BirthDate.Year()
	b := r.BirthDate
	if today.Month() < b.Month() || (today.Month() == b.Month() && today.Day() < b.Day()) {
		age--
	}
	return age
}

// Class derives the member class: under 18 is a minor; otherwise party members are 党员.
func (r Resident) Class(today time.Time) MemberClass {
	if r.Age(today) < 18 {
		return Minor
	}
	if r.PartyMember {
		return PartyMember
	}
	return Villager
}

// MaskedPhone is the phone as lists show it.
func (r Resident) MaskedPhone() string { return MaskPhone(r.Phone) }

// ResidentInput creates or edits a resident. VillageID and HouseholdNumber place a new resident;
// a household that does not exist yet in the village is created.
type ResidentInput struct {
	VillageID        int64    `json:"village_id"`
	HouseholdNumber  string   `json:"household_number"`
	HouseholdAddress string   `json:"household_address"`
	Name             string   `json:"name"`
	Gender           Gender   `json:"gender"`
	BirthDate        string   `json:"birth_date"`
	IDNumber         string   `json:"id_number"`
	Phone            string   `json:"phone"`
	Relation         string   `json:"relation"`
	PartyMember      bool     `json:"party_member"`
	CareTags         []string `json:"care_tags"`
}

// normalize trims every text field.
func (in *ResidentInput) normalize() {
	in.HouseholdNumber = strings.TrimSpace(in.HouseholdNumber)
	in.HouseholdAddress = strings.TrimSpace(in.HouseholdAddress)
	in.Name = strings.TrimSpace(in.Name)
	in.BirthDate = strings.TrimSpace(in.BirthDate)
	in.IDNumber = strings.ToUpper(strings.TrimSpace(in.IDNumber))
	in.Phone = strings.TrimSpace(in.Phone)
	in.Relation = strings.TrimSpace(in.Relation)
}

// Validate checks every field against the others and the town's calendar day; placement (village
// and household) is checked by the caller when it applies.
func (in *ResidentInput) Validate(today time.Time) (IDNumber, errs.Fields) {
	in.normalize()
	var f errs.Fields
	validName(&f, "name", in.Name)
	if in.Gender != Male && in.Gender != Female {
		f.Add("gender", "people.gender_invalid")
	}
	birth, err := time.Parse(clock.DayLayout, in.BirthDate)
	switch {
	case in.BirthDate == "":
		f.Add("birth_date", "field.required")
	case err != nil:
		f.Add("birth_date", "people.birth_invalid")
	case birth.After(clock.Date(today)):
		f.Add("birth_date", "people.birth_future")
	}
	id, key := ParseIDNumber(in.IDNumber, today)
	switch {
	case in.IDNumber == "":
		f.Add("id_number", "field.required")
	case key != "":
		f.Add("id_number", key)
	case !f.Has("birth_date") && !id.Birth.Equal(birth):
		f.Add("id_number", "people.id_birth_mismatch")
	case !f.Has("gender") && id.Gender != in.Gender:
		f.Add("id_number", "people.id_gender_mismatch")
	}
	if in.Phone != "" && !auth.ValidPhone(in.Phone) {
		f.Add("phone", "field.phone_invalid")
	}
	if in.Relation != "" && !slices.Contains(Relations, in.Relation) {
		f.Add("relation", "people.relation_invalid")
	}
	for _, t := range in.CareTags {
		if !slices.Contains(CareTags, CareTag(t)) {
			f.Add("care_tags", "people.care_tag_invalid")
			break
		}
		if CareTag(t) == LeftBehind && err == nil && (Resident{BirthDate: birth}).Age(clock.Date(today)) >= 18 {
			f.Add("care_tags", "people.left_behind_adult")
		}
	}
	return id, f
}

// validName checks a person's or place's name: present, at most 30 characters, printable.
func validName(f *errs.Fields, field, s string) {
	switch {
	case s == "":
		f.Add(field, "field.required")
	case utf8.RuneCountInString(s) > 30:
		f.Add(field, "field.too_long")
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		f.Add(field, "field.unprintable")
	}
}

// VillageInput creates or renames a village.
type VillageInput struct {
	Name string `json:"name"`
	Code string `json:"code"`
}

// HouseholdInput creates or edits a household.
type HouseholdInput struct {
	VillageID      int64  `json:"village_id"`
	Number         string `json:"number"`
	Address        string `json:"address"`
	HeadResidentID int64  `json:"head_resident_id"`
}

// MoveInput moves a resident to another household, in the same village or another.
type MoveInput struct {
	VillageID       int64  `json:"village_id"`
	HouseholdNumber string `json:"household_number"`
	Reason          string `json:"reason"`
}

// Residence is one stay in the resident's history.
type Residence struct {
	VillageName     string
	HouseholdNumber string
	From            time.Time
	To              time.Time
	Reason          string
}

func encodeTags(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	s := slices.Clone(tags)
	slices.Sort(s)
	return "," + strings.Join(slices.Compact(s), ",") + ","
}

func decodeTags(s string) []CareTag {
	var out []CareTag
	for _, p := range strings.Split(strings.Trim(s, ","), ",") {
		if p != "" {
			out = append(out, CareTag(p))
		}
	}
	return out
}
