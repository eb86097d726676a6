package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/people"
)

// The district's shape: villages per town, and the mean household size (1 to 5 members).
const (
	districtVillages = 15
	districtTxSpan   = 24 // months of ledger history
)

// districtRules are the award rules every town adopts for the load: the history is posted under
// them, and the bench's awards under "bench".
var districtRules = []bank.RuleInput{{Code: "volunteer", Name: "志愿服务", Points: 5}, {Code: "clean", Name: "环境整治", Points: 2},
	{Code: "help", Name: "邻里互助", Points: 3}, {Code: "bench", Name: "压力测试", Points: 1}}

var districtReasons = []string{"参加志愿服务", "门前三包", "帮扶困难户", "垃圾分类", "参加党课", "调解邻里纠纷"}

var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾")
	givenNames = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志")
)

// districtLoader fills a fresh database with a district: its registry, the bank's accounts,
// cards and ledger, and a year of every pillar's history per town, by COPY on one connection.
type districtLoader struct {
	conn     *pgx.Conn
	d        *db.DB
	bank     *bank.Service
	o        districtOptions
	out      io.Writer
	now      time.Time
	start    time.Time
	deadline time.Time
	loc      *time.Location
	counts   map[string]int64
	stopped  string // why the ledger stopped short of --entries, if it did

	villages  []int64 // town of each village, by village id - 1
	residents []districtResident
	staff     []int64            // a staff login per town (id - 1)
	rules     []map[string]int64 // the villager rule ids of each town by code
	txs       int64              // transactions loaded
	acctBase  int64              // a resident's account id is acctBase + resident id
	shopBase  int64              // a village's shop account id is shopBase + village id
}

// districtResident is a resident as the loader placed them.
type districtResident struct {
	town, village int32
	household     int64
	party         bool
	birth         string
}

// mix is splitmix64: the loader's rows are functions of their number, so that the ledger's two
// passes (transactions, then entries) draw the same postings without keeping them.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// pick is a number below n drawn from (seed, stream, i).
func (l *districtLoader) pick(stream, i uint64, n int) int {
	return int(mix(l.o.Seed^mix(stream<<40^i)) % uint64(n))
}

// load copies the rows of seq into table, printing its progress and rate.
func (l *districtLoader) load(ctx context.Context, table string, cols []string, seq iter.Seq[[]any]) error {
	next, stop := iter.Pull(seq)
	defer stop()
	t0 := time.Now()
	last := t0
	var n int64
	src := pgx.CopyFromFunc(func() ([]any, error) {
		row, ok := next()
		if !ok {
			return nil, nil
		}
		if n++; n%50_000 == 0 && time.Since(last) > 10*time.Second {
			last = time.Now()
			fmt.Fprintf(l.out, "  %-22s %12d rows so far, %8.0f rows/s\n", table, n, float64(n)/time.Since(t0).Seconds())
		}
		return row, nil
	})
	got, err := l.conn.CopyFrom(ctx, pgx.Identifier{table}, cols, src)
	if err != nil {
		return fmt.Errorf("bench district: load %s: %w", table, err)
	}
	l.counts[table] += got
	el := time.Since(t0)
	fmt.Fprintf(l.out, "  %-22s %12d rows in %7.1fs, %8.0f rows/s\n", table, got, el.Seconds(), float64(got)/max(el.Seconds(), 1e-3))
	return nil
}

// exec runs a statement of the loader's own.
func (l *districtLoader) exec(ctx context.Context, q string, args ...any) error {
	if _, err := l.conn.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("bench district: %.60s: %w", q, err)
	}
	return nil
}

// run loads everything, in the order the references need.
func (l *districtLoader) run(ctx context.Context) error {
	// Without superuser rights this fails and the foreign keys are checked row by row: slower, the same rows.
	if _, err := l.conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		fmt.Fprintf(l.out, "  (foreign keys checked during the load: %v)\n", err)
	}
	// The earnings are summed and the ledger's indexes built in memory rather than in batches on disk.
	if err := l.exec(ctx, `SET maintenance_work_mem = '256MB'`); err != nil {
		return err
	}
	if err := l.exec(ctx, `SET work_mem = '256MB'`); err != nil {
		return err
	}
	steps := []func(context.Context) error{l.registry, l.logins, l.ruleSets, l.pillars, l.ledger}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	// The load ran without triggers (replica role), so who was active in each period is filled once
	// from the earnings and attendance, as the migration did for what came before it.
	t0 := time.Now()
	var active int64
	if err := l.conn.QueryRow(ctx, `SELECT active_periods_fill()`).Scan(&active); err != nil {
		return fmt.Errorf("bench district: active periods: %w", err)
	}
	l.counts["active_periods"] = active
	fmt.Fprintf(l.out, "  %-22s %12d rows in %7.1fs (from the earnings and attendance)\n", "active_periods", active, time.Since(t0).Seconds())
	for _, t := range []string{"towns", "villages", "households", "residents", "accounts", "bank_accounts", "bank_cards", "bank_transactions",
		"bank_entries", "volunteers", "volunteer_posts", "volunteer_shifts", "volunteer_signups", "school_experts", "school_courses",
		"school_orders", "school_lessons", "consult_meetings", "consult_topics", "consult_referrals", "flow_steps", "alliance_units",
		"alliance_activities", "dispute_cases", "honours_categories", "honours_wall"} {
		if err := l.exec(ctx, `SELECT setval(pg_get_serial_sequence('`+t+`', 'id'), COALESCE((SELECT MAX(id) FROM `+t+`), 0) + 1, false)`); err != nil {
			return err
		}
	}
	// VACUUM as well as ANALYZE: a district that has run a while has its visibility maps set by
	// autovacuum, so the dashboard's covering indexes (bank_earnings_town, active_periods_town)
	// answer from the index alone; right after a bulk load every row would be read from the heap
	// (a town's points to date read 50,000 heap pages in the first full run).
	t0 = time.Now()
	if err := l.exec(ctx, `VACUUM (ANALYZE)`); err != nil {
		return err
	}
	fmt.Fprintf(l.out, "  VACUUM (ANALYZE) in %.1fs\n", time.Since(t0).Seconds())
	return nil
}

// registry loads the towns, villages, households and residents, and keeps where each resident is.
func (l *districtLoader) registry(ctx context.Context) error {
	o := l.o
	at := l.start.AddDate(-3, 0, 0)
	err := l.load(ctx, "towns", []string{"id", "code", "name", "created_at"}, func(yield func([]any) bool) {
		for t := 1; t <= o.Towns; t++ {
			if !yield([]any{int64(t), fmt.Sprintf("T%03d", t), fmt.Sprintf("第%d镇", t), at}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	l.villages = make([]int64, o.Towns*districtVillages)
	err = l.load(ctx, "villages", []string{"id", "town_id", "code", "name", "created_at"}, func(yield func([]any) bool) {
		for i := range l.villages {
			t := int64(i/districtVillages + 1)
			l.villages[i] = t
			if !yield([]any{int64(i + 1), t, fmt.Sprintf("V%02d", i%districtVillages+1), fmt.Sprintf("第%d村", i%districtVillages+1), at}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	// Residents in households of 1 to 5, filling the villages of each town in turn.
	l.residents = make([]districtResident, o.Residents)
	var households []int64 // the village of each household, by id - 1
	perVillage := max(1, o.Residents/len(l.villages))
	for i := 0; i < o.Residents; {
		v := min(i/perVillage, len(l.villages)-1)
		size := 1 + l.pick(1, uint64(len(households)), 5)
		households = append(households, int64(v+1))
		for k := 0; k < size && i < o.Residents; k++ {
			birth := fmt.Sprintf("%d-%02d-%02d", 1935+l.pick(2, uint64(i), 88), 1+l.pick(3, uint64(i), 12), 1+l.pick(4, uint64(i), 28))
			l.residents[i] = districtResident{town: int32(l.villages[v]), village: int32(v + 1), household: int64(len(households)),
				party: l.pick(5, uint64(i), 100) < 8, birth: birth}
			i++
		}
	}
	heads := make([]int64, len(households))
	for i := len(l.residents) - 1; i >= 0; i-- {
		heads[l.residents[i].household-1] = int64(i + 1)
	}
	err = l.load(ctx, "households", []string{"id", "village_id", "number", "head_resident_id", "created_at"}, func(yield func([]any) bool) {
		for i, v := range households {
			if !yield([]any{int64(i + 1), v, fmt.Sprintf("H%07d", i+1), heads[i], at}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return l.load(ctx, "residents", []string{"id", "town_id", "village_id", "household_id", "name", "gender", "birth_date", "id_enc", "id_hash",
		"id_masked", "phone", "relation", "party_member", "registered_on", "created_at", "updated_at"}, func(yield func([]any) bool) {
		for i, r := range l.residents {
			id := int64(i + 1)
			name := string([]rune{surnames[l.pick(6, uint64(i), len(surnames))], givenNames[l.pick(7, uint64(i), len(givenNames))]})
			gender := "M"
			if i%2 == 1 {
				gender = "F"
			}
			relation := "member"
			if heads[r.household-1] == id {
				relation = "head"
			}
			enc := binary.BigEndian.AppendUint64(nil, uint64(id))
			if !yield([]any{id, int64(r.town), int64(r.village), r.household, name, gender, r.birth, enc, fmt.Sprintf("bench-%d", id),
				"110***********" + fmt.Sprintf("%04d", id%10000), fmt.Sprintf("139%08d", id), relation, r.party, at.Format(time.DateOnly), at, at}) {
				return
			}
		}
	})
}

// logins loads the residents' logins (about 65% of them), a staff login per town, the cards and
// the bank's accounts other than the residents' (those are loaded with their balances after the
// ledger).
func (l *districtLoader) logins(ctx context.Context) error {
	o := l.o
	at := l.start.AddDate(-2, 0, 0)
	var id int64
	err := l.load(ctx, "accounts", []string{"id", "phone", "name", "resident_id", "created_at"}, func(yield func([]any) bool) {
		for t := 1; t <= o.Towns; t++ {
			id++
			l.staff = append(l.staff, id)
			if !yield([]any{id, fmt.Sprintf("100%08d", t), fmt.Sprintf("第%d镇工作人员", t), nil, at}) {
				return
			}
		}
		for i := range l.residents {
			if l.pick(8, uint64(i), 100) >= 65 {
				continue
			}
			id++
			// Logins came over the two years, so that the user count grows month by month.
			when := at.Add(time.Duration(l.pick(9, uint64(i), 700*24)) * time.Hour)
			if !yield([]any{id, fmt.Sprintf("139%08d", i+1), "居民", int64(i + 1), when}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	err = l.load(ctx, "bank_cards", []string{"id", "resident_id", "number", "status", "issued_at"}, func(yield func([]any) bool) {
		for i, r := range l.residents {
			when := at.Add(time.Duration(l.pick(10, uint64(i), 700*24)) * time.Hour)
			if !yield([]any{int64(i + 1), int64(i + 1), fmt.Sprintf("T%03d-%07d", r.town, i+1), "active", when}) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	// Issuing sub-accounts first (town t's shard s is (t-1)*IssuingShards+s+1), then the shops.
	l.shopBase = int64(o.Towns * bank.IssuingShards)
	l.acctBase = l.shopBase + int64(len(l.villages))
	return l.load(ctx, "bank_accounts", []string{"id", "kind", "town_id", "village_id", "shard", "created_at"}, func(yield func([]any) bool) {
		for t := 1; t <= o.Towns; t++ {
			for s := 0; s < bank.IssuingShards; s++ {
				if !yield([]any{int64((t-1)*bank.IssuingShards + s + 1), "issuing", int64(t), nil, int64(s), at}) {
					return
				}
			}
		}
		for v, t := range l.villages {
			if !yield([]any{l.shopBase + int64(v+1), "shop", t, int64(v + 1), int64(0), at}) {
				return
			}
		}
	})
}

// ruleSets adopts districtRules in every town for every member class, through the bank.
func (l *districtLoader) ruleSets(ctx context.Context) error {
	bs := l.bank
	t0 := time.Now()
	err := l.d.Tx(ctx, func(tx *sql.Tx) error {
		for t := 1; t <= l.o.Towns; t++ {
			for _, c := range []people.MemberClass{people.Villager, people.PartyMember, people.Minor} {
				if _, err := bs.InsertVersion(ctx, tx, bank.VersionInput{TownID: int64(t), Class: c, AdoptedBy: "村民代表大会",
					AdoptedOn: "2024-01-01", EffectiveFrom: "2024-01-01", Rules: districtRules}, 0); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bench district: rules: %w", err)
	}
	l.rules = make([]map[string]int64, l.o.Towns)
	rows, err := l.conn.Query(ctx, `SELECT s.town_id, r.code, r.id FROM bank_rules r JOIN bank_rule_versions v ON v.id = r.version_id
		JOIN bank_rule_sets s ON s.id = v.rule_set_id WHERE s.class = 'villager'`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var town, id int64
		var code string
		if err := rows.Scan(&town, &code, &id); err != nil {
			return err
		}
		if l.rules[town-1] == nil {
			l.rules[town-1] = map[string]int64{}
		}
		l.rules[town-1][code] = id
	}
	fmt.Fprintf(l.out, "  %-22s %12d towns in %7.1fs\n", "bank_rule_sets", l.o.Towns, time.Since(t0).Seconds())
	return rows.Err()
}

// posting is transaction i of the history: whose, under which rule, how much, when.
type posting struct {
	resident int64
	town     int64
	rule     bank.RuleInput
	reason   string
	at       time.Time
}

// postingAt draws transaction i of n, spread evenly over the last districtTxSpan months so that
// the chain runs forward in time.
func (l *districtLoader) postingAt(i, n int64) posting {
	first := l.now.AddDate(0, -districtTxSpan, 0)
	span := l.now.Add(-time.Minute).Sub(first)
	p := posting{resident: int64(l.pick(11, uint64(i), len(l.residents))) + 1}
	p.town = int64(l.residents[p.resident-1].town)
	p.rule = districtRules[l.pick(12, uint64(i), len(districtRules)-1)]
	p.reason = districtReasons[l.pick(13, uint64(i), len(districtReasons))]
	p.at = first.Add(time.Duration(float64(span) * float64(i) / float64(n))).UTC().Truncate(time.Microsecond)
	return p
}

// common is the hashed content both entries of a posting share, as bank's Content.common.
func (p posting) common() string {
	return fmt.Sprintf("%s|%d|%s|%q|%q|%d", "award", p.resident, p.rule.Code, p.reason, "", 0)
}

// chainHead is an account's end of chain while the entries are drawn.
type chainHead struct {
	balance, seq, earned int64
	hash                 string
}

// entryHash is an entry's hash as the bank takes it (bank's entry.sum over its hashText).
func entryHash(prev string, account, seq, tx, amount, balance int64, at time.Time, common, kind string, owner int64) string {
	text := strings.Join([]string{prev, strconv.FormatInt(account, 10), strconv.FormatInt(seq, 10), strconv.FormatInt(tx, 10),
		strconv.FormatInt(amount, 10), strconv.FormatInt(balance, 10), strconv.FormatInt(at.UTC().UnixMicro(), 10), common, kind,
		strconv.FormatInt(owner, 10)}, "|")
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}

// ledger loads the transactions, then their entries with each account's hash chain, then the
// residents' accounts at the chain's end, then the earnings summed from the transactions. The
// ledger's tables lose their secondary indexes for the load and get them back after, which is
// quicker than keeping them up row by row. The transactions stop early when a third of what is
// left of --max-load has gone, so that the entries (twice as many rows) fit in the rest.
func (l *districtLoader) ledger(ctx context.Context) error {
	tables := []string{"bank_transactions", "bank_entries", "bank_earnings"}
	rebuild, err := l.dropIndexes(ctx, tables)
	if err != nil {
		return err
	}
	want := l.o.Entries / 2
	budget := time.Until(l.deadline) / 3
	txStop := time.Now().Add(budget)
	err = l.load(ctx, "bank_transactions", []string{"id", "town_id", "kind", "idem_key", "request_hash", "resident_id", "rule_id", "rule_code",
		"amount", "reason", "actor_name", "period", "created_at"}, func(yield func([]any) bool) {
		for i := int64(0); i < want; i++ {
			if i%10_000 == 0 && time.Now().After(txStop) {
				l.stopped = fmt.Sprintf("the ledger stopped at %d of %d transactions: a third of --max-load's time left had gone", i, want)
				return
			}
			p := l.postingAt(i, want)
			ruleID := l.rules[p.town-1][p.rule.Code]
			digest := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%d|%d|%d|%s|%d|%s", "award", p.resident, ruleID, p.rule.Points, 0, p.reason, 0, "")))
			if !yield([]any{i + 1, p.town, "award", "acct:-1:district-" + strconv.FormatInt(i+1, 10), hex.EncodeToString(digest[:16]),
				p.resident, ruleID, p.rule.Code, p.rule.Points, p.reason, "siwei bench district", p.at.In(l.loc).Format("2006-01"), p.at}) {
				return
			}
			l.txs = i + 1
		}
	})
	if err != nil {
		return err
	}
	if l.stopped != "" {
		fmt.Fprintln(l.out, "  "+l.stopped)
	}
	n := l.txs
	heads := make([]chainHead, len(l.residents))
	issuing := make([]chainHead, l.o.Towns*bank.IssuingShards)
	err = l.load(ctx, "bank_entries", []string{"id", "transaction_id", "account_id", "seq", "amount", "balance_after", "prev_hash", "hash", "created_at"},
		func(yield func([]any) bool) {
			for i := int64(0); i < n; i++ {
				p := l.postingAt(i, want)
				c := p.common()
				tx := i + 1
				r := &heads[p.resident-1]
				ra := l.acctBase + p.resident
				prev := r.hash
				r.seq, r.balance, r.earned = r.seq+1, r.balance+p.rule.Points, r.earned+p.rule.Points
				r.hash = entryHash(prev, ra, r.seq, tx, p.rule.Points, r.balance, p.at, c, "resident", p.resident)
				if !yield([]any{2*i + 1, tx, ra, r.seq, p.rule.Points, r.balance, prev, r.hash, p.at}) {
					return
				}
				shard := (p.town-1)*bank.IssuingShards + p.resident%bank.IssuingShards
				is := &issuing[shard]
				prev = is.hash
				is.seq, is.balance = is.seq+1, is.balance-p.rule.Points
				is.hash = entryHash(prev, shard+1, is.seq, tx, -p.rule.Points, is.balance, p.at, c, "issuing", 0)
				if !yield([]any{2*i + 2, tx, shard + 1, is.seq, -p.rule.Points, is.balance, prev, is.hash, p.at}) {
					return
				}
			}
		})
	if err != nil {
		return err
	}
	for i, is := range issuing {
		if is.seq > 0 {
			if err := l.exec(ctx, `UPDATE bank_accounts SET balance = $2, seq = $3, head_hash = $4 WHERE id = $1`, int64(i+1), is.balance, is.seq, is.hash); err != nil {
				return err
			}
		}
	}
	at := l.start.AddDate(-2, 0, 0)
	err = l.load(ctx, "bank_accounts", []string{"id", "kind", "town_id", "village_id", "resident_id", "balance", "earned", "seq", "head_hash", "created_at"},
		func(yield func([]any) bool) {
			for i, r := range l.residents {
				h := heads[i]
				if !yield([]any{l.acctBase + int64(i+1), "resident", int64(r.town), int64(r.village), int64(i + 1), h.balance, h.earned, h.seq, h.hash, at}) {
					return
				}
			}
		})
	if err != nil {
		return err
	}
	t0 := time.Now()
	tag, err := l.conn.Exec(ctx, `INSERT INTO bank_earnings (resident_id, period, town_id, village_id, household_id, points)
		SELECT t.resident_id, t.period, t.town_id, r.village_id, r.household_id, SUM(t.amount) FROM bank_transactions t
		JOIN residents r ON r.id = t.resident_id GROUP BY t.resident_id, t.period, t.town_id, r.village_id, r.household_id`)
	if err != nil {
		return fmt.Errorf("bench district: earnings: %w", err)
	}
	l.counts["bank_earnings"] += tag.RowsAffected()
	fmt.Fprintf(l.out, "  %-22s %12d rows in %7.1fs (summed from the transactions)\n", "bank_earnings", tag.RowsAffected(), time.Since(t0).Seconds())
	t0 = time.Now()
	for _, q := range rebuild {
		if err := l.exec(ctx, q); err != nil {
			return err
		}
	}
	fmt.Fprintf(l.out, "  %-22s %12d indexes in %7.1fs\n", "ledger indexes", len(rebuild), time.Since(t0).Seconds())
	return nil
}

// dropIndexes drops the tables' indexes and unique constraints, but those a foreign key relies
// on, and returns the statements that make them again.
func (l *districtLoader) dropIndexes(ctx context.Context, tables []string) ([]string, error) {
	var drop, rebuild []string
	rows, err := l.conn.Query(ctx, `SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
		WHERE c.conrelid::regclass::text = ANY($1) AND c.contype IN ('p', 'u')
		AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)`, tables)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var t, name, def string
		if err := rows.Scan(&t, &name, &def); err != nil {
			return nil, err
		}
		drop = append(drop, `ALTER TABLE `+t+` DROP CONSTRAINT `+name)
		rebuild = append(rebuild, `ALTER TABLE `+t+` ADD CONSTRAINT `+name+` `+def)
	}
	rows.Close()
	rows, err = l.conn.Query(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() AND i.tablename = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`, tables)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return nil, err
		}
		drop = append(drop, `DROP INDEX `+name)
		rebuild = append(rebuild, def)
	}
	rows.Close()
	for _, q := range drop {
		if err := l.exec(ctx, q); err != nil {
			return nil, err
		}
	}
	return rebuild, nil
}
