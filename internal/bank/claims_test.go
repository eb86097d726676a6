package bank_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// claimEnv is the demo town with rules for claims, the demo accounts logged in, and a bank clock
// the tests move forward to end notice periods.
type claimEnv struct {
	ctx       context.Context
	t         *testing.T
	d         *db.DB
	ps        *people.Service
	as        *auth.Service
	bs        *bank.Service
	clock     *atomic.Int64 // unix microseconds
	town      people.Town
	qt, dp    people.Village // 前疃村, 东堡村
	resident  *auth.Actor    // 13900000011, a 前疃村 villager
	party     *auth.Actor    // 13900000012, a 前疃村 party member
	townAdmin *auth.Actor
	qtAdmin   *auth.Actor // 前疃村's village admin
	dpAdmin   *auth.Actor // 东堡村's village admin
	minor     people.Resident
	dpPerson  int64 // an active resident of 东堡村
	today     string
}

func newClaimEnv(t *testing.T, d *db.DB) *claimEnv {
	t.Helper()
	ctx := context.Background()
	cipher, err := people.NewCipher(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &claimEnv{ctx: ctx, t: t, d: d, ps: people.NewService(d, cipher), as: auth.NewService(d), clock: &atomic.Int64{}}
	info, err := demo.Ensure(ctx, d, e.ps, e.as, demo.Options{Residents: 60})
	if err != nil {
		t.Fatal(err)
	}
	e.bs = e.newBank()
	if e.town, err = e.ps.Town(ctx, info.TownID); err != nil {
		t.Fatal(err)
	}
	if e.qt, err = e.ps.VillageByName(ctx, info.TownID, "前疃村"); err != nil {
		t.Fatal(err)
	}
	if e.dp, err = e.ps.VillageByName(ctx, info.TownID, "东堡村"); err != nil {
		t.Fatal(err)
	}
	e.clock.Store(db.Now().UnixMicro())
	now := e.town.Today(time.Now())
	e.today = now.Format("2006-01-02")
	e.resident, e.party = e.login(demo.PhoneResident), e.login(demo.PhonePartyMember)
	e.townAdmin, e.qtAdmin, e.dpAdmin = e.login(demo.PhoneTownAdmin), e.login(demo.PhoneVillageAdmin), e.login(demo.PhoneVillageAdmin2)

	since := now.AddDate(0, -1, 0).Format("2006-01-02")
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		sets := map[people.MemberClass][]bank.RuleInput{
			people.Villager: {
				{Code: "notice", Name: "公益劳动", Points: 10, NoticeRequired: true},
				{Code: "quick", Name: "随手做好事", Points: 3},
				{Code: "photo", Name: "美化庭院", Points: 4, EvidenceRequired: true, NoticeRequired: true},
				{Code: "daily", Name: "每日一善", Points: 2, CapPeriod: "day", CapCount: 1, NoticeRequired: true},
				{Code: "once", Name: "每日签到", Points: 1, CapPeriod: "day", CapCount: 1},
			},
			people.PartyMember: {{Code: "lead", Name: "党员先锋", Points: 20, NoticeRequired: true}},
			people.Minor:       {{Code: "study", Name: "好好学习", Points: 6, NoticeRequired: true}},
		}
		for class, rules := range sets {
			if _, err := e.bs.InsertVersion(ctx, tx, bank.VersionInput{TownID: info.TownID, Class: class, AdoptedBy: "村民代表大会",
				AdoptedOn: since, Resolution: "潞决〔2026〕7号", EffectiveFrom: since, Rules: rules}, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A minor of 前疃村, ten years old, for the notice board.
	birth := now.AddDate(-10, 0, 0)
	first := demo.AreaCode + birth.Format("20060102") + "041"
	e.minor, err = e.ps.CreateResident(ctx, e.townAdmin, people.ResidentInput{VillageID: e.qt.ID, HouseholdNumber: "001-0900",
		Name: "贾小宝", Gender: people.Male, BirthDate: birth.Format("2006-01-02"), IDNumber: first + string(people.IDCheckChar(first)), Relation: "子"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Read().QueryRowContext(ctx, `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' ORDER BY id LIMIT 1`, e.dp.ID).Scan(&e.dpPerson); err != nil {
		t.Fatal(err)
	}
	return e
}

// newBank is another app server's bank on the same database and clock.
func (e *claimEnv) newBank() *bank.Service {
	bs := bank.NewService(e.d, e.ps)
	bs.Now = func() time.Time { return time.UnixMicro(e.clock.Load()).UTC() }
	return bs
}

// later moves the bank's clock forward.
func (e *claimEnv) later(d time.Duration) { e.clock.Add(d.Microseconds()) }

func (e *claimEnv) login(phone string) *auth.Actor {
	e.t.Helper()
	s, err := e.as.Login(e.ctx, phone, demo.DemoPassword, "127.0.0.1", "web")
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := e.as.Authenticate(e.ctx, s.Token)
	if err != nil || a == nil {
		e.t.Fatalf("authenticate %s: %v", phone, err)
	}
	return a
}

// office logs in as staff in a fresh session in office mode for a resident.
func (e *claimEnv) office(phone string, residentID int64) *auth.Actor {
	e.t.Helper()
	s, err := e.as.Login(e.ctx, phone, demo.DemoPassword, "127.0.0.1", "web")
	if err != nil {
		e.t.Fatal(err)
	}
	a, _ := e.as.Authenticate(e.ctx, s.Token)
	if err := e.as.StartOffice(e.ctx, a, residentID); err != nil {
		e.t.Fatal(err)
	}
	if a, err = e.as.Authenticate(e.ctx, s.Token); err != nil || a == nil || a.ActingFor == nil {
		e.t.Fatalf("office mode: %v", err)
	}
	return a
}

func (e *claimEnv) claim(a *auth.Actor, rule string, photos ...[]byte) bank.Claim {
	e.t.Helper()
	// Tests of other things file the same rule for the same day freely: the question a likely
	// duplicate asks first is TestClaimDuplicateAsksFirst's.
	c, err := e.bs.Claim(e.ctx, a, bank.ClaimInput{RuleCode: rule, Description: "清理村口垃圾", HappenedOn: e.today, Photos: photos, ConfirmDuplicate: true})
	if err != nil {
		e.t.Fatalf("claim %s: %v", rule, err)
	}
	return c
}

// approved is a claim by the demo resident, approved by 前疃村's admin.
func (e *claimEnv) approved(rule string) bank.Claim {
	e.t.Helper()
	c, err := e.bs.Review(e.ctx, e.qtAdmin, e.claim(e.resident, rule).ID, true, "")
	if err != nil {
		e.t.Fatalf("approve: %v", err)
	}
	return c
}

// earn pays one event through Earn, as a pillar does, and answers as Award would.
func (e *claimEnv) earn(a *auth.Actor, in bank.AwardInput) (bank.AwardResult, error) {
	res, err := e.bs.Earn(e.ctx, a, []bank.Earning{{Key: in.IdempotencyKey, ResidentID: in.ResidentID, RuleCode: in.RuleCode, Reason: in.Reason}})
	if err != nil {
		return bank.AwardResult{}, err
	}
	return res[0].AwardResult, res[0].Err
}

func (e *claimEnv) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.d.Read().QueryRowContext(e.ctx, query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (e *claimEnv) balance(resident int64) int64 {
	e.t.Helper()
	var b int64
	err := e.d.Read().QueryRowContext(e.ctx, `SELECT balance FROM bank_accounts WHERE resident_id = $1`, resident).Scan(&b)
	if err != nil && !db.IsNoRows(err) {
		e.t.Fatal(err)
	}
	return b
}

func (e *claimEnv) get(id int64) bank.Claim {
	e.t.Helper()
	c, err := e.bs.ClaimByID(e.ctx, e.qtAdmin, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *claimEnv) postDue(want int) {
	e.t.Helper()
	n, err := e.bs.PostDueClaims(e.ctx)
	if err != nil || n != want {
		e.t.Fatalf("PostDueClaims = %d, %v; want %d", n, err, want)
	}
}

// claimRefusal renders a refusal as "code key field:key…" for exact comparison.
func claimRefusal(err error) string {
	e, ok := errs.As(err)
	if !ok {
		return fmt.Sprintf("not a refusal: %v", err)
	}
	s := string(e.Code) + " " + e.Key
	for _, f := range e.Fields {
		s += " " + f.Field + ":" + f.Key
	}
	return s
}

func wantClaimRefusal(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := claimRefusal(err); got != want {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func claimPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Pix[y*m.Stride+x*4+0] = uint8(x * 255 / w)
			m.Pix[y*m.Stride+x*4+1] = uint8(y * 255 / h)
			m.Pix[y*m.Stride+x*4+2] = 128
			m.Pix[y*m.Stride+x*4+3] = 255
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func claimJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withEXIF puts an APP1 EXIF block after a JPEG's SOI: orientation o and a GPS latitude.
func withEXIF(j []byte, o uint16) []byte {
	var t bytes.Buffer
	t.WriteString("MM\x00\x2a")
	binary.Write(&t, binary.BigEndian, uint32(8))
	binary.Write(&t, binary.BigEndian, uint16(2)) // IFD0: orientation, GPS IFD pointer
	binary.Write(&t, binary.BigEndian, []uint16{0x0112, 3})
	binary.Write(&t, binary.BigEndian, uint32(1))
	binary.Write(&t, binary.BigEndian, []uint16{o, 0})
	binary.Write(&t, binary.BigEndian, []uint16{0x8825, 4})
	binary.Write(&t, binary.BigEndian, []uint32{1, 38})
	binary.Write(&t, binary.BigEndian, uint32(0))
	binary.Write(&t, binary.BigEndian, uint16(1)) // GPS IFD at 38: GPSLatitudeRef "N"
	binary.Write(&t, binary.BigEndian, []uint16{0x0001, 2})
	binary.Write(&t, binary.BigEndian, uint32(2))
	t.WriteString("N\x00\x00\x00")
	binary.Write(&t, binary.BigEndian, uint32(0))
	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// TestClaimNoticeAndPosting follows a claim from the resident through review and the notice
// board to the ledger, posted once by two servers' schedulers racing each other.
func TestClaimNoticeAndPosting(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newClaimEnv(t, d)
		me := e.resident.ResidentID
		c := e.claim(e.resident, "notice")
		if c.Status != bank.ClaimPending || c.Points != 10 || c.ResidentID != me || c.RecordedByName != e.resident.Name || c.RuleName != "公益劳动" || c.HappenedOn != e.today {
			t.Fatalf("claim = %+v", c)
		}
		c, err := e.bs.Review(e.ctx, e.qtAdmin, c.ID, true, "属实")
		if err != nil {
			t.Fatal(err)
		}
		wantUntil := time.UnixMicro(e.clock.Load()).Add(bank.NoticePeriod)
		if c.Status != bank.ClaimNotice || !c.NoticeUntil.Equal(wantUntil) || c.ReviewedByName != e.qtAdmin.Name || c.ReviewReason != "属实" {
			t.Fatalf("approved claim = %+v, want notice until %v", c, wantUntil)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'bank.claim.review' AND entity_id = $1`, c.ID); n != 1 {
			t.Errorf("review audit rows = %d", n)
		}

		e.later(bank.NoticePeriod - time.Minute)
		e.postDue(0)
		if b := e.balance(me); b != 0 {
			t.Fatalf("balance before the notice ended = %d", b)
		}

		e.later(2 * time.Minute)
		other := e.newBank()
		var wg sync.WaitGroup
		var posted atomic.Int64
		for _, bs := range []*bank.Service{e.bs, other, e.bs, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 2 {
					n, err := bs.PostDueClaims(e.ctx)
					if err != nil {
						t.Error(err)
					}
					posted.Add(int64(n))
				}
			}()
		}
		wg.Wait()
		if posted.Load() != 1 {
			t.Errorf("posted %d times, want once", posted.Load())
		}
		if b := e.balance(me); b != 10 {
			t.Errorf("balance = %d, want 10", b)
		}
		key := fmt.Sprintf("claim:%d", c.ID)
		if n := e.count(`SELECT COUNT(*) FROM bank_transactions WHERE idem_key = $1 AND kind = 'claim' AND amount = 10 AND resident_id = $2`, key, me); n != 1 {
			t.Errorf("%d transactions with key %s", n, key)
		}
		c = e.get(c.ID)
		var tx int64
		var approvedBy string
		if err := d.Read().QueryRowContext(e.ctx, `SELECT id, approved_by FROM bank_transactions WHERE idem_key = $1`, key).Scan(&tx, &approvedBy); err != nil {
			t.Fatal(err)
		}
		if c.Status != bank.ClaimPosted || c.TransactionID != tx || approvedBy != e.qtAdmin.Name {
			t.Errorf("posted claim = %+v (transaction %d approved by %q)", c, tx, approvedBy)
		}
		e.postDue(0)
	})
}

// TestClaimWithoutNoticePostsOnApproval: a rule without notice posts when approved, and a cap
// that is full refuses the approval and leaves the claim pending.
func TestClaimWithoutNoticePostsOnApproval(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newClaimEnv(t, d)
		me := e.resident.ResidentID
		c, err := e.bs.Review(e.ctx, e.qtAdmin, e.claim(e.resident, "quick").ID, true, "")
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != bank.ClaimPosted || c.TransactionID == 0 || e.balance(me) != 3 {
			t.Fatalf("claim = %+v, balance %d", c, e.balance(me))
		}
		if n := e.count(`SELECT COUNT(*) FROM bank_transactions WHERE idem_key = $1 AND id = $2`, fmt.Sprintf("claim:%d", c.ID), c.TransactionID); n != 1 {
			t.Errorf("transaction for claim:%d not found", c.ID)
		}
		_, err = e.bs.Review(e.ctx, e.qtAdmin, c.ID, true, "")
		wantClaimRefusal(t, "approve twice", err, "conflict bank.claim_not_pending")
		if e.balance(me) != 3 {
			t.Errorf("balance after a second approval = %d", e.balance(me))
		}

		first, second := e.claim(e.resident, "once"), e.claim(e.resident, "once")
		if _, err := e.bs.Review(e.ctx, e.qtAdmin, first.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		_, err = e.bs.Review(e.ctx, e.qtAdmin, second.ID, true, "")
		wantClaimRefusal(t, "approve past the cap", err, "conflict bank.cap_reached rule_code:bank.cap_reached")
		if c := e.get(second.ID); c.Status != bank.ClaimPending || c.ReviewedByName != "" || c.TransactionID != 0 || e.balance(me) != 4 {
			t.Errorf("claim refused by the cap = %+v, balance %d", c, e.balance(me))
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'bank.claim.review'`); n != 2 {
			t.Errorf("review audit rows = %d, want 2", n)
		}
	})
}

// TestClaimCapAppliesAtPosting: two claims under a rule capped at one a day both go on notice;
// when the notice ends one is posted and the other is rejected with the cap's key.
func TestClaimCapAppliesAtPosting(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newClaimEnv(t, d)
		a, b := e.approved("daily"), e.approved("daily")
		e.later(bank.NoticePeriod)
		e.postDue(1)
		a, b = e.get(a.ID), e.get(b.ID)
		if a.Status != bank.ClaimPosted || b.Status != bank.ClaimRejected || b.ReviewKey != "bank.claim_over_cap" || b.ReviewReason != "" {
			t.Errorf("claims after posting: %+v / %+v", a, b)
		}
		if e.balance(e.resident.ResidentID) != 2 {
			t.Errorf("balance = %d, want 2", e.balance(e.resident.ResidentID))
		}
		e.postDue(0)
	})
}

// TestObjections: an undecided objection holds the posting, a dismissed one lets it through, an
// upheld one rejects the claim; objections are refused after the notice, from another village,
// from the claimant, and twice.
func TestObjections(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newClaimEnv(t, d)
		me := e.resident.ResidentID
		held, upheld, late := e.approved("notice"), e.approved("notice"), e.approved("notice")

		o1, err := e.bs.Object(e.ctx, e.party, held.ID, "那天他不在村里")
		if err != nil {
			t.Fatal(err)
		}
		if o1.Status != "open" || o1.ResidentID != e.party.ResidentID {
			t.Errorf("objection = %+v", o1)
		}
		_, err = e.bs.Object(e.ctx, e.party, held.ID, "再说一次")
		wantClaimRefusal(t, "second objection", err, "conflict bank.objection_exists")
		_, err = e.bs.Object(e.ctx, e.party, held.ID, "  ")
		wantClaimRefusal(t, "empty reason", err, "invalid error.invalid reason:field.required")
		_, err = e.bs.Object(e.ctx, e.resident, held.ID, "我自己反对")
		wantClaimRefusal(t, "claimant objects", err, "forbidden bank.objection_own")
		_, err = e.bs.Object(e.ctx, e.office(demo.PhoneVillageAdmin2, e.dpPerson), held.ID, "别村的人")
		wantClaimRefusal(t, "resident of another village", err, "not_found error.not_found")
		_, err = e.bs.Object(e.ctx, e.qtAdmin, held.ID, "工作人员没有居民身份")
		wantClaimRefusal(t, "staff without a resident record", err, "forbidden error.forbidden")

		o2, err := e.bs.Object(e.ctx, e.office(demo.PhoneVillageAdmin, e.minor.ID), upheld.ID, "照片是别人家的")
		if err != nil {
			t.Fatal(err)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'bank.claim.object' AND entity_id = $1 AND for_resident_id = $2`, o2.ID, e.minor.ID); n != 1 {
			t.Errorf("office-mode objection audit rows = %d", n)
		}
		_, err = e.bs.DecideObjection(e.ctx, e.dpAdmin, o2.ID, true, "属实")
		wantClaimRefusal(t, "another village's admin decides", err, "not_found error.not_found")
		_, err = e.bs.DecideObjection(e.ctx, e.qtAdmin, o2.ID, true, "")
		wantClaimRefusal(t, "decision without words", err, "invalid error.invalid decision:field.required")
		if c, err := e.bs.DecideObjection(e.ctx, e.qtAdmin, o2.ID, true, "经核实照片不是本人"); err != nil {
			t.Fatal(err)
		} else if c.ID != upheld.ID || c.Status != bank.ClaimRejected {
			t.Errorf("an upheld objection returns the claim %d as %q, want %d rejected", c.ID, c.Status, upheld.ID)
		}
		_, err = e.bs.DecideObjection(e.ctx, e.qtAdmin, o2.ID, false, "改主意")
		wantClaimRefusal(t, "decide twice", err, "conflict bank.objection_decided")
		if c := e.get(upheld.ID); c.Status != bank.ClaimRejected || c.ReviewReason != "经核实照片不是本人" || len(c.Objections) != 1 || c.Objections[0].Status != "upheld" {
			t.Errorf("claim after an upheld objection = %+v", c)
		}

		e.later(bank.NoticePeriod + time.Second)
		_, err = e.bs.Object(e.ctx, e.party, late.ID, "晚了")
		wantClaimRefusal(t, "objection after the notice", err, "conflict bank.notice_over")
		e.postDue(1) // late only: held has an open objection, upheld is rejected
		if c := e.get(late.ID); c.Status != bank.ClaimPosted {
			t.Errorf("late = %+v", c)
		}
		if c := e.get(held.ID); c.Status != bank.ClaimNotice {
			t.Errorf("held = %+v", c)
		}
		if c, err := e.bs.DecideObjection(e.ctx, e.qtAdmin, o1.ID, false, "有人证明他在"); err != nil {
			t.Fatal(err)
		} else if c.ID != held.ID || c.Status != bank.ClaimNotice {
			t.Errorf("a dismissed objection returns the claim %d as %q, want %d on notice", c.ID, c.Status, held.ID)
		}
		e.postDue(1)
		if e.balance(me) != 20 {
			t.Errorf("balance = %d, want 20 (two claims of 10)", e.balance(me))
		}
		if c := e.get(upheld.ID); c.Status != bank.ClaimRejected || c.TransactionID != 0 {
			t.Errorf("upheld claim after the scheduler = %+v", c)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'bank.objection.decide'`); n != 2 {
			t.Errorf("decision audit rows = %d", n)
		}
	})
}

// TestReviewRefusals: nobody approves what they recorded or what is theirs, other villages'
// staff cannot see the claim, a rejection needs a reason, and only pending claims are reviewed.
func TestReviewRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newClaimEnv(t, d)
		me := e.resident.ResidentID
		office := e.office(demo.PhoneVillageAdmin, me)
		recorded := e.claim(office, "notice")
		if recorded.ResidentID != me || recorded.RecordedByName != e.qtAdmin.Name {
			t.Fatalf("office claim = %+v", recorded)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'bank.claim.create' AND entity_id = $1 AND for_resident_id = $2`, recorded.ID, me); n != 1 {
			t.Errorf("office-mode claim audit rows = %d", n)
		}
		_, err := e.bs.Review(e.ctx, office, recorded.ID, true, "")
		wantClaimRefusal(t, "recorder in office mode approves", err, "forbidden bank.self_approval")
		_, err = e.bs.Review(e.ctx, e.qtAdmin, recorded.ID, true, "")
		wantClaimRefusal(t, "recorder approves", err, "forbidden bank.self_approval")
		own := e.claim(e.resident, "notice")
		_, err = e.bs.Review(e.ctx, e.office(demo.PhoneTownAdmin, me), own.ID, true, "")
		wantClaimRefusal(t, "staff acting for the claimant approves", err, "forbidden bank.self_approval")
		_, err = e.bs.Review(e.ctx, e.resident, own.ID, true, "")
		wantClaimRefusal(t, "claimant approves", err, "not_found error.not_found")
		_, err = e.bs.Review(e.ctx, e.dpAdmin, own.ID, true, "")
		wantClaimRefusal(t, "another village's admin", err, "not_found error.not_found")
		_, err = e.bs.Review(e.ctx, e.qtAdmin, own.ID, false, " ")
		wantClaimRefusal(t, "reject without a reason", err, "invalid error.invalid reason:field.required")
		_, err = e.bs.Review(e.ctx, e.qtAdmin, 999999, true, "")
		wantClaimRefusal(t, "no such claim", err, "not_found error.not_found")
		if c := e.get(own.ID); c.Status != bank.ClaimPending || c.ReviewedByName != "" {
			t.Errorf("claim after refused reviews = %+v", c)
		}

		c, err := e.bs.Review(e.ctx, e.townAdmin, recorded.ID, true, "")
		if err != nil || c.Status != bank.ClaimNotice {
			t.Fatalf("another reviewer approves: %+v, %v", c, err)
		}
		c, err = e.bs.Review(e.ctx, e.qtAdmin, own.ID, false, "重复申报")
		if err != nil || c.Status != bank.ClaimRejected || c.ReviewReason != "重复申报" {
			t.Fatalf("reject: %+v, %v", c, err)
		}
		_, err = e.bs.Review(e.ctx, e.qtAdmin, own.ID, true, "")
		wantClaimRefusal(t, "approve a rejected claim", err, "conflict bank.claim_not_pending")

		// The staff queue shows each village's claims to its own reviewers only.
		list, err := e.bs.Claims(e.ctx, e.qtAdmin, bank.ClaimFilter{Status: bank.ClaimNotice})
		if err != nil || len(list) != 1 || list[0].ID != recorded.ID {
			t.Errorf("前疃村's queue = %+v, %v", list, err)
		}
		list, err = e.bs.Claims(e.ctx, e.dpAdmin, bank.ClaimFilter{})
		if err != nil || len(list) != 0 {
			t.Errorf("东堡村's queue = %+v, %v", list, err)
		}
		_, err = e.bs.Claims(e.ctx, e.dpAdmin, bank.ClaimFilter{VillageID: e.qt.ID})
		wantClaimRefusal(t, "another village's queue", err, "not_found error.not_found")
		_, err = e.bs.Claims(e.ctx, e.resident, bank.ClaimFilter{})
		wantClaimRefusal(t, "a resident's queue", err, "forbidden error.forbidden")
		_, err = e.bs.Claims(e.ctx, e.qtAdmin, bank.ClaimFilter{Status: "lost"})
		wantClaimRefusal(t, "unknown status", err, "invalid error.invalid status:bank.claim_status_invalid")
		mine, err := e.bs.MyClaims(e.ctx, e.resident)
		if err != nil || len(mine) != 2 || mine[0].ID != own.ID || mine[1].ID != recorded.ID {
			t.Errorf("my claims = %+v, %v", mine, err)
		}
	})
}

// TestClaimRefusals: bad input is refused with the field and key, and nothing is stored.
func TestClaimRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newClaimEnv(t, d)
		tiny := claimPNG(t, 4, 4)
		huge := append(append([]byte{}, tiny...), make([]byte, bank.MaxPhotoBytes)...)
		gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
		today, _ := time.Parse("2006-01-02", e.today)
		ok := bank.ClaimInput{RuleCode: "notice", Description: "打扫卫生", HappenedOn: e.today}
		with := func(f func(*bank.ClaimInput)) bank.ClaimInput { in := ok; f(&in); return in }
		cases := []struct {
			name string
			a    *auth.Actor
			in   bank.ClaimInput
			want string
		}{
			{"unknown rule", e.resident, with(func(in *bank.ClaimInput) { in.RuleCode = "nope" }), "invalid error.invalid rule_code:bank.rule_unknown"},
			{"party rule for a villager", e.resident, with(func(in *bank.ClaimInput) { in.RuleCode = "lead" }), "invalid error.invalid rule_code:bank.rule_unknown"},
			{"no rule", e.resident, with(func(in *bank.ClaimInput) { in.RuleCode = " " }), "invalid error.invalid rule_code:field.required"},
			{"empty description", e.resident, with(func(in *bank.ClaimInput) { in.Description = "  " }), "invalid error.invalid description:field.required"},
			{"long description", e.resident, with(func(in *bank.ClaimInput) { in.Description = strings.Repeat("好", 501) }), "invalid error.invalid description:field.too_long"},
			{"no date", e.resident, with(func(in *bank.ClaimInput) { in.HappenedOn = "" }), "invalid error.invalid happened_on:field.required"},
			{"bad date", e.resident, with(func(in *bank.ClaimInput) { in.HappenedOn = "2026-13-01" }), "invalid error.invalid happened_on:people.date_invalid"},
			{"future date", e.resident, with(func(in *bank.ClaimInput) { in.HappenedOn = today.AddDate(0, 0, 1).Format("2006-01-02") }), "invalid error.invalid happened_on:people.date_future"},
			{"old date", e.resident, with(func(in *bank.ClaimInput) { in.HappenedOn = today.AddDate(-1, 0, -1).Format("2006-01-02") }), "invalid error.invalid happened_on:bank.date_too_old"},
			{"not an image", e.resident, with(func(in *bank.ClaimInput) { in.Photos = [][]byte{tiny, []byte("%PDF-1.4 not a photo")} }), "invalid error.invalid photos[1]:bank.photo_invalid"},
			{"gif", e.resident, with(func(in *bank.ClaimInput) { in.Photos = [][]byte{gif} }), "invalid error.invalid photos[0]:bank.photo_invalid"},
			{"photo too large", e.resident, with(func(in *bank.ClaimInput) { in.Photos = [][]byte{huge} }), "invalid error.invalid photos[0]:bank.photo_too_large"},
			{"too many photos", e.resident, with(func(in *bank.ClaimInput) { in.Photos = [][]byte{tiny, tiny, tiny, tiny} }), "invalid error.invalid photos:bank.photos_too_many"},
			{"evidence missing", e.resident, with(func(in *bank.ClaimInput) { in.RuleCode = "photo" }), "invalid error.invalid photos:bank.photo_required"},
			{"all at once", e.resident, bank.ClaimInput{RuleCode: "photo", HappenedOn: "昨天"},
				"invalid error.invalid description:field.required happened_on:people.date_invalid photos:bank.photo_required"},
			{"staff not in office mode", e.qtAdmin, ok, "forbidden error.forbidden"},
			{"nobody", nil, ok, "unauthorized error.unauthorized"},
		}
		tables := []string{"bank_claims", "bank_claim_photos", "bank_transactions", "audit_log"}
		before := map[string]int{}
		for _, tb := range tables {
			before[tb] = e.count(`SELECT COUNT(*) FROM ` + tb)
		}
		for _, tc := range cases {
			_, err := e.bs.Claim(e.ctx, tc.a, tc.in)
			wantClaimRefusal(t, tc.name, err, tc.want)
		}
		// In office mode an invalid claim writes no audit row either.
		_, err := e.bs.Claim(e.ctx, e.office(demo.PhoneVillageAdmin, e.resident.ResidentID), with(func(in *bank.ClaimInput) { in.RuleCode = "nope" }))
		wantClaimRefusal(t, "office mode, unknown rule", err, "invalid error.invalid rule_code:bank.rule_unknown")
		for _, tb := range tables {
			after := e.count(`SELECT COUNT(*) FROM ` + tb)
			if tb == "audit_log" {
				after-- // office.start
			}
			if after != before[tb] {
				t.Errorf("%s: %d rows before the refused claims, %d after", tb, before[tb], after)
			}
		}
	})
}

// TestClaimPhotoStoredReencoded: a 3000×2000 PNG is stored as a JPEG of 1600×1067, for the
// claimant and the village's reviewers only.
func TestClaimPhotoStoredReencoded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newClaimEnv(t, d)
		big := claimPNG(t, 3000, 2000)
		if len(big) > bank.MaxPhotoBytes {
			t.Fatalf("test photo is %d bytes", len(big))
		}
		c := e.claim(e.resident, "photo", big, withEXIF(claimJPEG(t, 40, 20), 6))
		if c.Photos != 2 {
			t.Fatalf("claim has %d photos", c.Photos)
		}
		var mime string
		var w, h int
		var data []byte
		if err := d.Read().QueryRowContext(e.ctx, `SELECT mime, width, height, data FROM bank_claim_photos WHERE claim_id = $1 ORDER BY id LIMIT 1`, c.ID).
			Scan(&mime, &w, &h, &data); err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || mime != "image/jpeg" || format != "jpeg" || w != 1600 || h != 1067 || cfg.Width != 1600 || cfg.Height != 1067 {
			t.Fatalf("stored photo: %s %d×%d, decodes as %s %d×%d (%v)", mime, w, h, format, cfg.Width, cfg.Height, err)
		}
		for _, a := range []*auth.Actor{e.resident, e.qtAdmin} {
			m, got, err := e.bs.ClaimPhoto(e.ctx, a, c.ID, 2)
			if err != nil || m != "image/jpeg" || bytes.Contains(got, []byte("Exif")) {
				t.Fatalf("photo 2 for %s: %s, %v", a.Name, m, err)
			}
			if cfg, _, err := image.DecodeConfig(bytes.NewReader(got)); err != nil || cfg.Width != 20 || cfg.Height != 40 {
				t.Errorf("photo 2 is %d×%d, want upright 20×40 (%v)", cfg.Width, cfg.Height, err)
			}
		}
		_, _, err = e.bs.ClaimPhoto(e.ctx, e.qtAdmin, c.ID, 3)
		wantClaimRefusal(t, "photo 3 of 2", err, "not_found error.not_found")
		_, _, err = e.bs.ClaimPhoto(e.ctx, e.dpAdmin, c.ID, 1)
		wantClaimRefusal(t, "another village's admin", err, "not_found error.not_found")
		_, _, err = e.bs.ClaimPhoto(e.ctx, e.party, c.ID, 1)
		wantClaimRefusal(t, "a neighbour before the notice", err, "not_found error.not_found")
		if _, err := e.bs.Review(e.ctx, e.qtAdmin, c.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.bs.ClaimPhoto(e.ctx, e.party, c.ID, 1); err != nil {
			t.Errorf("a neighbour during the notice: %v", err)
		}
	})
}

// TestNoticeBoard: staff awards under a notice rule go on the board approved; the board shows
// residents their neighbours' names but a minor's only as surname and ＊, and is closed to other
// villages.
func TestNoticeBoard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newClaimEnv(t, d)
		in := bank.AwardInput{ResidentID: e.minor.ID, RuleCode: "study", Reason: "期末考试进步", IdempotencyKey: "volunteer:term:2026:minor"}
		r, err := e.earn(e.qtAdmin, in)
		if err != nil {
			t.Fatal(err)
		}
		kid := r.Pending
		if kid == nil || kid.Status != bank.ClaimNotice || kid.RecordedByName != e.qtAdmin.Name || kid.ReviewedByName != e.qtAdmin.Name ||
			!kid.NoticeUntil.Equal(time.UnixMicro(e.clock.Load()).Add(bank.NoticePeriod)) || kid.Points != 6 || r.TransactionID != 0 {
			t.Fatalf("award on notice = %+v / %+v", r, kid)
		}
		again, err := e.earn(e.qtAdmin, in)
		if err != nil || again.Pending == nil || again.Pending.ID != kid.ID {
			t.Fatalf("replayed award = %+v, %v", again, err)
		}
		in.ResidentID = e.resident.ResidentID
		in.RuleCode = "notice"
		_, err = e.earn(e.qtAdmin, in)
		wantClaimRefusal(t, "key reused for another resident", err, "conflict bank.key_reused idempotency_key:bank.key_reused")
		if n := e.count(`SELECT COUNT(*) FROM bank_claims WHERE idem_key = $1`, "volunteer:term:2026:minor"); n != 1 {
			t.Errorf("%d claims for one award key", n)
		}
		adult := e.approved("notice")
		pending := e.claim(e.resident, "quick")

		board, err := e.bs.NoticeBoard(e.ctx, e.party, e.qt.ID)
		if err != nil {
			t.Fatal(err)
		}
		names := map[int64]string{}
		for _, c := range board {
			names[c.ID] = c.ResidentName
			if c.ID == kid.ID && c.ResidentID != 0 {
				t.Errorf("the minor's resident id is on the board")
			}
		}
		if len(board) != 2 || names[kid.ID] != "贾＊" || names[adult.ID] != e.resident.Name || names[pending.ID] != "" {
			t.Errorf("board = %v", names)
		}
		if staff, err := e.bs.NoticeBoard(e.ctx, e.qtAdmin, e.qt.ID); err != nil || len(staff) != 2 {
			t.Errorf("staff's board: %d claims, %v", len(staff), err)
		}
		_, err = e.bs.NoticeBoard(e.ctx, e.dpAdmin, e.qt.ID)
		wantClaimRefusal(t, "another village's admin", err, "not_found error.not_found")
		_, err = e.bs.NoticeBoard(e.ctx, e.office(demo.PhoneVillageAdmin2, e.dpPerson), e.qt.ID)
		wantClaimRefusal(t, "a resident of another village", err, "not_found error.not_found")
		_, _, err = e.bs.ClaimPhoto(e.ctx, e.party, kid.ID, 1)
		wantClaimRefusal(t, "a neighbour opens a minor's claim", err, "not_found error.not_found")

		// Objectors' names are for reviewers and the objector.
		if _, err := e.bs.Object(e.ctx, e.party, adult.ID, "有疑问"); err != nil {
			t.Fatal(err)
		}
		for _, v := range []struct {
			a    *auth.Actor
			name string
		}{{e.party, e.party.Name}, {e.qtAdmin, e.party.Name}, {e.resident, ""}} {
			c, err := e.bs.ClaimByID(e.ctx, v.a, adult.ID)
			if err != nil || len(c.Objections) != 1 || c.Objections[0].ResidentName != v.name {
				t.Errorf("objection seen by %s: %+v, %v", v.a.Name, c.Objections, err)
			}
		}

		e.later(bank.NoticePeriod)
		e.postDue(1) // the minor's; the adult's is held by the objection
		var approvedBy string
		if err := d.Read().QueryRowContext(e.ctx, `SELECT approved_by FROM bank_transactions WHERE idem_key = $1`, fmt.Sprintf("claim:%d", kid.ID)).Scan(&approvedBy); err != nil || approvedBy != e.qtAdmin.Name {
			t.Errorf("the award's posting approved by %q, %v", approvedBy, err)
		}
		if e.balance(e.minor.ID) != 6 {
			t.Errorf("minor's balance = %d", e.balance(e.minor.ID))
		}
		if board, err := e.bs.NoticeBoard(e.ctx, e.resident, e.qt.ID); err != nil || len(board) != 1 || board[0].ID != adult.ID {
			t.Errorf("board after the posting = %+v, %v", board, err)
		}
	})
}

// TestSchedulerStopsWithItsContext: RunScheduler posts due claims and returns when cancelled.
func TestClaimSchedulerStopsWithItsContext(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newClaimEnv(t, d)
		c := e.approved("notice")
		e.later(bank.NoticePeriod)
		ctx, cancel := context.WithCancel(e.ctx)
		done := make(chan struct{})
		go func() { e.bs.RunScheduler(ctx, 10*time.Millisecond, nil); close(done) }()
		deadline := time.Now().Add(10 * time.Second)
		for e.get(c.ID).Status != bank.ClaimPosted && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		if e.get(c.ID).Status != bank.ClaimPosted {
			t.Error("the scheduler did not post the claim")
		}
	})
}

func TestProcessPhoto(t *testing.T) {
	bomb := claimPNG(t, 1, 1)
	binary.BigEndian.PutUint32(bomb[16:], 10000)
	binary.BigEndian.PutUint32(bomb[20:], 5000)
	binary.BigEndian.PutUint32(bomb[29:], crc32.ChecksumIEEE(bomb[12:29]))
	cases := []struct {
		name string
		in   []byte
		key  string
		w, h int
	}{
		{"png", claimPNG(t, 30, 20), "", 30, 20},
		{"jpeg", claimJPEG(t, 20, 30), "", 20, 30},
		{"tall png", claimPNG(t, 10, 2000), "", 8, 1600},
		{"jpeg turned by exif", withEXIF(claimJPEG(t, 40, 20), 8), "", 20, 40},
		{"jpeg with a bad exif orientation", withEXIF(claimJPEG(t, 40, 20), 99), "", 40, 20},
		{"empty", nil, "bank.photo_invalid", 0, 0},
		{"text", []byte("hello, world"), "bank.photo_invalid", 0, 0},
		{"truncated png", claimPNG(t, 30, 20)[:60], "bank.photo_invalid", 0, 0},
		{"decompression bomb", bomb, "bank.photo_dimensions", 0, 0},
		{"too large", append(claimPNG(t, 2, 2), make([]byte, bank.MaxPhotoBytes)...), "bank.photo_too_large", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mime, w, h, out, err := bank.ProcessPhoto(tc.in)
			if tc.key != "" {
				if e, ok := errs.As(err); !ok || e.Key != tc.key {
					t.Fatalf("err = %v, want %s", err, tc.key)
				}
				return
			}
			if err != nil || mime != "image/jpeg" || w != tc.w || h != tc.h {
				t.Fatalf("got %s %d×%d, %v; want image/jpeg %d×%d", mime, w, h, err, tc.w, tc.h)
			}
			if bytes.Contains(out, []byte("Exif")) || bytes.Contains(out, []byte("MM\x00\x2a")) {
				t.Error("metadata survived re-encoding")
			}
			if cfg, err := jpeg.DecodeConfig(bytes.NewReader(out)); err != nil || cfg.Width != w || cfg.Height != h {
				t.Errorf("output decodes as %d×%d, %v", cfg.Width, cfg.Height, err)
			}
		})
	}
	// Downscaling averages: a 3200×10 image, black on the left and white on the right, becomes
	// 1600×5 with the halves where they were and a grey column where the two meet.
	halves := image.NewGray(image.Rect(0, 0, 3200, 10))
	for y := range 10 {
		for x := 1601; x < 3200; x++ {
			halves.Pix[y*halves.Stride+x] = 255
		}
	}
	var hb bytes.Buffer
	png.Encode(&hb, halves)
	if _, w, h, out, err := bank.ProcessPhoto(hb.Bytes()); err != nil || w != 1600 || h != 5 {
		t.Errorf("halves: %d×%d, %v", w, h, err)
	} else if img, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
		t.Error(err)
	} else {
		for _, p := range []struct{ x, lo, hi int }{{10, 0, 8}, {790, 0, 8}, {800, 100, 155}, {810, 247, 255}, {1590, 247, 255}} {
			if v, _, _, _ := img.At(p.x, 2).RGBA(); int(v>>8) < p.lo || int(v>>8) > p.hi {
				t.Errorf("halves at x=%d: %d, want %d–%d", p.x, v>>8, p.lo, p.hi)
			}
		}
	}
	// A transparent PNG is laid on white, not black.
	m := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	var b bytes.Buffer
	png.Encode(&b, m)
	_, _, _, out, err := bank.ProcessPhoto(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if r, g, bl, _ := img.At(4, 4).RGBA(); r>>8 < 250 || g>>8 < 250 || bl>>8 < 250 {
		t.Errorf("transparent pixel became %d,%d,%d", r>>8, g>>8, bl>>8)
	}
}

func FuzzProcessPhoto(f *testing.F) {
	f.Add(claimPNG(f, 3, 2))
	f.Add(claimJPEG(f, 5, 7))
	f.Add(withEXIF(claimJPEG(f, 4, 3), 6))
	f.Add([]byte("\x89PNG\r\n\x1a\n garbage"))
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff"))
	f.Add([]byte("not an image at all"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mime, w, h, out, err := bank.ProcessPhoto(b)
		if err != nil {
			if _, ok := errs.As(err); !ok {
				t.Fatalf("not a refusal: %v", err)
			}
			return
		}
		if mime != "image/jpeg" || w < 1 || h < 1 || max(w, h) > bank.MaxPhotoSide {
			t.Fatalf("got %s %d×%d", mime, w, h)
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(out)); err != nil || cfg.Width != w || cfg.Height != h {
			t.Fatalf("output decodes as %d×%d, %v", cfg.Width, cfg.Height, err)
		}
	})
}

// TestClaimDuplicateAsksFirst: a claim of the same rule for the same day as one filed in the last
// 24 hours is refused until the person confirms it is another deed; a rejected first claim, another
// day or a day later asks nothing.
func TestClaimDuplicateAsksFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newClaimEnv(t, d)
		in := bank.ClaimInput{RuleCode: "once", Description: "清理村口垃圾", HappenedOn: e.today}
		if _, err := e.bs.Claim(e.ctx, e.resident, in); err != nil {
			t.Fatal(err)
		}
		_, err := e.bs.Claim(e.ctx, e.resident, in)
		wantClaimRefusal(t, "the same claim again", err, "conflict bank.claim_duplicate confirm_duplicate:bank.claim_duplicate")
		if n := e.count(`SELECT COUNT(*) FROM bank_claims WHERE resident_id = $1`, e.resident.ResidentID); n != 1 {
			t.Fatalf("a refused duplicate stored a claim: %d claims", n)
		}
		other := in
		other.HappenedOn = e.town.Today(time.Now()).AddDate(0, 0, -1).Format("2006-01-02")
		if _, err := e.bs.Claim(e.ctx, e.resident, other); err != nil {
			t.Errorf("another day: %v", err)
		}
		in.ConfirmDuplicate = true
		if _, err := e.bs.Claim(e.ctx, e.resident, in); err != nil {
			t.Errorf("confirmed: %v", err)
		}
		in.ConfirmDuplicate = false
		e.later(errs.DuplicateWindow + time.Minute)
		if _, err := e.bs.Claim(e.ctx, e.resident, in); err != nil {
			t.Errorf("a day later: %v", err)
		}
		// Only rejected claims of the rule and day remain within the window: nothing to ask.
		if _, err := e.d.Write().ExecContext(e.ctx, `UPDATE bank_claims SET status = 'rejected' WHERE resident_id = $1`, e.resident.ResidentID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.bs.Claim(e.ctx, e.resident, in); err != nil {
			t.Errorf("after the others were rejected: %v", err)
		}
	})
}
