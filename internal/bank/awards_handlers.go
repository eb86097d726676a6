package bank

import (
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

// awardView is the award page: a search for the resident, the single award form with the rules
// of the chosen resident's class, and the bulk form with its outcome per resident.
type awardView struct {
	Q         string
	Found     []people.Resident
	R         *people.Resident
	Class     people.MemberClass
	Balance   Balance
	Rules     []Rule
	TownRules []Rule
	Key       string
	BulkKey   string
	Bulk      []BulkResult
	Posted    int
}

func (h *Handlers) awardPage(w http.ResponseWriter, r *http.Request) {
	h.renderAward(w, r, nil, nil, nil)
}

func (h *Handlers) renderAward(w http.ResponseWriter, r *http.Request, form url.Values, ferr error, bulk []BulkResult) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := awardView{Key: newKey(), BulkKey: newKey(), Bulk: bulk}
	for _, b := range bulk {
		if b.Error == "" {
			v.Posted++
		}
	}
	var err error
	if v.Q, v.Found, err = h.search(r); err != nil {
		h.App.Error(w, r, err)
		return
	}
	rid := web.QueryInt(r, "resident_id")
	if form == nil {
		form = url.Values{}
		if rid != 0 {
			form.Set("resident_id", strconv.FormatInt(rid, 10))
		}
	} else if rid == 0 {
		rid = web.FormID(form.Get("resident_id"))
	}
	if rid != 0 {
		res, class, rules, err := h.rulesFor(ctx, a, rid)
		switch {
		case err == nil:
			v.R, v.Class, v.Rules = &res, class, rules
			if v.Balance, err = h.S.Account(ctx, a, rid); err != nil {
				h.App.Error(w, r, err)
				return
			}
		case ferr == nil:
			h.App.Error(w, r, err)
			return
		}
	}
	town, err := h.town(ctx, townOf(r))
	if err == nil {
		v.TownRules, err = h.S.RulesInForce(ctx, town.ID, 0, people.Villager, town.Clock(h.S.Now).Day())
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "admin_award.html", "bank.award.title", v, form, ferr)
}

func (h *Handlers) award(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	in := AwardInput{ResidentID: web.FormID(f.Get("resident_id")), RuleCode: f.Get("rule_code"), Reason: f.Get("reason"), IdempotencyKey: f.Get("idempotency_key")}
	res, err := h.S.Award(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.renderAward(w, r, f, err, nil)
		return
	}
	flash := "flash.awarded"
	if res.Pending != nil {
		flash = "flash.award_pending"
	}
	web.Redirect(w, r, fmt.Sprintf("/admin/bank/award?resident_id=%d&flash=%s", in.ResidentID, flash))
}

// maxBulkUpload bounds a bulk award's workbook.
const maxBulkUpload = 10 << 20

// bulkColumn is the heading of the column of resident ids in a bulk award workbook.
const bulkColumn = "居民编号"

func (h *Handlers) bulkAward(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBulkUpload+1<<20)
	ids, err := bulkIDs(r)
	var results []BulkResult
	if err == nil {
		results, err = h.S.BulkAward(r.Context(), auth.From(r.Context()), ids, r.PostForm.Get("rule_code"), r.PostForm.Get("reason"), r.PostForm.Get("idempotency_key"))
	}
	h.renderAward(w, r, r.PostForm, err, results)
}

// fileError is a refusal of an uploaded file.
func fileError(code errs.Code, key string, args ...any) error {
	return &errs.Error{Code: code, Key: key, Args: args, Fields: []errs.FieldError{{Field: "file", Key: key, Args: args}}}
}

// bulkIDs reads the residents of a bulk award, once each: the ids typed into the box, and the
// 居民编号 column of an uploaded workbook.
func bulkIDs(r *http.Request) (ids []int64, err error) {
	// excelize panics on some malformed workbooks; an upload is refused, never a 500.
	defer func() {
		if p := recover(); p != nil {
			ids, err = nil, fileError(errs.Invalid, "import.not_xlsx")
		}
	}()
	var mbe *http.MaxBytesError
	if err := r.ParseMultipartForm(8 << 20); errors.As(err, &mbe) {
		return nil, fileError(errs.TooLarge, "import.too_large")
	} else if err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return nil, fileError(errs.Invalid, "import.no_file")
	}
	seen := map[int64]bool{}
	add := func(id int64) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sep := func(c rune) bool { return unicode.IsSpace(c) || strings.ContainsRune(",，、;；", c) }
	for _, tok := range strings.FieldsFunc(r.PostForm.Get("resident_ids"), sep) {
		id, err := strconv.ParseInt(tok, 10, 64)
		if err != nil || id <= 0 {
			return nil, errs.Field("resident_ids", "bank.bulk_bad_id", tok)
		}
		add(id)
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return ids, nil
	}
	defer file.Close()
	if hdr.Size > maxBulkUpload {
		return nil, fileError(errs.TooLarge, "import.too_large")
	}
	b, err := io.ReadAll(file)
	if err != nil {
		return nil, fileError(errs.Invalid, "import.no_file")
	}
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
	col, n := -1, 0
	for it.Next() {
		n++
		row, err := it.Columns()
		if err != nil {
			return nil, fileError(errs.Invalid, "import.not_xlsx")
		}
		if n == 1 {
			if col = slices.IndexFunc(row, func(c string) bool { return strings.TrimSpace(c) == bulkColumn }); col < 0 {
				return nil, fileError(errs.Invalid, "bank.bulk_no_column", bulkColumn)
			}
			continue
		}
		if col >= len(row) || strings.TrimSpace(row[col]) == "" {
			continue
		}
		id, err := strconv.ParseInt(strings.TrimSpace(row[col]), 10, 64)
		if err != nil || id <= 0 {
			return nil, fileError(errs.Invalid, "bank.bulk_bad_row", n)
		}
		add(id)
	}
	if it.Error() != nil {
		return nil, fileError(errs.Invalid, "import.not_xlsx")
	}
	if col < 0 {
		return nil, fileError(errs.Invalid, "bank.bulk_no_column", bulkColumn)
	}
	return ids, nil
}
