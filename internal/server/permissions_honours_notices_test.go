package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"siwei/internal/demo"
)

// honoursNoticesMatrix holds the 公示栏's rows. The fixture's {honoursNotice} is a list of 前疃村 on
// notice naming the party member, with the resident's objection {honoursObjection} to it. A
// resident reads and objects; only the town's staff decide, publish, pay and withdraw; 东堡村's
// staff do not see 前疃村's list (404). Withdrawing comes last: it ends the notice.
var honoursNoticesMatrix = []perm{
	{"GET /honours/notices", "", "", "LAAAA"},
	{"GET /honours/notices/{id}", "/honours/notices/{honoursNotice}", "", "LANAA"},
	{"POST /honours/notices/{id}/objections", "/honours/notices/{honoursNotice}/objections", "item_id={neighbour}&reason=矩阵异议", "LAFFF"},
	{"GET /admin/honours/notices", "", "", "LFAAA"},
	{"GET /admin/honours/notices/{id}", "/admin/honours/notices/{honoursNotice}", "", "LFNAA"},
	{"POST /admin/honours/objections/{id}", "/admin/honours/objections/{honoursObjection}", "decision=矩阵处理&uphold=0", "LFNFA"},
	{"POST /admin/honours/notices/{id}/publish", "/admin/honours/notices/{honoursNotice}/publish", "confirmed=1", "LFNFA"},
	{"POST /admin/honours/notices/{id}/pay", "/admin/honours/notices/{honoursNotice}/pay", "", "LFNFA"},
	{"GET /api/v1/honours/notices", "", "", "LAAAA"},
	{"GET /api/v1/honours/notices/{id}", "/api/v1/honours/notices/{honoursNotice}", "", "LANAA"},
	{"POST /api/v1/honours/notices/{id}/objections", "/api/v1/honours/notices/{honoursNotice}/objections", `{"item_id":{neighbour},"reason":"矩阵异议"}`, "LAFFF"},
	{"POST /api/v1/honours/objections/{id}", "/api/v1/honours/objections/{honoursObjection}", `{"uphold":false,"decision":"矩阵处理"}`, "LFFFA"},
	{"POST /api/v1/honours/notices/{id}/publish", "/api/v1/honours/notices/{honoursNotice}/publish", "", "LFFFA"},
	{"POST /api/v1/honours/notices/{id}/pay", "/api/v1/honours/notices/{honoursNotice}/pay", "", "LFFFA"},
	{"POST /api/v1/honours/notices/{id}/withdraw", "/api/v1/honours/notices/{honoursNotice}/withdraw", `{"reason":"矩阵撤回"}`, "LFFFA"},
	{"POST /admin/honours/notices/{id}/withdraw", "/admin/honours/notices/{honoursNotice}/withdraw", "confirmed=1&reason=矩阵撤回", "LFNFA"},
}

// honoursNotices puts a list of 前疃村 on notice naming the party member ({neighbour}), with the
// resident's objection to it. The parts that open notices do it when a round or a contest closes
// or a month's list is made; the fixture writes the rows those parts write.
func (f *matrixFixture) honoursNotices(t *testing.T) {
	t.Helper()
	ctx, d := context.Background(), f.env.Sys.DB
	var resident int64
	if err := d.Read().QueryRowContext(ctx, `SELECT r.id FROM residents r JOIN accounts a ON a.resident_id = r.id WHERE a.phone = $1`, demo.PhoneResident).Scan(&resident); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var notice int64
	if err := d.Write().QueryRowContext(ctx, `INSERT INTO honours_notices (town_id, village_id, kind, ref_id, title, status, notice_until, created_by_name, created_at)
		VALUES ($1, $2, 'round', 999001, '矩阵评议结果', 'notice', $3, '矩阵', $4) RETURNING id`, f.env.Info.TownID, atoi(f.values["village"]), now.Add(7*24*time.Hour), now).Scan(&notice); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write().ExecContext(ctx, `INSERT INTO honours_notice_items (notice_id, item_id, rank, resident_id, village_id, label, detail) VALUES ($1, $2, 1, $2, $3, '矩阵好人', '助人为乐')`,
		notice, atoi(f.values["neighbour"]), atoi(f.values["village"])); err != nil {
		t.Fatal(err)
	}
	var objection int64
	if err := d.Write().QueryRowContext(ctx, `INSERT INTO honours_objections (notice_id, item_id, resident_id, reason, status, created_at) VALUES ($1, $2, $3, '矩阵的异议', 'open', $4) RETURNING id`,
		notice, atoi(f.values["neighbour"]), resident, now).Scan(&objection); err != nil {
		t.Fatal(err)
	}
	f.values["honoursNotice"] = fmt.Sprint(notice)
	f.values["honoursObjection"] = fmt.Sprint(objection)
}
