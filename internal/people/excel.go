package people

// Excel import and export of the register (居民花名册): town offices exchange lists as .xlsx, so
// residents come in and go out as one sheet with Chinese headers. This file writes workbooks:
// the sheets of exports, the import template and an import's error workbook.

import (
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

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
