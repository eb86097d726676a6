package people

// The import of a register: a slot per upload, every row checked against the file and the
// register, then stored in one transaction or not at all.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

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
	// Each row's village is checked on its own; an actor who may import into none, or one without
	// an account, is refused before the file is read.
	if _, _, err := reach(a, auth.ResidentImport, townID); err != nil {
		return rep, err
	}
	if a.AccountID == 0 {
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
	rows, rowErrs := sh.check(a, town.Clock(s.Now).Today(), villages)
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
