package people

// Opening an uploaded .xlsx safely: what a workbook may weigh and inflate to, the refusals of a
// file as a whole, and the text of a cell as siwei writes and reads it.

import (
	"archive/zip"
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

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
