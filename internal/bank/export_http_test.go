package bank_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/xuri/excelize/v2"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
)

// TestStatementNeutralisesFormulas: an award's reason is typed by staff and may read as a
// formula; the statement writes it as text behind an apostrophe, and its amounts as numbers.
func TestStatementNeutralisesFormulas(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		reason := `=HYPERLINK("http://x","y")`
		f.award(t, f.resident, "clean", reason, "http:formula:1")
		req, _ := http.NewRequest("GET", f.env.URL+"/bank/statement.xlsx", nil)
		req.Header.Set("Authorization", "Bearer "+f.env.API(demo.PhoneResident).Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("download: %d", resp.StatusCode)
		}
		x, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		sheet := x.GetSheetName(0)
		if got, _ := x.GetCellValue(sheet, "D3"); got != "'"+reason {
			t.Fatalf("reason cell D3 = %q, want %q", got, "'"+reason)
		}
		if formula, _ := x.GetCellFormula(sheet, "D3"); formula != "" {
			t.Fatalf("D3 is a formula: %q", formula)
		}
		if typ, _ := x.GetCellType(sheet, "F3"); typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString {
			t.Fatalf("the amount F3 is text")
		}
	})
}
