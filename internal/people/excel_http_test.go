package people_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"hash/crc32"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"

	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// These tests drive the registry over HTTP on the demo town, as a village office and an attacker
// with a staff account would.

// httpID is a valid 身份证号 of an area the demo town does not use, so it is never registered yet.
func httpID(birth string, seq int) string {
	s := fmt.Sprintf("110229%s%03d", birth, seq)
	return s + string(people.IDCheckChar(s))
}

// sheetOf writes rows under the import's headers as an .xlsx.
func sheetOf(t *testing.T, rows ...[]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := people.WriteResidentsXLSX(&buf, people.ImportHeaders, rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// login logs in through the form as a browser does and returns its client: a cookie jar, no
// redirects followed.
func login(t *testing.T, env *servertest.Env, phone string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(env.URL+"/login", url.Values{"phone": {phone}, "password": {demo.DemoPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %d", phone, resp.StatusCode)
	}
	return c
}

// send sends a request and returns the status, the headers and the body.
func send(t *testing.T, c *http.Client, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// get fetches a path.
func get(t *testing.T, c *http.Client, env *servertest.Env, path string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", env.URL+path, nil)
	return send(t, c, req)
}

// upload posts file as the import form's "file" field and returns the status, the Retry-After
// header and the page.
func upload(t *testing.T, c *http.Client, env *servertest.Env, file []byte) (int, string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "居民.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	req, _ := http.NewRequest("POST", env.URL+"/admin/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	st, h, body := send(t, c, req)
	return st, h.Get("Retry-After"), body
}

// download fetches a file and returns its bytes, failing on any status but 200.
func download(t *testing.T, c *http.Client, env *servertest.Env, path string) []byte {
	t.Helper()
	st, _, body := get(t, c, env, path)
	if st != http.StatusOK {
		t.Fatalf("GET %s: %d %.300s", path, st, body)
	}
	return []byte(body)
}

// villageID is the id of a village of the demo town.
func villageID(t *testing.T, env *servertest.Env, name string) int64 {
	t.Helper()
	v, err := env.Sys.People.VillageByName(context.Background(), env.Info.TownID, name)
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}

// bombOnce builds the zip bomb once, for both engines.
var bombOnce = sync.OnceValues(func() ([]byte, error) { return xlsxBomb(250 << 20) })

// xlsxBomb is a real workbook whose worksheet inflates to about size bytes of rows, in a file of
// a few hundred KB: the stream repeats one compressed MiB of identical rows, so it costs nothing
// to build, and the zip declares the sizes honestly, as archive/zip checks when it inflates.
func xlsxBomb(size int) ([]byte, error) {
	var small bytes.Buffer
	if err := people.WriteResidentsXLSX(&small, people.ImportHeaders, [][]string{{"张三"}}); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(small.Bytes()), int64(small.Len()))
	if err != nil {
		return nil, err
	}
	head := []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	row := `<row><c t="inlineStr"><is><t>` + strings.Repeat("炸", 30) + `</t></is></c></row>`
	chunk := []byte(strings.Repeat(row, (1<<20)/len(row)))
	tail := []byte(`</sheetData></worksheet>`)
	n := size / len(chunk)
	deflate := func(p []byte, final bool) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.BestCompression)
		w.Write(p)
		if final {
			w.Close()
		} else {
			w.Flush() // byte-aligned and self-contained: copies of it can follow one another
		}
		return b.Bytes()
	}
	var deflated bytes.Buffer
	deflated.Write(deflate(head, false))
	c := deflate(chunk, false)
	crc := crc32.Update(0, crc32.IEEETable, head)
	for range n {
		deflated.Write(c)
		crc = crc32.Update(crc, crc32.IEEETable, chunk)
	}
	deflated.Write(deflate(tail, true))
	crc = crc32.Update(crc, crc32.IEEETable, tail)

	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		if f.Name == "xl/worksheets/sheet1.xml" {
			w, err := zw.CreateRaw(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, CRC32: crc,
				CompressedSize64: uint64(deflated.Len()), UncompressedSize64: uint64(len(head) + n*len(chunk) + len(tail))})
			if err != nil {
				return nil, err
			}
			w.Write(deflated.Bytes())
			continue
		}
		r, err := f.OpenRaw()
		if err != nil {
			return nil, err
		}
		w, err := zw.CreateRaw(&f.FileHeader)
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(w, r); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// withPart is a copy of a workbook with one part's content replaced.
func withPart(t *testing.T, file []byte, name string, content []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == name {
			w.Write(content)
			continue
		}
		r, err := f.Open()
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

// TestImportRefusesZipBombs: a workbook of a few hundred KB that would inflate to 250 MB is
// refused from the zip's directory, with a message beside the file field; so is a styles part far
// larger than any register's, which excelize would parse whole. A register still imports.
func TestImportRefusesZipBombs(t *testing.T) {
	bomb, err := bombOnce()
	if err != nil {
		t.Fatal(err)
	}
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes", len(bomb))
	}
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		admin := login(t, env, demo.PhoneTownAdmin)
		normal := sheetOf(t, []string{"炸弹后", "男", httpID("19700101", 11), "", "前疃村", "ZB-1", "", "户主", "", ""})
		styles := withPart(t, normal, "xl/styles.xml", bytes.Repeat([]byte("<!-- -->"), 1<<20))
		before := env.Info.Residents
		for _, c := range []struct {
			name string
			file []byte
		}{{"SheetBomb", bomb}, {"StylesBomb", styles}} {
			t.Run(c.name, func(t *testing.T) {
				st, _, body := upload(t, admin, env, c.file)
				msg := fmt.Sprintf("工作簿解压后超过 %d MB", people.MaxUnzipBytes>>20)
				if st != http.StatusRequestEntityTooLarge || !strings.Contains(body, `<span class="err">`+template.HTMLEscapeString(msg)) {
					t.Fatalf("got %d, want 413 with the message beside the file field: %.2000s", st, body)
				}
			})
		}
		var n int
		if err := d.Read().QueryRow(`SELECT COUNT(*) FROM residents WHERE town_id = $1`, env.Info.TownID).Scan(&n); err != nil || n != before {
			t.Fatalf("residents after the bombs: %d (%v), want %d", n, err, before)
		}
		if st, _, body := upload(t, admin, env, normal); st != http.StatusOK || !strings.Contains(body, "已导入 1 人") {
			t.Fatalf("normal import: %d %.2000s", st, body)
		}
	})
}

// TestImportsInFlightAreBounded: when every import slot is taken, an upload is refused with 429
// and Retry-After, without being read; once a slot is free it imports.
func TestImportsInFlightAreBounded(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		admin := login(t, env, demo.PhoneTownAdmin)
		var releases []func()
		for range people.MaxImportsInFlight {
			release, err := env.Sys.People.BeginImport(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			releases = append(releases, release)
		}
		file := sheetOf(t, []string{"排队", "女", httpID("19800202", 22), "", "前疃村", "PD-1", "", "户主", "", ""})
		st, retry, body := upload(t, admin, env, file)
		if st != http.StatusTooManyRequests || retry == "" || !strings.Contains(body, "正在处理其他导入") {
			t.Fatalf("busy: got %d Retry-After %q: %.1000s", st, retry, body)
		}
		for _, r := range releases {
			r()
		}
		if st, _, body := upload(t, admin, env, file); st != http.StatusOK || !strings.Contains(body, "已导入 1 人") {
			t.Fatalf("after the slots are free: %d %.1000s", st, body)
		}
	})
}

// TestExportNeutralisesFormulas: a name, an address and a 户号 that a spreadsheet would take for a
// formula are imported as they are, and the export writes them as text behind an apostrophe.
func TestExportNeutralisesFormulas(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		admin := login(t, env, demo.PhoneTownAdmin)
		formula := `=HYPERLINK("http://x","y")`
		file := sheetOf(t,
			[]string{formula, "男", httpID("19600303", 33), "", "前疃村", "-7", "@SUM(1,2)", "户主", "", ""},
			[]string{"+李四", "女", httpID("19610404", 44), "", "前疃村", "-7", "", "配偶", "", ""},
			[]string{"-王五", "男", httpID("19620505", 55), "", "前疃村", "QT-8", "＝1+1", "户主", "", ""},
		)
		if st, _, body := upload(t, admin, env, file); st != http.StatusOK || !strings.Contains(body, "已导入 3 人") {
			t.Fatalf("import: %d %.2000s", st, body)
		}
		var list people.ResidentList
		if st, body := env.API(demo.PhoneTownAdmin).JSON("GET", "/api/v1/residents?q=%3DHYPER", nil, &list); st != 200 || len(list.Items) != 1 || list.Items[0].Name != formula {
			t.Fatalf("stored name: %d %s", st, body)
		}
		b := download(t, admin, env, fmt.Sprintf("/admin/export?village_id=%d", villageID(t, env, "前疃村")))
		x, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		sheet := x.GetSheetList()[0]
		rows, err := x.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][2]string{ // name as exported: 户号, 住址
			"'" + formula: {"'-7", "'@SUM(1,2)"},
			"'+李四":        {"'-7", "'@SUM(1,2)"},
			"'-王五":        {"QT-8", "'＝1+1"},
		}
		found := 0
		for i, r := range rows {
			w, ok := want[r[0]]
			if !ok {
				if strings.ContainsAny(r[0][:1], "=+-@") {
					t.Errorf("row %d: name %q is not neutralised", i+1, r[0])
				}
				continue
			}
			found++
			if r[6] != w[0] || r[7] != w[1] {
				t.Errorf("row %d %s: 户号 %q 住址 %q, want %q %q", i+1, r[0], r[6], r[7], w[0], w[1])
			}
			for col := 1; col <= len(r); col++ {
				ref, _ := excelize.CoordinatesToCellName(col, i+1)
				if f, _ := x.GetCellFormula(sheet, ref); f != "" {
					t.Errorf("%s is a formula: %q", ref, f)
				}
				if typ, _ := x.GetCellType(sheet, ref); r[col-1] != "" && typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString {
					t.Errorf("%s %q is not text: type %v", ref, r[col-1], typ)
				}
			}
		}
		if found != 3 {
			t.Fatalf("found %d of the 3 residents in the export: %q", found, rows)
		}
	})
}
