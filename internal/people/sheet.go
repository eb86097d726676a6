package people

// Reading an imported register sheet (居民花名册): its headers, its rows, and the checks of each
// row on its own and against the others in the file.

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/errs"
)

// The sheet's headers.
const (
	colName      = "姓名"
	colGender    = "性别"
	colID        = "身份证号"
	colPhone     = "手机号"
	colVillage   = "村"
	colHousehold = "户号"
	colAddress   = "住址"
	colRelation  = "与户主关系"
	colParty     = "政治面貌"
	colCare      = "特殊群体"
	colBirth     = "出生日期"
	colStatus    = "状态"
	colErrors    = "错误"
)

// ImportHeaders are the columns an import reads, in the template's order; the order in a file may
// differ and other columns are ignored.
var ImportHeaders = []string{colName, colGender, colID, colPhone, colVillage, colHousehold, colAddress, colRelation, colParty, colCare}

// ExportHeaders are the columns of an export: the import's, with the birth date and status.
var ExportHeaders = []string{colName, colGender, colID, colBirth, colPhone, colVillage, colHousehold, colAddress, colRelation, colParty, colCare, colStatus}

// requiredHeaders must be present in an imported sheet.
var requiredHeaders = []string{colName, colGender, colID, colVillage, colHousehold}

// fieldColumns names the column of each field that ResidentInput.Validate reports.
var fieldColumns = map[string]string{"name": colName, "gender": colGender, "birth_date": colID, "id_number": colID,
	"phone": colPhone, "relation": colRelation, "care_tags": colCare}

// partyValues are the accepted 政治面貌 (GB/T 4762 names and their usual short forms): true for
// members and probationary members of the CPC, false for everyone else.
var partyValues = map[string]bool{
	"中共党员": true, "中共预备党员": true, "中国共产党党员": true, "中国共产党预备党员": true,
	"": false, "群众": false, "共青团员": false, "中国共产主义青年团团员": false, "民主党派": false, "无党派人士": false, "无党派民主人士": false,
	"民革党员": false, "民盟盟员": false, "民建会员": false, "民进会员": false, "农工党党员": false, "致公党党员": false, "九三学社社员": false, "台盟盟员": false,
}

// RowError is one thing wrong in an imported sheet: the row as Excel numbers it (the header is
// row 1), the column's header and a message key.
type RowError struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Key    string `json:"key"`
}

// sheet is the first worksheet of an imported workbook: its header positions and its non-blank
// data rows.
type sheet struct {
	cols map[string]int
	rows []sheetRow
}

type sheetRow struct {
	num   int // as Excel shows it
	cells []string
}

// importRow is a checked row, ready to insert.
type importRow struct {
	num     int
	village Village
	in      ResidentInput
	id      IDNumber
}

// readSheet streams the first worksheet: row 1 is the header, blank rows are skipped.
func readSheet(b []byte) (_ *sheet, err error) {
	defer notWorkbook(&err)
	f, err := OpenWorkbook(b)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	it, err := f.Rows(f.GetSheetList()[0])
	if err != nil {
		return nil, errNotXLSX()
	}
	defer it.Close()
	sh := &sheet{cols: map[string]int{}}
	n := 0
	for it.Next() {
		n++
		cells, err := it.Columns()
		if err != nil {
			return nil, errNotXLSX()
		}
		if n == 1 {
			for i, h := range cells {
				if h = strings.TrimSpace(h); h != "" {
					if _, dup := sh.cols[h]; !dup {
						sh.cols[h] = i
					}
				}
			}
			continue
		}
		if !slices.ContainsFunc(cells, func(c string) bool { return plainCell(c) != "" }) {
			continue
		}
		if len(sh.rows) == MaxImportRows {
			return nil, fileError(errs.TooLarge, "import.too_many_rows", MaxImportRows)
		}
		sh.rows = append(sh.rows, sheetRow{num: n, cells: cells})
	}
	if it.Error() != nil {
		return nil, errNotXLSX()
	}
	if n == 0 {
		return nil, fileError(errs.Invalid, "import.empty")
	}
	var missing []string
	for _, h := range requiredHeaders {
		if _, ok := sh.cols[h]; !ok {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		return nil, fileError(errs.Invalid, "import.missing_headers", strings.Join(missing, "、"))
	}
	if len(sh.rows) == 0 {
		return nil, fileError(errs.Invalid, "import.empty")
	}
	return sh, nil
}

// cell is a row's trimmed value under a header, "" when the column or the cell is absent; see
// plainCell.
func (sh *sheet) cell(r sheetRow, header string) string {
	i, ok := sh.cols[header]
	if !ok || i >= len(r.cells) {
		return ""
	}
	return plainCell(r.cells[i])
}

// sorted orders errors by row, then by the column's place in the file.
func (sh *sheet) sorted(es []RowError) []RowError {
	slices.SortStableFunc(es, func(x, y RowError) int {
		if x.Row != y.Row {
			return x.Row - y.Row
		}
		return sh.cols[x.Column] - sh.cols[y.Column]
	})
	return es
}

// check validates every row on its own and against the others in the file: fields, village and
// the actor's permission on it, ID numbers and heads of household given twice.
func (sh *sheet) check(a *auth.Actor, today time.Time, villages map[string]Village) ([]importRow, []RowError) {
	var out []importRow
	var bad []RowError
	seen := map[string]bool{}
	type hh struct {
		village int64
		number  string
	}
	heads := map[hh]bool{}
	for _, r := range sh.rows {
		in, vname, es := sh.parse(r)
		add := func(col, key string) { es = append(es, RowError{Row: r.num, Column: col, Key: key}) }
		id, f := in.Validate(today)
		idBad := f.Has("id_number")
		for _, fe := range f {
			switch {
			case fe.Field == "birth_date" && idBad:
				continue // the birth date is read from the ID number: one message is enough
			case fe.Field == "gender" && in.Gender == "":
				continue // parse has said what is wrong with the cell
			}
			add(fieldColumns[fe.Field], fe.Key)
		}
		v, ok := villages[vname]
		switch {
		case vname == "":
			add(colVillage, "field.required")
		case !ok || !v.Active:
			add(colVillage, "people.village_unknown")
		case auth.Can(a, auth.ResidentImport, auth.Scope{TownID: v.TownID, VillageID: v.ID}) != nil:
			add(colVillage, "import.village_not_yours")
		}
		if !idBad && id.Number != "" {
			if seen[id.Number] {
				add(colID, "import.id_duplicate_in_file")
			}
			seen[id.Number] = true
		}
		if in.Relation == "户主" && v.ID != 0 && in.HouseholdNumber != "" {
			k := hh{v.ID, in.HouseholdNumber}
			if heads[k] {
				add(colRelation, "import.head_duplicate")
			}
			heads[k] = true
		}
		if len(es) > 0 {
			bad = append(bad, es...)
			continue
		}
		out = append(out, importRow{num: r.num, village: v, in: in, id: id})
	}
	return out, bad
}

// parse turns a row into a ResidentInput, with the errors of the columns that have no field in it
// (village, household, address, political status, care tags) or that the sheet writes in words.
func (sh *sheet) parse(r sheetRow) (ResidentInput, string, []RowError) {
	var es []RowError
	bad := func(col, key string) { es = append(es, RowError{Row: r.num, Column: col, Key: key}) }
	in := ResidentInput{
		HouseholdNumber:  sh.cell(r, colHousehold),
		HouseholdAddress: sh.cell(r, colAddress),
		Name:             sh.cell(r, colName),
		IDNumber:         strings.ToUpper(sh.cell(r, colID)),
		Phone:            sh.cell(r, colPhone),
		Relation:         sh.cell(r, colRelation),
	}
	switch g := sh.cell(r, colGender); g {
	case "男":
		in.Gender = Male
	case "女":
		in.Gender = Female
	case "":
		bad(colGender, "field.required")
	default:
		bad(colGender, "people.gender_invalid")
	}
	if id := in.IDNumber; len(id) == 18 && digits(id[6:14], 8, 8) {
		in.BirthDate = id[6:10] + "-" + id[10:12] + "-" + id[12:14]
	}
	switch {
	case in.HouseholdNumber == "":
		bad(colHousehold, "field.required")
	case !validHouseholdNumber(in.HouseholdNumber):
		bad(colHousehold, "people.household_number_invalid")
	}
	if utf8.RuneCountInString(in.HouseholdAddress) > 100 {
		bad(colAddress, "field.too_long")
	}
	party, ok := partyValues[sh.cell(r, colParty)]
	if !ok {
		bad(colParty, "import.party_invalid")
	}
	in.PartyMember = party
	for _, name := range strings.FieldsFunc(sh.cell(r, colCare), func(c rune) bool {
		return c == '、' || c == ',' || c == '，' || c == ' ' || c == '\u3000' || c == '\t'
	}) {
		tag, ok := careTagNames[name]
		if !ok {
			bad(colCare, "people.care_tag_invalid")
			continue
		}
		if !slices.Contains(in.CareTags, string(tag)) {
			in.CareTags = append(in.CareTags, string(tag))
		}
	}
	es = slices.Compact(es)
	return in, sh.cell(r, colVillage), es
}
