package people

// The export of a village's register as a workbook.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/clock"
)

var statusNames = map[Status]string{Active: "在册", MovedOut: "迁出", Deceased: "死亡"}

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
			birth = r.BirthDate.Format(clock.DayLayout)
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
