package bank_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
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

// TestBulkAwardWorkbookWithinLimits: the workbook of a bulk award is opened within the import's
// unzip limits: one whose styles part alone would inflate past what any register has is refused
// beside the file field, unread; a plain one still awards.
func TestBulkAwardWorkbookWithinLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		admin := f.env.Browser(demo.PhoneVillageAdmin)
		var plain bytes.Buffer
		if err := people.WriteResidentsXLSX(&plain, []string{"居民编号"}, [][]string{{fmt.Sprint(f.resident)}}); err != nil {
			t.Fatal(err)
		}
		post := func(file []byte, key string) (int, string) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for k, v := range map[string]string{"rule_code": "help", "reason": "秋收互助", "idempotency_key": key} {
				mw.WriteField(k, v)
			}
			fw, _ := mw.CreateFormFile("file", "名单.xlsx")
			fw.Write(file)
			mw.Close()
			req, _ := http.NewRequest("POST", f.env.URL+"/admin/bank/award/bulk", &buf)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			return admin.Do(req)
		}
		before := f.count(t, "bank_transactions")
		st, body := post(stylesBomb(t, plain.Bytes()), "bulk-bomb")
		msg := template.HTMLEscapeString(fmt.Sprintf("工作簿解压后超过 %d MB", people.MaxUnzipBytes>>20))
		if st != http.StatusRequestEntityTooLarge || !strings.Contains(body, msg) {
			t.Fatalf("bomb: %d %.1500s", st, body)
		}
		if n := f.count(t, "bank_transactions"); n != before {
			t.Fatalf("the bomb posted %d transactions", n-before)
		}
		if st, body := post(plain.Bytes(), "bulk-plain"); st != http.StatusOK || f.count(t, "bank_transactions") != before+1 {
			t.Fatalf("plain workbook: %d %.1500s", st, body)
		}
	})
}

// stylesBomb is a copy of a workbook whose styles part is 8 MiB of XML comments.
func stylesBomb(t *testing.T, file []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		w, err := zw.Create(zf.Name)
		if err != nil {
			t.Fatal(err)
		}
		if zf.Name == "xl/styles.xml" {
			w.Write(bytes.Repeat([]byte("<!-- -->"), 1<<20))
			continue
		}
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(w, r)
		r.Close()
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
