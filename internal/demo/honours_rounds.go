package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/honours"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/web"
)

// demoNominees are the stories of the nominees the rounds step admits when the town has none of
// 前疃村's waiting, by category.
var demoNominees = []struct{ category, story string }{
	{"filial", "照顾瘫痪在床的婆婆十二年，端水喂饭、擦身翻身从不间断，邻里都说她比亲闺女还亲。"},
	{"helping", "村里谁家水管坏了、电线老化了，他都义务上门修理，十几年没收过一分钱。"},
	{"brave", "去年夏天暴雨，他蹚着齐腰深的水把被困的两位独居老人背了出来。"},
	{"honest", "开小卖部二十年，捡到顾客丢的钱包原样奉还，从不短斤少两。"},
	{"green", "带着老姐妹们每天清扫村口的公共区域，还把闲置地块改成了小花园。"},
}

// HonoursRounds gives the demo town an evaluation round (群众评议) of 前疃村 open now: five
// admitted nominees (those of the nominations step, or five made here with their consent), votes
// cast over the last two days through the service by villagers on their phones and, for a few old
// people, at the village office by its admin, and a planted burst: seven villagers' votes for one
// nominee from one phone within minutes, which the anomaly rules flag to the town. The villagers
// who vote on their phones get logins made over the last two years. The demo resident and party
// member have not voted, so that they can. It does nothing when the town has rounds already.
func HonoursRounds(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_rounds WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
		return err
	}
	cat, err := web.LoadCatalog(honours.Messages)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	realNow := time.Now().UTC().Truncate(time.Microsecond)
	now := realNow
	at := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t.UTC().Truncate(time.Microsecond); mu.Unlock() }
	tr := func(key string, args ...any) string { return cat.T(web.DefaultLang, key, args...) }
	ns := &notify.Service{DB: d, Now: at, T: tr}
	s := honours.NewService(d, ps, bank.NewService(d, ps), ns)
	s.Now, s.T = at, tr
	loc, err := ps.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	today := clock.In(loc, func() time.Time { return realNow }).Today()
	rng := rand.New(rand.NewSource(seed + 1700))

	// 前疃村, the demo resident's village, its admin and the town's.
	var village, resident, party int64
	q := d.Read()
	if err := q.QueryRowContext(ctx, `SELECT r.village_id, r.id FROM accounts a JOIN residents r ON r.id = a.resident_id WHERE a.phone = $1`, PhoneResident).Scan(&village, &resident); err != nil {
		return fmt.Errorf("demo: rounds: the demo resident: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT resident_id FROM accounts WHERE phone = $1`, PhonePartyMember).Scan(&party); err != nil {
		return fmt.Errorf("demo: rounds: the party member: %w", err)
	}
	townSess, err := demoLogin(ctx, d, PhoneTownAdmin)
	if err != nil {
		return fmt.Errorf("demo: rounds: %w", err)
	}
	defer townSess.Close(ctx)
	adminSess, err := demoLogin(ctx, d, PhoneVillageAdmin)
	if err != nil {
		return fmt.Errorf("demo: rounds: %w", err)
	}
	defer adminSess.Close(ctx)
	town, admin := townSess.Actor, adminSess.Actor

	// The village's adults, in id order: nominees, voters on phones, old people at the office.
	type villager struct {
		id, household int64
		name, phone   string
		age           int
		hasAccount    bool
	}
	var adults []villager
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.household_id, r.name, r.phone, r.birth_date, EXISTS (SELECT 1 FROM accounts a WHERE a.resident_id = r.id OR a.phone = r.phone)
		FROM residents r WHERE r.village_id = $1 AND r.status = 'active' AND r.id NOT IN ($2, $3) ORDER BY r.id`, village, resident, party)
	if err != nil {
		return fmt.Errorf("demo: rounds: villagers: %w", err)
	}
	for rows.Next() {
		var v villager
		var birth string
		if err := rows.Scan(&v.id, &v.household, &v.name, &v.phone, &birth, &v.hasAccount); err != nil {
			rows.Close()
			return err
		}
		b, err := time.Parse(clock.DayLayout, birth)
		if err != nil {
			continue
		}
		if v.age = (people.Resident{BirthDate: b}).Age(today); v.age >= 18 {
			adults = append(adults, v)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(adults) < 20 {
		return nil // a town too small for a round worth showing
	}

	// The nominees: 前疃村's admitted nominations waiting for a round, else five made here.
	nominations, err := admittedOf(ctx, q, village)
	if err != nil {
		return err
	}
	if len(nominations) < 3 {
		var taken []int64
		for i, nm := range demoNominees {
			v := adults[(i*7+3)%len(adults)]
			for k := 1; ; k++ { // one whose nomination is not live already (the unique index)
				var live int
				if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_nominations WHERE resident_id = $1 AND status IN ('open', 'admitted')`, v.id).Scan(&live); err != nil {
					return err
				}
				if live == 0 && !slices.Contains(taken, v.id) || k >= len(adults) {
					break
				}
				v = adults[(i*7+3+k)%len(adults)]
			}
			taken = append(taken, v.id)
			id, err := demoNomination(ctx, d, info.TownID, village, v.id, nm.category, nm.story, admin, realNow.Add(-time.Duration(10+i)*24*time.Hour))
			if err != nil {
				return err
			}
			nominations = append(nominations, id)
		}
		adults = slices.DeleteFunc(adults, func(v villager) bool { return slices.Contains(taken, v.id) })
	}
	if len(nominations) > 5 {
		nominations = nominations[:5]
	}

	// The round, open from two days ago until five days on.
	set(realNow.Add(-50 * time.Hour))
	rd, err := s.CreateRound(ctx, town, honours.RoundInput{TownID: info.TownID, VillageID: village, Title: fmt.Sprintf("%d年度前疃村身边好人群众评议", today.Year()), Year: today.Year(),
		OpensOn: today.AddDate(0, 0, -2).Format(clock.DayLayout), ClosesOn: today.AddDate(0, 0, 5).Format(clock.DayLayout), NominationIDs: nominations, Seats: 2, VotesPerVoter: 2,
		Rule: honours.RuleVotes})
	if err != nil {
		return fmt.Errorf("demo: rounds: create: %w", err)
	}
	if _, err := s.OpenRound(ctx, town, rd.ID); err != nil {
		return fmt.Errorf("demo: rounds: open: %w", err)
	}

	// Who votes how: at most two per household on phones (logins made over the past two years),
	// the burst's seven from seven other households, and the old people without phones at the office.
	perHousehold := map[int64]int{}
	usedPhones := map[string]bool{}
	var phones, burst, office []villager
	for _, v := range adults {
		shared := usedPhones[v.phone]
		usedPhones[v.phone] = true
		switch {
		case v.phone == "" || v.hasAccount || shared:
			if v.age >= 70 && len(office) < 6 && perHousehold[v.household] == 0 {
				office = append(office, v)
				perHousehold[v.household]++
			}
		case len(burst) < 7 && perHousehold[v.household] == 0 && len(phones) >= 2*len(burst):
			burst = append(burst, v)
			perHousehold[v.household] = 99
		case len(phones) < 30 && perHousehold[v.household] < 2:
			phones = append(phones, v)
			perHousehold[v.household]++
		}
	}
	hash := auth.HashPassword(DemoPassword)
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		as := auth.NewService(d)
		for _, v := range slices.Concat(phones, burst) {
			id, err := as.InsertAccount(ctx, tx, v.phone, v.name, v.id, hash, false)
			if err != nil {
				return fmt.Errorf("demo: rounds: login of %s: %w", v.name, err)
			}
			if err := as.InsertGrant(ctx, tx, id, auth.Grant{Role: auth.ResidentRole, TownID: info.TownID, VillageID: village}); err != nil {
				return err
			}
			made := realNow.Add(-time.Duration(60+rng.Intn(640)) * 24 * time.Hour)
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET created_at = $1 WHERE id = $2`, made, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Each villager logs in on their phone, and the old people are served at the office's counter.
	voters := map[int64]*auth.Actor{}
	for _, v := range slices.Concat(phones, burst) {
		sess, err := demoLogin(ctx, d, v.phone)
		if err != nil {
			return fmt.Errorf("demo: rounds: %w", err)
		}
		defer sess.Close(ctx)
		voters[v.id] = sess.Actor
	}
	for _, v := range office {
		if voters[v.id], err = adminSess.Office(ctx, v.id); err != nil {
			return fmt.Errorf("demo: rounds: office mode for %s: %w", v.name, err)
		}
	}
	defer auth.NewService(d).EndOffice(ctx, admin)
	type cast struct {
		actor  *auth.Actor
		at     time.Time
		client honours.VoteClient
		picks  []int64
	}
	var casts []cast
	pick := func(k int) []int64 {
		out := slices.Clone(nominations)
		rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		return out[:k]
	}
	for i, v := range phones {
		casts = append(casts, cast{actor: voters[v.id],
			at:     realNow.Add(-time.Duration(5+rng.Intn(45*60)) * time.Minute),
			client: honours.VoteClient{Device: fmt.Sprintf("demo-phone-%d", v.id), Addr: fmt.Sprintf("10.%d.%d.%d", 20+i%12, rng.Intn(250), 1+rng.Intn(250))},
			picks:  pick(1 + rng.Intn(2))})
	}
	for i, v := range office {
		casts = append(casts, cast{actor: voters[v.id], at: realNow.Add(-time.Duration(30-4*i) * time.Hour), client: honours.VoteClient{Device: "village-office-pc", Addr: "10.1.1.10"}, picks: pick(2)})
	}
	target := nominations[len(nominations)-1]
	for i, v := range burst {
		casts = append(casts, cast{actor: voters[v.id],
			at:     realNow.Add(-3*time.Hour + time.Duration(i*70)*time.Second),
			client: honours.VoteClient{Device: "one-phone-in-many-hands", Addr: fmt.Sprintf("10.%d.7.%d", 30+i, 2+i)},
			picks:  []int64{target}})
	}
	slices.SortFunc(casts, func(x, y cast) int { return x.at.Compare(y.at) })
	for _, c := range casts {
		for k, nom := range c.picks {
			set(c.at.Add(time.Duration(k*40) * time.Second))
			if _, err := s.CastVote(ctx, c.actor, rd.ID, honours.VoteInput{NominationID: nom}, c.client); err != nil {
				return fmt.Errorf("demo: rounds: vote of %s: %w", c.actor.Name, err)
			}
		}
	}
	// The town's staff run the rules, as they would on the round's page: the burst is flagged.
	set(realNow)
	if _, err := s.CheckRound(ctx, town, rd.ID); err != nil {
		return fmt.Errorf("demo: rounds: check: %w", err)
	}
	return nil
}

// admittedOf are a village's admitted nominations with consent in no round, oldest first.
func admittedOf(ctx context.Context, q db.Querier, village int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT n.id FROM honours_nominations n WHERE n.village_id = $1 AND n.status = 'admitted' AND n.consent = 'given'
		AND NOT EXISTS (SELECT 1 FROM honours_round_nominees rn WHERE rn.nomination_id = n.id) ORDER BY n.id`, village)
	if err != nil {
		return nil, fmt.Errorf("demo: rounds: nominations: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// demoNomination writes a nomination the village's admin made and staff admitted, with the
// nominee's consent, as the nominations part leaves one: the town's default category of code.
func demoNomination(ctx context.Context, d *db.DB, townID, village, resident int64, code, story string, admin *auth.Actor, made time.Time) (int64, error) {
	var id int64
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		for i, c := range honours.DefaultCategories {
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_categories (town_id, code, name, position, active, created_at) VALUES ($1, $2, '', $3, TRUE, $4)
				ON CONFLICT (town_id, code) WHERE code <> '' DO NOTHING`, townID, c, i, made); err != nil {
				return err
			}
		}
		var category int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM honours_categories WHERE town_id = $1 AND code = $2`, townID, code).Scan(&category); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO honours_nominations (town_id, village_id, resident_id, category_id, story, by_account, by_name, consent, consent_by, consent_name,
			consent_at, status, created_at, updated_at) SELECT $1, $2, id, $3, $4, $5, $6, 'given', 'self', name, $7, 'admitted', $8, $7 FROM residents WHERE id = $9 RETURNING id`,
			townID, village, category, story, admin.AccountID, admin.Name, made.Add(24*time.Hour), made, resident).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("demo: rounds: nomination: %w", err)
	}
	return id, nil
}
