package people

// Excel import and export of the register (居民花名册): town offices exchange lists as .xlsx, so
// residents come in and go out as one sheet with Chinese headers.

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// Import limits: a file larger than MaxImportBytes, or with more data rows than MaxImportRows, is
// refused before any row is checked.
const (
	MaxImportBytes = 10 << 20
	MaxImportRows  = 50_000
	// MaxUnzipBytes bounds what a workbook may inflate to, against zip bombs: 50,000 rows of ten
	// long columns are 38 MiB of sheet XML, and the rest of a workbook is small. The sizes are the
	// ones the zip declares, which archive/zip holds each part to as it inflates it.
	MaxUnzipBytes = 64 << 20
	// maxPartBytes bounds each XML part that excelize parses whole into memory (styles, the
	// workbook, relationships), where a few bytes of XML become hundreds of bytes of structs;
	// maxStringsBytes bounds the shared strings, which it indexes item by item.
	maxPartBytes    = 4 << 20
	maxStringsBytes = 16 << 20
	// maxXMLInMemory is excelize's UnzipXMLSizeLimit: a worksheet or shared strings part larger
	// than this is inflated to a temporary file and read from there as a stream.
	maxXMLInMemory = 4 << 20
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

var statusNames = map[Status]string{Active: "在册", MovedOut: "迁出", Deceased: "死亡"}

// RowError is one thing wrong in an imported sheet: the row as Excel numbers it (the header is
// row 1), the column's header and a message key.
type RowError struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Key    string `json:"key"`
}

// ImportReport is the outcome of an import. When Errors is not empty nothing was stored.
type ImportReport struct {
	Rows     int // data rows read, blank rows not counted
	Imported int
	Errors   []RowError
}

// MaxImportsInFlight is how many imports a server reads at once. Each may hold tens of MiB (the
// upload, its rows, a workbook annotated with its errors), so more wait, and a request that finds
// no slot within importWait is refused as busy rather than queued.
const MaxImportsInFlight = 2

const importWait = time.Second

// BeginImport takes one of the MaxImportsInFlight slots, waiting up to a second, and returns the
// function that gives it back. A server calls it before it reads an upload at all; when every
// slot stays taken it refuses with TooMany (import.busy).
func (s *Service) BeginImport(ctx context.Context) (release func(), err error) {
	s.importsOnce.Do(func() { s.imports = make(chan struct{}, MaxImportsInFlight) })
	t := time.NewTimer(importWait)
	defer t.Stop()
	select {
	case s.imports <- struct{}{}:
		return func() { <-s.imports }, nil
	case <-t.C:
		return nil, fileError(errs.TooMany, "import.busy")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ImportResidents reads an .xlsx sheet of residents and registers them all in one transaction, or
// none. A file that cannot be read at all is refused with an *errs.Error (import.not_xlsx,
// import.too_large, import.too_many_rows, import.missing_headers, import.empty). When any row is
// wrong, nothing is stored: the report lists every problem found and the error is Invalid with
// the key import.rows_invalid (Args: the number of bad rows), so a caller that only looks at the
// error still refuses. The actor needs ResidentImport on each row's village; a row for another
// village is a row error.
func (s *Service) ImportResidents(ctx context.Context, a *auth.Actor, townID int64, file io.Reader) (ImportReport, error) {
	var rep ImportReport
	if all, ids := auth.Visible(a, auth.ResidentImport, townID); a == nil || a.AccountID == 0 || (!all && len(ids) == 0) {
		return rep, auth.Can(a, auth.ResidentImport, auth.Scope{TownID: townID, VillageID: -1})
	}
	town, err := s.Town(ctx, townID)
	if err != nil {
		return rep, err
	}
	b, err := io.ReadAll(io.LimitReader(file, MaxImportBytes+1))
	if err != nil {
		return rep, fmt.Errorf("people: import: %w", err)
	}
	if len(b) > MaxImportBytes {
		return rep, fileError(errs.TooLarge, "import.too_large")
	}
	sh, err := readSheet(b)
	if err != nil {
		return rep, err
	}
	rep.Rows = len(sh.rows)
	villages, err := s.villagesByName(ctx, townID)
	if err != nil {
		return rep, err
	}
	rows, rowErrs := sh.check(a, town.Today(s.Now()), villages)
	more, err := s.checkStored(ctx, rows)
	if err != nil {
		return rep, err
	}
	if rep.Errors = sh.sorted(append(rowErrs, more...)); len(rep.Errors) > 0 {
		return rep, rowsInvalid(rep.Errors)
	}
	perVillage := map[string]int{}
	var conflict int
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		ptx := &preparedTx{tx: tx, stmts: map[string]*sql.Stmt{}}
		for _, r := range rows {
			if _, err := s.InsertResident(ctx, ptx, r.village, r.in, r.id); err != nil {
				if errs.Is(err, errs.Conflict) {
					conflict = r.num
				}
				return err
			}
			perVillage[r.village.Name]++
		}
		e := auth.AuditEntry{Action: "resident.import", Entity: "resident", TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"count": len(rows), "villages": perVillage})}
		if len(perVillage) == 1 {
			e.VillageID = rows[0].village.ID
		}
		return auth.Audit(ctx, tx, a, e)
	})
	if conflict != 0 {
		// Someone registered the same ID number between the check and the write.
		rep.Errors = []RowError{{Row: conflict, Column: colID, Key: "people.id_duplicate"}}
		return rep, rowsInvalid(rep.Errors)
	}
	if err != nil {
		return rep, fmt.Errorf("people: import: %w", err)
	}
	rep.Imported = len(rows)
	// A whole village at once can be most of the table: the planner should know.
	if err := s.DB.Analyze(ctx, "residents", "households"); err != nil {
		return rep, err
	}
	return rep, nil
}

func rowsInvalid(rows []RowError) error {
	n := 0
	for i, e := range rows {
		if i == 0 || e.Row != rows[i-1].Row {
			n++
		}
	}
	return errs.New(errs.Invalid, "import.rows_invalid", n)
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

// fileError is a refusal of the uploaded file as a whole, which forms show beside its field.
func fileError(code errs.Code, key string, args ...any) error {
	return &errs.Error{Code: code, Key: key, Args: args, Fields: []errs.FieldError{{Field: "file", Key: key, Args: args}}}
}

func errNotXLSX() error { return fileError(errs.Invalid, "import.not_xlsx") }

// errUnzipTooLarge refuses a workbook that inflates to more than a register needs.
func errUnzipTooLarge() error {
	return fileError(errs.TooLarge, "import.unzip_too_large", MaxUnzipBytes>>20)
}

// checkZip reads the zip's directory, never its contents, and refuses a workbook whose parts
// would inflate to more than a register of residents needs, before excelize inflates any of them.
func checkZip(b []byte) error {
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return errNotXLSX()
	}
	var total uint64
	for _, f := range z.File {
		size := f.UncompressedSize64
		total += size
		name := strings.ToLower(strings.ReplaceAll(f.Name, "\\", "/"))
		switch {
		case total > MaxUnzipBytes:
			return errUnzipTooLarge()
		case strings.HasPrefix(name, "xl/worksheets/sheet"):
			// streamed from a temporary file when large
		case name == "xl/sharedstrings.xml":
			if size > maxStringsBytes {
				return errUnzipTooLarge()
			}
		case strings.HasSuffix(name, ".xml") || strings.HasSuffix(name, ".rels"):
			if size > maxPartBytes {
				return errUnzipTooLarge()
			}
		}
	}
	return nil
}

// OpenWorkbook opens an uploaded .xlsx from its bytes, refusing anything else by its content,
// whatever the file was called, and refusing from the zip's directory a workbook that would
// inflate past what a register needs (checkZip). Its refusals name the field "file". Read it with
// the Rows iterator: every upload of a workbook opens it here.
func OpenWorkbook(b []byte) (*excelize.File, error) {
	if len(b) == 0 {
		return nil, fileError(errs.Invalid, "import.empty")
	}
	if !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		return nil, errNotXLSX()
	}
	if err := checkZip(b); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(b), excelize.Options{UnzipSizeLimit: MaxUnzipBytes, UnzipXMLSizeLimit: maxXMLInMemory})
	if err != nil {
		if strings.HasPrefix(err.Error(), "unzip size exceeds") {
			return nil, errUnzipTooLarge()
		}
		return nil, errNotXLSX()
	}
	if len(f.GetSheetList()) == 0 {
		f.Close()
		return nil, errNotXLSX()
	}
	return f, nil
}

// notWorkbook, deferred, turns what excelize says about an uploaded file, an error or a panic,
// into import.not_xlsx. It panics on some malformed parts (a styles part it cannot read made
// NewStyle dereference nil) and fails on others only when asked to edit them (a worksheet whose
// root element is misspelt streams fine): either way the file is not a workbook we can read or
// annotate, and saying so beats a 500 on the page and a crash of the command line.
func notWorkbook(err *error) {
	if _, ok := errs.As(*err); recover() != nil || (*err != nil && !ok) {
		*err = errNotXLSX()
	}
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

// checkStored finds the rows that clash with the register: an ID number already registered, or a
// 户主 for a household that already has one. It reads in batches, never a query per row.
func (s *Service) checkStored(ctx context.Context, rows []importRow) ([]RowError, error) {
	const batch = 500
	byHash := make(map[string]int, len(rows))
	for _, r := range rows {
		byHash[s.Cipher.Hash(r.id.Number)] = r.num
	}
	hashes := make([]string, 0, len(byHash))
	for h := range byHash {
		hashes = append(hashes, h)
	}
	var out []RowError
	for chunk := range slices.Chunk(hashes, batch) {
		args := make([]any, len(chunk))
		ph := make([]string, len(chunk))
		for i, h := range chunk {
			args[i], ph[i] = h, fmt.Sprintf("$%d", i+1)
		}
		found, err := queryStrings(ctx, s.DB.Read(), `SELECT id_hash FROM residents WHERE id_hash IN (`+strings.Join(ph, ", ")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("people: import: %w", err)
		}
		for _, h := range found {
			out = append(out, RowError{Row: byHash[h], Column: colID, Key: "people.id_duplicate"})
		}
	}
	var vids []any
	var ph []string
	for _, r := range rows {
		if r.in.Relation == "户主" && !slices.Contains(vids, any(r.village.ID)) {
			vids = append(vids, r.village.ID)
			ph = append(ph, fmt.Sprintf("$%d", len(vids)))
		}
	}
	if len(vids) == 0 {
		return out, nil
	}
	hrows, err := s.DB.Read().QueryContext(ctx, `SELECT village_id, number FROM households
		WHERE head_resident_id IS NOT NULL AND village_id IN (`+strings.Join(ph, ", ")+`)`, vids...)
	if err != nil {
		return nil, fmt.Errorf("people: import: %w", err)
	}
	defer hrows.Close()
	headed := map[string]bool{}
	for hrows.Next() {
		var vid int64
		var number string
		if err := hrows.Scan(&vid, &number); err != nil {
			return nil, err
		}
		headed[fmt.Sprintf("%d/%s", vid, number)] = true
	}
	if err := hrows.Err(); err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.in.Relation == "户主" && headed[fmt.Sprintf("%d/%s", r.village.ID, r.in.HouseholdNumber)] {
			out = append(out, RowError{Row: r.num, Column: colRelation, Key: "import.head_duplicate"})
		}
	}
	return out, nil
}

// preparedTx runs a transaction's statements prepared, each distinct one once: an import runs the
// same few statements thousands of times, and parsing them again each time is most of its cost.
type preparedTx struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (p *preparedTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.stmts[query]; ok {
		return st, nil
	}
	st, err := p.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.stmts[query] = st
	return st, nil
}

func (p *preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (p *preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (p *preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return p.tx.QueryRowContext(ctx, query, args...) // a *sql.Row that carries the same error
	}
	return st.QueryRowContext(ctx, args...)
}

func queryStrings(ctx context.Context, q db.Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// villagesByName loads a town's villages once for an import.
func (s *Service) villagesByName(ctx context.Context, townID int64) (map[string]Village, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, town_id, code, name, active, created_at FROM villages WHERE town_id = $1`, townID)
	if err != nil {
		return nil, fmt.Errorf("people: import: villages: %w", err)
	}
	defer rows.Close()
	out := map[string]Village{}
	for rows.Next() {
		var v Village
		if err := rows.Scan(&v.ID, &v.TownID, &v.Code, &v.Name, &v.Active, &v.CreatedAt); err != nil {
			return nil, err
		}
		out[v.Name] = v
	}
	return out, rows.Err()
}

// ---- writing workbooks

// sheetResidents is the name of the residents sheet in every workbook siwei writes.
const sheetResidents = "居民"

var colWidths = map[string]float64{colName: 12, colID: 22, colBirth: 12, colPhone: 14, colHousehold: 10, colAddress: 24,
	colRelation: 12, colParty: 14, colCare: 18, colErrors: 50, "填写说明": 90}

// table streams one sheet: a bold header row, then rows of text cells.
type table struct {
	sw  *excelize.StreamWriter
	row int
	buf []any
}

// newTable starts a sheet of f. Every column is formatted as text, so that a person who types an
// ID number or a phone into the file does not see Excel turn it into a number.
func newTable(f *excelize.File, sheet string, header []string) (*table, error) {
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	if err != nil {
		return nil, err
	}
	bold, err := f.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return nil, err
	}
	if len(header) == 0 {
		return &table{sw: sw}, nil
	}
	if err := sw.SetColStyle(1, len(header), text); err != nil {
		return nil, err
	}
	cells := make([]any, len(header))
	for i, h := range header {
		cells[i] = excelize.Cell{StyleID: bold, Value: h}
		w, ok := colWidths[h]
		if !ok {
			w = 10
		}
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return nil, err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	return &table{sw: sw, row: 1}, sw.SetRow("A1", cells)
}

// add writes the next row; empty strings leave the cell empty. Every cell goes through SafeCell.
func (t *table) add(cells ...string) error {
	t.row++
	t.buf = t.buf[:0]
	for _, c := range cells {
		if c == "" {
			t.buf = append(t.buf, nil)
		} else {
			t.buf = append(t.buf, SafeCell(c))
		}
	}
	ref, err := excelize.CoordinatesToCellName(1, t.row)
	if err != nil {
		return err
	}
	return t.sw.SetRow(ref, t.buf)
}

// formulaStarts are the characters that make a spreadsheet read a cell as a formula: OWASP's list
// (= + - @, tab, carriage return) and the full-width forms that Chinese input methods type, which
// Excel also takes for the ASCII ones when a cell is edited.
const formulaStarts = "=+-@\t\r＝＋－＠"

// SafeCell neutralises text that a spreadsheet would take for a formula by putting an apostrophe
// before it, as OWASP's guidance on CSV injection says: Excel does not evaluate a text cell of an
// .xlsx when it opens it, but it does once someone edits the cell or saves the sheet as CSV, and a
// resident's name or a claim's reason is typed by whoever wants it to be =HYPERLINK(...). Every
// export writes its text cells through this one function; numbers are written as numbers. Text
// that already begins with apostrophes before such a character gets one more, so that an import
// can take the first one off and read back exactly what was written.
func SafeCell(s string) string {
	rest := strings.TrimLeft(s, "'")
	if r, _ := utf8.DecodeRuneInString(rest); rest != "" && strings.ContainsRune(formulaStarts, r) {
		return "'" + s
	}
	return s
}

// plainCell is an imported cell's text, trimmed, without the apostrophe SafeCell put before it: an
// export reads back as an import with the values it was written from.
func plainCell(s string) string {
	if rest, ok := strings.CutPrefix(s, "'"); ok && SafeCell(rest) == s {
		s = rest
	}
	return strings.TrimSpace(s)
}

// newWorkbook is an empty workbook whose first sheet is the residents sheet.
func newWorkbook() (*excelize.File, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName(f.GetSheetName(0), sheetResidents); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// WriteResidentsXLSX writes a one-sheet workbook of text cells: for tests, benchmarks and the
// command line, which build import files from rows.
func WriteResidentsXLSX(w io.Writer, header []string, rows [][]string) error {
	f, err := newWorkbook()
	if err != nil {
		return err
	}
	defer f.Close()
	t, err := newTable(f, sheetResidents, header)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := t.add(r...); err != nil {
			return err
		}
	}
	if err := t.sw.Flush(); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

// ImportTemplate is the workbook staff download to fill in: the headers, one example row with a
// valid made-up ID number, and a sheet 说明 that explains each column.
func ImportTemplate() ([]byte, error) {
	f, err := newWorkbook()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := newTable(f, sheetResidents, ImportHeaders)
	if err != nil {
		return nil, err
	}
	id := "11011219900101123"
	id += string(IDCheckChar(id))
	example := map[string]string{colName: "张三", colGender: "男", colID: id, colPhone: "13800138000", colVillage: "示例村",
		colHousehold: "001", colAddress: "示例村一街1号", colRelation: "户主", colParty: "群众", colCare: ""}
	row := make([]string, len(ImportHeaders))
	for i, h := range ImportHeaders {
		row[i] = example[h]
	}
	if err := t.add(row...); err != nil {
		return nil, err
	}
	if err := t.sw.Flush(); err != nil {
		return nil, err
	}
	if _, err := f.NewSheet("说明"); err != nil {
		return nil, err
	}
	help, err := newTable(f, "说明", []string{"列名", "是否必填", "填写说明"})
	if err != nil {
		return nil, err
	}
	var care []string
	for _, tag := range CareTags {
		care = append(care, careTagName(tag))
	}
	for _, r := range [][]string{
		{colName, "是", "居民姓名，最多 30 个字。"},
		{colGender, "是", "填“男”或“女”，须与身份证号一致。"},
		{colID, "是", "18 位居民身份证号码，末位可以是 X；出生日期从身份证号读取。请保持本列为文本格式，以免 Excel 把号码变成科学计数法。同一身份证号不能出现两次，也不能是系统中已登记的。"},
		{colPhone, "否", "11 位手机号码。同一户的人可以填同一个号码。"},
		{colVillage, "是", "村名，须与系统中本镇的村名完全一致；只能导入您有权管理的村。"},
		{colHousehold, "是", "本村的户号，1 至 20 位字母、数字或短横线。户号相同的人归为一户；系统中还没有的户会自动建立。"},
		{colAddress, "否", "户的住址，最多 100 个字；只在新建户时记录。"},
		{colRelation, "否", "可填：" + strings.Join(Relations, "、") + "。每户只能有一名户主。"},
		{colParty, "否", "“中共党员”“中共预备党员”记为党员；“群众”“共青团员”、民主党派成员、“无党派人士”或留空记为非党员。其他写法会报错。"},
		{colCare, "否", "可不填，或填以下一项或多项：" + strings.Join(care, "、") + "，用顿号、逗号或空格分隔。留守儿童须未满 18 周岁。"},
		{"", "", fmt.Sprintf("第一行是表头，列的顺序可以调整，多余的列不读取。文件须是 .xlsx 格式，不超过 %d MB，最多 %d 行。", MaxImportBytes>>20, MaxImportRows)},
		{"", "", "任何一行有错时整份文件都不导入；系统会给出一份加了“错误”列的工作簿，改正后重新上传即可。导入前请删除示例行。"},
	} {
		if err := help.add(r...); err != nil {
			return nil, err
		}
	}
	if err := help.sw.Flush(); err != nil {
		return nil, err
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ErrorWorkbook returns the first sheet of the imported workbook with a column 错误 that says, on
// each bad row, what is wrong, as "column：message" joined by "；". translate turns a message key
// into the reader's language (the web layer passes its catalog); nil leaves keys as they are. A
// 错误 column left from an earlier attempt is reused and cleared first. The sheet is read as a
// stream and written as one, its cells as text: editing it in place made excelize hold the whole
// sheet as cells, 900 MB for 50,000 rows, which a file of 1 MB could ask for. Other sheets and
// the cells' formats are not kept; the values are, and the workbook imports like the original. A
// file that cannot be read is refused as import.not_xlsx.
func ErrorWorkbook(file []byte, rows []RowError, translate func(key string) string) (_ []byte, err error) {
	defer notWorkbook(&err)
	if translate == nil {
		translate = func(k string) string { return k }
	}
	src, err := OpenWorkbook(file)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	name := src.GetSheetList()[0]
	it, err := src.Rows(name)
	if err != nil {
		return nil, errNotXLSX()
	}
	defer it.Close()
	msgs := map[int][]string{}
	for _, e := range rows {
		msgs[e.Row] = append(msgs[e.Row], e.Column+"："+translate(e.Key))
	}

	out, err := newWorkbook()
	if err != nil {
		return nil, err
	}
	defer out.Close()
	if name != sheetResidents {
		if err := out.SetSheetName(sheetResidents, name); err != nil {
			return nil, err
		}
	}
	sw, err := out.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	text, err := out.NewStyle(&excelize.Style{NumFmt: 49, Alignment: &excelize.Alignment{Vertical: "top"}})
	if err != nil {
		return nil, err
	}
	head, err := out.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Bold: true, Color: "C00000"}})
	if err != nil {
		return nil, err
	}
	red, err := out.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Color: "C00000"}, Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return nil, err
	}
	col := 0 // the 错误 column, 1-based, fixed by the header
	var buf []any
	write := func(n int, cells []string) error {
		buf = buf[:0]
		for i := 0; i < max(len(cells), col); i++ {
			var c string
			if i < len(cells) {
				c = cells[i]
			}
			switch {
			case i == col-1 && n == 1:
				buf = append(buf, excelize.Cell{StyleID: head, Value: colErrors})
			case i == col-1 && len(msgs[n]) > 0:
				buf = append(buf, excelize.Cell{StyleID: red, Value: strings.Join(msgs[n], "；")})
			case i == col-1 || c == "":
				buf = append(buf, nil) // an old message is cleared
			default:
				buf = append(buf, SafeCell(c))
			}
		}
		ref, err := excelize.CoordinatesToCellName(1, n)
		if err != nil {
			return err
		}
		return sw.SetRow(ref, buf)
	}
	n := 0
	for it.Next() {
		n++
		cells, err := it.Columns()
		if err != nil {
			return nil, errNotXLSX()
		}
		if n == 1 {
			last := 0
			for i, h := range cells {
				if h = strings.TrimSpace(h); h == colErrors && col == 0 {
					col = i + 1
				}
				if h != "" {
					last = i + 1
				}
			}
			if col == 0 {
				col = last + 1
			}
			if err := sw.SetColStyle(1, col, text); err != nil {
				return nil, err
			}
			if err := sw.SetColWidth(col, col, colWidths[colErrors]); err != nil {
				return nil, err
			}
		}
		if err := write(n, cells); err != nil {
			return nil, err
		}
	}
	if it.Error() != nil {
		return nil, errNotXLSX()
	}
	if n == 0 { // no rows at all
		col = 1
		if err := write(1, nil); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	b, err := out.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ---- export

// ExportResidents writes a village's residents, every status, as an .xlsx with the import's
// columns plus 出生日期 and 状态, ordered by household. ID numbers are masked, and birth dates left
// out, unless the actor may see them. The export is in the audit log, which says whether full ID
// numbers went out.
func (s *Service) ExportResidents(ctx context.Context, a *auth.Actor, villageID int64, w io.Writer) error {
	v, err := s.village(ctx, s.DB.Read(), villageID)
	if err != nil {
		return err
	}
	sc := auth.Scope{TownID: v.TownID, VillageID: v.ID}
	if err := auth.Can(a, auth.ResidentExport, sc); err != nil {
		return auth.Hide(err)
	}
	return s.exportResidents(ctx, a, v, auth.Can(a, auth.ResidentViewID, sc) == nil, w)
}

// exportResidents reads the village in one query into a streamed sheet, records the export, then
// writes the workbook to w: nothing slow happens while a connection or transaction is held.
func (s *Service) exportResidents(ctx context.Context, a *auth.Actor, v Village, showID bool, w io.Writer) error {
	f, err := newWorkbook()
	if err != nil {
		return err
	}
	defer f.Close()
	t, err := newTable(f, sheetResidents, ExportHeaders)
	if err != nil {
		return err
	}
	n, err := s.exportRows(ctx, v, showID, t)
	if err != nil {
		return fmt.Errorf("people: export: %w", err)
	}
	if err := t.sw.Flush(); err != nil {
		return err
	}
	ids := "masked"
	if showID {
		ids = "full"
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "resident.export", Entity: "village", EntityID: v.ID, TownID: v.TownID, VillageID: v.ID,
			Summary: auth.Summarize(nil, map[string]any{"count": n, "id_numbers": ids})})
	})
	if err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

func (s *Service) exportRows(ctx context.Context, v Village, showID bool, t *table) (int, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+residentCols+`, h.address, r.id_enc`+residentFrom+
		` WHERE r.village_id = $1 ORDER BY h.number, r.id`, v.ID)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var addr string
		var enc []byte
		r, err := scanResident(scanExtra{rows, []any{&addr, &enc}})
		if err != nil {
			return n, err
		}
		// Masked, the ID number goes out without the birth date it hides.
		id, birth := r.IDMasked, ""
		if showID {
			if id, err = s.Cipher.Decrypt(enc); err != nil {
				return n, err
			}
			birth = r.BirthDate.Format("2006-01-02")
		}
		gender := "女"
		if r.Gender == Male {
			gender = "男"
		}
		party := ""
		if r.PartyMember {
			party = "中共党员"
		}
		var care []string
		for _, tag := range CareTags {
			if slices.Contains(r.CareTags, tag) {
				care = append(care, careTagName(tag))
			}
		}
		if err := t.add(r.Name, gender, id, birth, r.Phone, r.VillageName, r.HouseholdNumber, addr,
			r.Relation, party, strings.Join(care, "、"), statusNames[r.Status]); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// scanExtra scans a row's leading columns as the wrapped scanner expects and the rest into extra.
type scanExtra struct {
	sc    interface{ Scan(...any) error }
	extra []any
}

func (x scanExtra) Scan(dest ...any) error { return x.sc.Scan(append(dest, x.extra...)...) }

// careTagName is a tag's Chinese name as spreadsheets write it.
func careTagName(tag CareTag) string {
	for name, t := range careTagNames {
		if t == tag {
			return name
		}
	}
	return string(tag)
}
