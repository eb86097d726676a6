package bank

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// awardView is the award page. Staff pick people, never type their ids: found by name, phone or
// 户号, ticked from a village's households, or named by the rows of an uploaded award sheet. The
// single form pays the one person chosen under a rule of their class; the bulk form pays everyone
// ticked and everyone the sheet names under a rule chosen by name. Each form keeps its own values
// and shows its own refusals.
type awardView struct {
	Villages   []people.Village // where the actor may award
	VillageID  int64            // the village searched, listed, exported and whose rules are offered; 0: all of them
	Q          string
	Found      []Person
	More       bool        // the search found more than it shows
	Listed     bool        // the village's households are listed
	NoVillage  bool        // the households were asked for with no village chosen
	Households []household // the village's households, each with its people
	Ticked     map[int64]bool
	Picked     []Person // the people ticked who are neither found nor listed

	// The single form: the resident chosen, their class, balance and rules.
	R            *people.Resident
	Class        people.MemberClass
	Balance      Balance
	Rules        []Rule
	Single       url.Values
	SingleErrors map[string]string
	Key          string

	// The bulk form, and the outcome of the last one.
	Offered     []RuleChoice
	Bulk        url.Values
	BulkErrors  map[string]string
	BulkKey     string
	SheetErrors []SheetError
	Outcome     []outcome
	Posted      int
}

// household is a 户 of the listed village with its people.
type household struct {
	Number string
	People []Person
}

// outcome is one person's line in a bulk award's outcome: who (when the actor may award them) and
// what happened.
type outcome struct {
	P *Person
	BulkResult
}

// awardState is what a render of the award page starts from: each form's submitted values, the
// people ticked for the bulk form, and what the last submit came to.
type awardState struct {
	single, bulk url.Values
	ticked       []int64
	refused      string // the form refused: "single" or "bulk"
	err          error
	results      []BulkResult
	sheetErrors  []SheetError
}

func (h *Handlers) awardPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("download") == "sheet" {
		h.awardSheet(w, r)
		return
	}
	h.renderAward(w, r, awardState{
		single: url.Values{"resident_id": {q.Get("resident_id")}},
		bulk:   url.Values{"rule_code": {q.Get("rule_code")}, "reason": {q.Get("reason")}},
		ticked: tickedIDs(q["resident_ids"]),
	})
}

func (h *Handlers) renderAward(w http.ResponseWriter, r *http.Request, st awardState) {
	ctx, a := r.Context(), auth.From(r.Context())
	town, err := h.town(ctx, townOf(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := &awardView{Single: st.single, Bulk: st.bulk, Key: newKey(), BulkKey: newKey(), SheetErrors: st.sheetErrors,
		Q: strings.TrimSpace(r.FormValue("q")), VillageID: web.FormID(r.FormValue("village_id")), Ticked: map[int64]bool{}}
	if v.Villages, err = h.S.Villages(ctx, a, townOf(r), PermAward, v.VillageID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.VillageID == 0 && len(v.Villages) == 1 {
		v.VillageID = v.Villages[0].ID
	}
	if v.Found, v.More, err = h.S.FindPeople(ctx, a, townOf(r), v.VillageID, v.Q); err != nil {
		h.App.Error(w, r, err)
		return
	}
	shown := map[int64]bool{}
	for _, p := range v.Found {
		shown[p.ID] = true
	}
	v.NoVillage = r.FormValue("list") != "" && v.VillageID == 0
	if v.Listed = r.FormValue("list") != "" && v.VillageID != 0; v.Listed {
		ps, err := h.S.VillagePeople(ctx, a, townOf(r), v.VillageID)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		for _, p := range ps {
			if n := len(v.Households); n == 0 || v.Households[n-1].Number != p.HouseholdNumber {
				v.Households = append(v.Households, household{Number: p.HouseholdNumber})
			}
			v.Households[len(v.Households)-1].People = append(v.Households[len(v.Households)-1].People, p)
			shown[p.ID] = true
		}
	}
	// The people ticked, and those of the outcome, as far as the actor may award them.
	ids := slices.Clone(st.ticked)
	for _, res := range st.results {
		ids = append(ids, res.ResidentID)
	}
	known, err := h.S.PeopleByID(ctx, a, townOf(r), ids)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	byID := map[int64]*Person{}
	for i := range known {
		byID[known[i].ID] = &known[i]
	}
	for _, id := range st.ticked {
		if p := byID[id]; p != nil && !v.Ticked[id] {
			v.Ticked[id] = true
			if !shown[id] {
				v.Picked = append(v.Picked, *p)
			}
		}
	}
	for _, res := range st.results {
		v.Outcome = append(v.Outcome, outcome{P: byID[res.ResidentID], BulkResult: res})
		if res.Error == "" {
			v.Posted++
		}
	}
	// The single form's resident: one the actor may not see is not found, unless that is what the
	// refused form is about.
	if rid := web.FormID(st.single.Get("resident_id")); rid != 0 {
		res, class, rules, err := h.rulesFor(ctx, a, rid)
		switch {
		case err == nil:
			v.R, v.Class, v.Rules = &res, class, rules
			if v.Balance, err = h.S.Account(ctx, a, rid); err != nil {
				h.App.Error(w, r, err)
				return
			}
		case st.err == nil:
			h.App.Error(w, r, err)
			return
		}
	}
	if v.Offered, err = h.S.RulesOffered(ctx, town.ID, v.VillageID, town.Clock(h.S.Now).Day()); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "bank.award.title", v)
	if err := h.awardDone(r, p, v); err != nil {
		h.App.Error(w, r, err)
		return
	}
	status := http.StatusOK
	if st.err != nil {
		if status, err = h.App.FormErrors(p, st.err); err != nil {
			h.App.Error(w, r, err)
			return
		}
		// Each form shows its own refusals: both have a rule and a reason.
		if st.refused == "single" {
			v.SingleErrors = p.Errors
		} else {
			v.BulkErrors = p.Errors
		}
		p.Errors = nil
	}
	h.App.Render(w, r, status, "admin_award.html", p)
}

func (h *Handlers) award(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	in := AwardInput{ResidentID: web.FormID(f.Get("resident_id")), RuleCode: f.Get("rule_code"), Reason: f.Get("reason"), IdempotencyKey: f.Get("idempotency_key"),
		ConfirmDuplicate: f.Get(errs.ConfirmDuplicate) == "1"}
	res, err := h.S.Award(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.renderAward(w, r, awardState{single: f, refused: "single", err: err})
		return
	}
	flash, id := "flash.awarded", res.TransactionID
	if res.Pending != nil {
		flash, id = "flash.award_pending", res.Pending.ID
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/bank/award?resident_id=%d", in.ResidentID), flash, id))
}

// awardDone says on the award page what the award of the redirect's flash came to, for the
// resident the page shows: the points posted, by the resident's line of that transaction, with the
// balance now; or the award put on notice, by its claim. Both are looked up for those who may see
// them, so another village's award is named to nobody.
func (h *Handlers) awardDone(r *http.Request, p *web.Page, v *awardView) error {
	if v.R == nil || p.FlashID() == 0 {
		return nil
	}
	ctx, a := r.Context(), auth.From(r.Context())
	lines, err := h.S.Statement(ctx, a, v.R.ID, StatementFilter{Transaction: p.FlashID(), Limit: 1})
	if err != nil {
		return err
	}
	if len(lines) == 1 && lines[0].Kind == "award" {
		p.Flashed("flash.awarded", v.R.Name, lines[0].Amount, lines[0].RuleName, v.Balance.Balance)
	}
	c, err := h.S.ClaimByID(ctx, a, p.FlashID())
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.ResidentID == v.R.ID && c.Status == ClaimNotice {
		p.Flashed("flash.award_pending", c.ResidentName, c.Points, c.RuleName)
	}
	return nil
}

// maxBulkUpload bounds a bulk award's workbook.
const maxBulkUpload = 10 << 20

// bulkAward pays the people ticked and those the uploaded sheet names. A sheet with a wrong row
// pays nobody; otherwise each award stands on its own, and the outcome names each person.
func (h *Handlers) bulkAward(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	r.Body = http.MaxBytesReader(w, r.Body, maxBulkUpload+1<<20)
	ids, rows, err := bulkInput(r)
	ticked := slices.Clone(ids)
	var sheetErrors []SheetError
	if err == nil && len(rows) > 0 {
		var named []Person
		named, sheetErrors, err = h.S.MatchPeople(ctx, a, townOf(r), rows)
		for _, p := range named {
			if !slices.Contains(ids, p.ID) {
				ids = append(ids, p.ID)
			}
		}
	}
	var results []BulkResult
	if err == nil {
		results, err = h.S.BulkAward(ctx, a, BulkInput{ResidentIDs: ids, RuleCode: r.PostForm.Get("rule_code"), Reason: r.PostForm.Get("reason"),
			IdempotencyKey: r.PostForm.Get("idempotency_key"), ConfirmDuplicate: r.PostForm.Get(errs.ConfirmDuplicate) == "1"})
	}
	st := awardState{refused: "bulk", err: err, results: results, sheetErrors: sheetErrors}
	if err != nil {
		// The refused form comes back as it was sent, but for its file. A batch refused as a
		// likely duplicate comes back with everyone it named ticked, the sheet's people too, so
		// that confirming pays them without uploading the sheet again.
		st.bulk, st.ticked = r.PostForm, ticked
		if errs.IsDuplicate(err) {
			st.ticked = ids
		}
	}
	h.renderAward(w, r, st)
}

// awardSheet downloads a village's award sheet (?download=sheet&village_id=): its people by
// household, to cut down to those to be paid and upload again.
func (h *Handlers) awardSheet(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	id := web.QueryInt(r, "village_id")
	var buf bytes.Buffer
	err := h.S.ExportAwardSheet(ctx, a, townOf(r), id, &buf)
	var vs []people.Village
	if err == nil {
		vs, err = h.S.Villages(ctx, a, townOf(r), PermAward, id)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	name := ""
	for _, v := range vs {
		if v.ID == id {
			name = h.App.NewPage(r, "bank.award.title", nil).T("bank.award_sheet_file", v.Name)
		}
	}
	w.Header().Set("Content-Type", xlsxType)
	w.Header().Set("Content-Disposition", `attachment; filename="award.xlsx"; filename*=UTF-8''`+strings.ReplaceAll(url.PathEscape(name), "'", "%27"))
	buf.WriteTo(w)
}

// fileError is a refusal of an uploaded file.
func fileError(code errs.Code, key string, args ...any) error {
	return &errs.Error{Code: code, Key: key, Args: args, Fields: []errs.FieldError{{Field: "file", Key: key, Args: args}}}
}

// tickedIDs reads the people ticked in the bulk form, once each; values that are not ids (there are
// none in the page's own boxes) are left out.
func tickedIDs(values []string) []int64 {
	var ids []int64
	for _, v := range values {
		for _, tok := range strings.FieldsFunc(v, idSep) {
			if id, err := strconv.ParseInt(tok, 10, 64); err == nil && id > 0 && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// idSep separates the ids of one resident_ids value, as a script or an older form may send them.
func idSep(c rune) bool { return unicode.IsSpace(c) || strings.ContainsRune(",，、;；", c) }

// bulkInput reads a bulk award's people: those ticked (resident_ids, once each), and the rows of an
// uploaded award sheet, to be matched by the service.
func bulkInput(r *http.Request) (ids []int64, rows []SheetRow, err error) {
	// excelize panics on some malformed workbooks; an upload is refused, never a 500.
	defer func() {
		if p := recover(); p != nil {
			ids, rows, err = nil, nil, fileError(errs.Invalid, "import.not_xlsx")
		}
	}()
	var mbe *http.MaxBytesError
	if err := r.ParseMultipartForm(8 << 20); errors.As(err, &mbe) {
		return nil, nil, fileError(errs.TooLarge, "import.too_large")
	} else if err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return nil, nil, fileError(errs.Invalid, "import.no_file")
	}
	for _, v := range r.PostForm["resident_ids"] {
		for _, tok := range strings.FieldsFunc(v, idSep) {
			id, err := strconv.ParseInt(tok, 10, 64)
			if err != nil || id <= 0 {
				return nil, nil, errs.Field("resident_ids", "bank.bulk_bad_id", tok)
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return ids, nil, nil
	}
	defer file.Close()
	if hdr.Size > maxBulkUpload {
		return nil, nil, fileError(errs.TooLarge, "import.too_large")
	}
	b, err := io.ReadAll(file)
	if err != nil {
		return nil, nil, fileError(errs.Invalid, "import.no_file")
	}
	rows, err = sheetRows(b)
	return ids, rows, err
}

// sheetRows reads the first sheet of an award sheet: the columns named in its first row that
// SheetColumns has, then every row with something in them. A sheet must have a column that names
// people: 身份证号, 手机号, 户号 and 姓名, or 居民编号.
func sheetRows(b []byte) ([]SheetRow, error) {
	// Within the import's unzip limits, and row by row: a small bomb is refused unread.
	x, err := people.OpenWorkbook(b)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	it, err := x.Rows(x.GetSheetList()[0])
	if err != nil {
		return nil, fileError(errs.Invalid, "import.not_xlsx")
	}
	defer it.Close()
	cols := map[string]int{}
	var rows []SheetRow
	for n := 1; it.Next(); n++ {
		cells, err := it.Columns()
		if err != nil {
			return nil, fileError(errs.Invalid, "import.not_xlsx")
		}
		if n == 1 {
			for i, c := range cells {
				if c = strings.TrimSpace(c); slices.Contains(SheetColumns, c) {
					if _, dup := cols[c]; !dup {
						cols[c] = i
					}
				}
			}
			_, id := cols[colIDNumber]
			_, phone := cols[colPhone]
			_, rid := cols[colResidentID]
			_, hh := cols[colHousehold]
			_, name := cols[colName]
			if !id && !phone && !rid && !(hh && name) {
				return nil, fileError(errs.Invalid, "bank.sheet_no_columns")
			}
			continue
		}
		row := SheetRow{Row: n, Cells: map[string]string{}}
		for c, i := range cols {
			if i < len(cells) && strings.TrimSpace(cells[i]) != "" {
				row.Cells[c] = cells[i]
			}
		}
		if len(row.Cells) > 0 {
			if len(rows) == MaxSheetRows {
				return nil, fileError(errs.Invalid, "bank.bulk_size")
			}
			rows = append(rows, row)
		}
	}
	if it.Error() != nil {
		return nil, fileError(errs.Invalid, "import.not_xlsx")
	}
	if len(cols) == 0 {
		return nil, fileError(errs.Invalid, "bank.sheet_no_columns")
	}
	return rows, nil
}
