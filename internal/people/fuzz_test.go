package people

// Fuzz targets for what staff type or upload: a resident's fields (身份证号, phone, name, …) and the
// .xlsx importer, read and checked without a database. Seeds are in testdata/fuzz/<target>/.

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// fuzzToday is the town's calendar day in these targets.
var fuzzToday = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// fuzzVillages are the town's villages by name: two active, one closed.
var fuzzVillages = map[string]Village{
	"前疃村": {ID: 1, TownID: 1, Name: "前疃村", Active: true},
	"东堡村": {ID: 2, TownID: 1, Name: "东堡村", Active: true},
	"旧村":  {ID: 3, TownID: 1, Name: "旧村"},
}

// fuzzImporter is 前疃村's village admin: rows for 东堡村 are not theirs.
var fuzzImporter = &auth.Actor{AccountID: 7, TownID: 1, Grants: []auth.Grant{{Role: auth.VillageAdmin, TownID: 1, VillageID: 1}}}

var (
	catalogOnce sync.Once
	catalogKeys map[string]bool
)

// knownKey reports whether the zh-CN catalog has a message for key.
func knownKey(key string) bool {
	catalogOnce.Do(func() {
		cat, err := web.LoadCatalog(Messages)
		if err != nil {
			panic(err)
		}
		catalogKeys = map[string]bool{}
		for _, k := range cat.Keys(web.DefaultLang) {
			catalogKeys[k] = true
		}
	})
	return catalogKeys[key]
}

// phoneRef is the mobile-number rule written out by hand: 11 ASCII digits, 1 then 3–9.
func phoneRef(s string) bool {
	if len(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fuzzID completes 17 digits with their check character.
func fuzzID(first17 string) string { return first17 + string(IDCheckChar(first17)) }

// FuzzResidentInput: Validate names only the fields it knows, with catalog keys; it accepts a
// resident only when every rule holds (the ID number's check character recomputes, its birth date
// and gender agree with the fields, the phone is a mobile number); and validating its own
// normalized output again gives the same answer.
func FuzzResidentInput(f *testing.F) {
	for _, s := range [][7]string{
		{"张三", "M", "1990-01-01", fuzzID("11011219900101123"), "13800138000", "户主", ""},
		{" 李四 ", "F", "2000-02-29", strings.ToLower(fuzzID("11011220000229002")) + " ", "", "女儿", "高龄,low_income"},
		{"王五", "M", "2012-03-04", fuzzID("11011220120304001"), "12800138000", "子", "left_behind"},
		{"赵六", "F", "2008-06-02", fuzzID("11011220080602004"), " 13900000011", "其他", "left_behind"},
		{"", "", "", "", "", "", ""},
		{"a\x00b", "X", "1990-02-30", "11011219900101123Y", "1380013800", "老板", "elderly,elderly"},
		{strings.Repeat("长", 31), "M", "2027-01-01", fuzzID("11011220270101001"), "１３８００１３８０００", "户主", ","},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6])
	}
	f.Fuzz(func(t *testing.T, name, gender, birth, id, phone, relation, care string) {
		in := ResidentInput{Name: name, Gender: Gender(gender), BirthDate: birth, IDNumber: id, Phone: phone, Relation: relation}
		if care != "" {
			in.CareTags = strings.Split(care, ",")
		}
		got, fields := in.Validate(fuzzToday)
		for _, fe := range fields {
			if _, ok := fieldColumns[fe.Field]; !ok {
				t.Fatalf("unknown field %q (%s) for %+v", fe.Field, fe.Key, in)
			}
			if !knownKey(fe.Key) {
				t.Fatalf("field %s: key %q is not in the catalog", fe.Field, fe.Key)
			}
		}
		err := fields.Err()
		if e, ok := errs.As(err); (err == nil) != (len(fields) == 0) || (err != nil && (!ok || e.Code != errs.Invalid || len(e.Fields) != len(fields))) {
			t.Fatalf("fields %v give error %v", fields, err)
		}
		if in.Name != strings.TrimSpace(name) || in.IDNumber != strings.ToUpper(strings.TrimSpace(id)) || in.Phone != strings.TrimSpace(phone) {
			t.Fatalf("not normalized: %+v", in)
		}

		// The same input, already normalized, gets the same answer.
		again := in
		again.CareTags = slices.Clone(in.CareTags)
		if id2, f2 := again.Validate(fuzzToday); id2 != got || !reflect.DeepEqual(f2, fields) {
			t.Fatalf("second Validate of %+v: %+v %v, first %+v %v", in, id2, f2, got, fields)
		}

		if want := in.Phone != "" && !phoneRef(in.Phone); fields.Has("phone") != want {
			t.Fatalf("phone %q: refused %v, want %v", in.Phone, fields.Has("phone"), want)
		}
		if p := in.Phone; p != "" && !fields.Has("phone") && MaskPhone(p) != p[:3]+"****"+p[7:] {
			t.Fatalf("MaskPhone(%q) = %q", p, MaskPhone(p))
		}
		if !fields.Has("id_number") {
			n := got.Number
			if n != in.IDNumber || len(n) != 18 || IDCheckChar(n[:17]) != n[17] {
				t.Fatalf("ID number %q accepted as %q", in.IDNumber, n)
			}
			if !fields.Has("birth_date") && got.Birth.Format("2006-01-02") != in.BirthDate {
				t.Fatalf("ID number %q accepted with birth date %q", n, in.BirthDate)
			}
			if !fields.Has("gender") && got.Gender != in.Gender {
				t.Fatalf("ID number %q accepted with gender %q", n, in.Gender)
			}
		}
		if len(fields) > 0 {
			return
		}
		if in.Name == "" || utf8.RuneCountInString(in.Name) > 30 || strings.IndexFunc(in.Name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			t.Fatalf("accepted name %q", in.Name)
		}
		if in.Relation != "" && !slices.Contains(Relations, in.Relation) {
			t.Fatalf("accepted relation %q", in.Relation)
		}
		minor := (Resident{BirthDate: got.Birth}).Age(fuzzToday) < 18
		for _, tag := range in.CareTags {
			if !slices.Contains(CareTags, CareTag(tag)) || (CareTag(tag) == LeftBehind && !minor) {
				t.Fatalf("accepted care tag %q (minor %v)", tag, minor)
			}
		}
	})
}

// importKeys are the keys readSheet refuses a whole file with.
var importKeys = map[string]errs.Code{"import.empty": errs.Invalid, "import.not_xlsx": errs.Invalid,
	"import.missing_headers": errs.Invalid, "import.too_large": errs.TooLarge, "import.too_many_rows": errs.TooLarge,
	"import.unzip_too_large": errs.TooLarge}

// checkRefusal fails unless err is one of readSheet's whole-file refusals.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || importKeys[e.Key] != e.Code || !knownKey(e.Key) {
		t.Fatalf("readSheet refused with %#v", err)
	}
}

// checkSheet asserts what any sheet readSheet accepted and its check must satisfy, and returns the
// check's outcome.
func checkSheet(t *testing.T, sh *sheet) ([]importRow, []RowError) {
	t.Helper()
	for _, h := range requiredHeaders {
		if _, ok := sh.cols[h]; !ok {
			t.Fatalf("accepted a sheet without %s: %v", h, sh.cols)
		}
	}
	if len(sh.rows) == 0 {
		t.Fatal("accepted a sheet without rows")
	}
	nums := map[int]bool{}
	for i, r := range sh.rows {
		if r.num < 2 || (i > 0 && r.num <= sh.rows[i-1].num) {
			t.Fatalf("row numbers %d after %v", r.num, sh.rows[:i])
		}
		if !slices.ContainsFunc(r.cells, func(c string) bool { return strings.TrimSpace(c) != "" }) {
			t.Fatalf("blank row %d kept", r.num)
		}
		nums[r.num] = true
	}

	rows, bad := sh.check(fuzzImporter, fuzzToday, fuzzVillages)
	bad = sh.sorted(bad)
	badRows := map[int]bool{}
	seen := map[RowError]bool{}
	for i, e := range bad {
		if !nums[e.Row] || !slices.Contains(ImportHeaders, e.Column) || !knownKey(e.Key) {
			t.Fatalf("row error %+v names no row, column or message of the sheet", e)
		}
		if seen[e] {
			t.Fatalf("row error %+v given twice: %v", e, bad)
		}
		if i > 0 && e.Row < bad[i-1].Row {
			t.Fatalf("row errors out of order: %v", bad)
		}
		seen[e] = true
		badRows[e.Row] = true
	}
	if len(rows)+len(badRows) != len(sh.rows) {
		t.Fatalf("%d rows: %d accepted, %d refused", len(sh.rows), len(rows), len(badRows))
	}
	ids := map[string]bool{}
	type hh struct {
		village int64
		number  string
	}
	heads := map[hh]bool{}
	for _, r := range rows {
		if badRows[r.num] || !nums[r.num] {
			t.Fatalf("row %d both accepted and refused", r.num)
		}
		cells := sh.rows[slices.IndexFunc(sh.rows, func(x sheetRow) bool { return x.num == r.num })]
		if v, ok := fuzzVillages[sh.cell(cells, colVillage)]; !ok || v != r.village || !v.Active ||
			auth.Can(fuzzImporter, auth.ResidentImport, auth.Scope{TownID: v.TownID, VillageID: v.ID}) != nil {
			t.Fatalf("row %d accepted into village %+v", r.num, r.village)
		}
		in := r.in
		in.CareTags = slices.Clone(r.in.CareTags)
		if id, f := in.Validate(fuzzToday); len(f) > 0 || id != r.id {
			t.Fatalf("row %d accepted with %+v: %v", r.num, r.in, f)
		}
		if n := r.id.Number; n != strings.ToUpper(sh.cell(cells, colID)) || IDCheckChar(n[:17]) != n[17] || ids[n] {
			t.Fatalf("row %d accepted with ID number %q", r.num, n)
		}
		ids[r.id.Number] = true
		if g := map[Gender]string{Male: "男", Female: "女"}[r.in.Gender]; g != sh.cell(cells, colGender) {
			t.Fatalf("row %d: gender %q from %q", r.num, r.in.Gender, sh.cell(cells, colGender))
		}
		if r.in.PartyMember != partyValues[sh.cell(cells, colParty)] || !validHouseholdNumber(r.in.HouseholdNumber) {
			t.Fatalf("row %d accepted as %+v", r.num, r.in)
		}
		if r.in.Relation == "户主" {
			k := hh{r.village.ID, r.in.HouseholdNumber}
			if heads[k] {
				t.Fatalf("second head of household %v accepted on row %d", k, r.num)
			}
			heads[k] = true
		}
	}
	return rows, bad
}

// rowCells spells an accepted row as the export writes it (ExportHeaders), for a round trip.
func rowCells(r importRow) []string {
	gender := map[Gender]string{Male: "男", Female: "女"}[r.in.Gender]
	party := "群众"
	if r.in.PartyMember {
		party = "中共党员"
	}
	var care []string
	for _, tag := range r.in.CareTags {
		care = append(care, careTagName(CareTag(tag)))
	}
	byHeader := map[string]string{colName: r.in.Name, colGender: gender, colID: r.id.Number, colBirth: r.in.BirthDate,
		colPhone: r.in.Phone, colVillage: r.village.Name, colHousehold: r.in.HouseholdNumber, colAddress: r.in.HouseholdAddress,
		colRelation: r.in.Relation, colParty: party, colCare: strings.Join(care, "、"), colStatus: statusNames[Active]}
	out := make([]string, len(ExportHeaders))
	for i, h := range ExportHeaders {
		out[i] = byHeader[h]
	}
	return out
}

// fuzzWorkbook writes a residents workbook, failing the test if it cannot.
func fuzzWorkbook(t *testing.T, header []string, rows [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteResidentsXLSX(&buf, header, rows); err != nil {
		t.Fatalf("write workbook: %v", err)
	}
	return buf.Bytes()
}

// rowValid is the import's rules for one row of the fuzz town, written out again as an oracle:
// cell gives the row's trimmed value under a header.
func rowValid(cell func(header string) string) bool {
	name := cell(colName)
	if name == "" || utf8.RuneCountInString(name) > 30 || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return false
	}
	gender := map[string]Gender{"男": Male, "女": Female}[cell(colGender)]
	id, key := ParseIDNumber(cell(colID), fuzzToday)
	if gender == "" || key != "" || id.Gender != gender {
		return false
	}
	if p := cell(colPhone); p != "" && !phoneRef(p) {
		return false
	}
	if v, ok := fuzzVillages[cell(colVillage)]; !ok || !v.Active || v.ID != 1 {
		return false
	}
	hn := cell(colHousehold)
	if hn == "" || len(hn) > 20 || strings.Trim(hn, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") != "" {
		return false
	}
	if utf8.RuneCountInString(cell(colAddress)) > 100 {
		return false
	}
	if r := cell(colRelation); r != "" && !slices.Contains(Relations, r) {
		return false
	}
	if _, ok := partyValues[cell(colParty)]; !ok {
		return false
	}
	minor := (Resident{BirthDate: id.Birth}).Age(fuzzToday) < 18
	for _, name := range strings.FieldsFunc(cell(colCare), func(r rune) bool { return strings.ContainsRune("、,， \u3000\t", r) }) {
		if tag, ok := careTagNames[name]; !ok || (tag == LeftBehind && !minor) {
			return false
		}
	}
	return true
}

// FuzzImportRow: a row of any text, written into a workbook, is read back and checked; it is
// accepted exactly when the register's rules (rowValid) hold, else refused with errors that name
// its row and column. An accepted row, exported and imported again, gives the same resident;
// given twice, the second copy is refused as a duplicate ID number.
func FuzzImportRow(f *testing.F) {
	id := fuzzID("11011219900101123")
	for _, s := range [][10]string{
		{"张三", "男", id, "13800138000", "前疃村", "001", "前疃村一街1号", "户主", "群众", ""},
		{" 李四 ", "女", strings.ToLower(fuzzID("11011220000229002")), "", "前疃村", "A-2", "", "女儿", "中共预备党员", "高龄、低保，低保"},
		{"王五", "男", fuzzID("11011220120304001"), "", "前疃村", "3", "", "子", "", "留守儿童"},
		{"赵六", "男", id, "13800138000", "东堡村", "001", "", "户主", "群众", ""},
		{"钱七", "女", id, "1380013800", "旧村", "00 1", strings.Repeat("址", 101), "老板", "党员", "富裕"},
		{"", "", "", "", "", "", "", "", "", ""},
		{" ", "\t", "", "", "", "", "", "", "", "\u3000"},
		{"a\x01b", "男", "11011219900101123Y", "+8613800138000", "前疃村", "001", "\x00", "户主", "群众", "独居 孤寡"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], false)
	}
	f.Add("张三", "男", id, "", "前疃村", "001", "", "户主", "群众", "", true)
	f.Fuzz(func(t *testing.T, name, gender, idNumber, phone, village, household, address, relation, party, care string, twice bool) {
		row := []string{name, gender, idNumber, phone, village, household, address, relation, party, care}
		rows := [][]string{row}
		if twice {
			rows = append(rows, row)
		}
		sh, err := readSheet(fuzzWorkbook(t, ImportHeaders, rows))
		if blank := !slices.ContainsFunc(row, func(c string) bool { return strings.TrimSpace(c) != "" }); blank || err != nil {
			if e, ok := errs.As(err); !blank || !ok || e.Key != "import.empty" {
				t.Fatalf("row %q (blank %v): %v", row, blank, err)
			}
			return
		}
		accepted, bad := checkSheet(t, sh)
		if want := rowValid(func(h string) string { return sh.cell(sh.rows[0], h) }); want != (len(accepted) > 0) {
			t.Fatalf("row %q: accepted %v, want %v (errors %v)", row, len(accepted) > 0, want, bad)
		}
		if len(accepted) == 0 {
			if len(bad) == 0 || bad[0].Row != 2 {
				t.Fatalf("row %q refused with %v", row, bad)
			}
			return
		}
		first := accepted[0]
		if first.num != 2 {
			t.Fatalf("accepted row %d", first.num)
		}
		if twice {
			if len(accepted) != 1 || !slices.Contains(bad, RowError{Row: 3, Column: colID, Key: "import.id_duplicate_in_file"}) {
				t.Fatalf("the same row twice: accepted %d, errors %v", len(accepted), bad)
			}
		}

		// Export and import again: the same resident.
		sh2, err := readSheet(fuzzWorkbook(t, ExportHeaders, [][]string{rowCells(first)}))
		if err != nil {
			t.Fatalf("re-import of %q: %v", rowCells(first), err)
		}
		again, bad2 := checkSheet(t, sh2)
		if len(bad2) > 0 || len(again) != 1 || !reflect.DeepEqual(again[0], first) {
			t.Fatalf("row %q imported as %+v, exported as %q and imported as %+v (%v)", row, first, rowCells(first), again, bad2)
		}
	})
}

// FuzzReadSheet: any bytes are either refused whole with one of the importer's keys, or read as a
// sheet whose rows check with errors naming their row and column; the error workbook made from
// those errors is refused as import.not_xlsx or reads back to the same rows and the same outcome.
func FuzzReadSheet(f *testing.F) {
	tmpl, err := ImportTemplate()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tmpl)
	var buf bytes.Buffer
	if err := WriteResidentsXLSX(&buf, ImportHeaders, [][]string{
		{"张三", "男", fuzzID("11011219900101123"), "13800138000", "前疃村", "001", "", "户主", "群众", ""},
		{"李四", "女", fuzzID("11011219900101124"), "", "东堡村", "001", "", "妻子", "党员", "高龄"},
	}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("姓名,性别,身份证号\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sh, err := readSheet(b)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		rows, bad := checkSheet(t, sh)
		out, err := ErrorWorkbook(b, bad, nil)
		if e, ok := errs.As(err); err != nil && (!ok || e.Key != "import.not_xlsx") {
			t.Fatalf("error workbook of a sheet that reads: %v", err)
		}
		if err != nil {
			return // a file excelize reads but cannot edit (testdata: styles_unreadable_newstyle_panic, worksheet_root_misspelt_edit_error)
		}
		sh2, err := readSheet(out)
		if err != nil {
			t.Fatalf("error workbook does not read: %v", err)
		}
		if len(sh2.rows) != len(sh.rows) {
			t.Fatalf("error workbook has %d rows, the file %d", len(sh2.rows), len(sh.rows))
		}
		rows2, bad2 := checkSheet(t, sh2)
		if !reflect.DeepEqual(rows2, rows) || !reflect.DeepEqual(bad2, bad) {
			t.Fatalf("error workbook checks as %v %v, the file as %v %v", rows2, bad2, rows, bad)
		}
	})
}
