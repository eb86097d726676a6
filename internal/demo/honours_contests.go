package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/honours"
	"siwei/internal/people"
)

// The judges' logins the HonoursContests step makes (评审官); PhoneJudge is a 村民代表 of 前疃村,
// the one the README lists.
const (
	PhoneJudge = "13900000090"
)

// contestJudges are the panel of the demo contest: who they are, what they sit as, and whether
// they are a resident of 前疃村 (the first is, and his own household is entered: it is hidden
// from him and the organiser is told). Made up.
var contestJudges = []struct {
	phone, name, capacity string
	resident              bool
	town                  bool // also sits on the town round
}{
	{PhoneJudge, "", "representative", true, true},
	{"13900000091", "郑秀兰", "bank_staff", false, true},
	{"13900000092", "冯国强", "village_staff", false, false},
	{"13900000093", "韩玉梅", "volunteer", false, true},
	{"13900000094", "曹立军", "bank_staff", false, false},
}

// contestAccounts are the logins HonoursContests makes, for StepAccounts.
func contestAccounts() []Account {
	return []Account{{PhoneJudge, string(auth.Judge), "一米微花园评审团 村民代表（评审官）"}}
}

// HonoursContests gives the demo town its 2026 一米微花园 contest (评比), built through the
// public side's service: four weighted criteria scored 0–10, five households of each village
// entered (one by themselves, the rest by the village), a panel of five judges (a 村民代表 of
// 前疃村, bank staff, village staff, a volunteer) who scored every household assigned to them at
// the door; the village round closed a week ago with the top three of each village sent to the
// town round, where three judges are scoring now, one of them not finished. It does nothing when
// the town has a contest already, or no 镇级管理员.
func HonoursContests(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_contests WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
		return err
	}
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE phone = $1`, PhoneTownAdmin).Scan(&n); err != nil || n == 0 {
		return err
	}
	townSess, err := demoLogin(ctx, d, PhoneTownAdmin)
	if err != nil {
		return fmt.Errorf("demo: contest: %w", err)
	}
	defer townSess.Close(ctx)
	town := townSess.Actor
	rng := rand.New(rand.NewPCG(uint64(seed), 1731))
	hs := honours.NewService(d, ps, bank.NewService(d, ps), nil)
	var clockMu sync.Mutex
	now := time.Now().UTC().AddDate(0, 0, -30)
	hs.Now = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now.Truncate(time.Microsecond) }
	advance := func(d time.Duration) { clockMu.Lock(); now = now.Add(d); clockMu.Unlock() }

	// Five households of each village, each by an adult of it; the first of 前疃村's is the
	// 村民代表 judge's own.
	type entrant struct{ resident, household, village int64 }
	var entrants []entrant
	last := map[int64]int64{}
	count := map[int64]int{}
	if err := demoRows(ctx, d, `SELECT r.id, r.household_id, r.village_id FROM residents r JOIN villages v ON v.id = r.village_id
		WHERE r.town_id = $1 AND r.status = 'active' AND r.birth_date < $2 AND r.phone NOT LIKE '139000000%' ORDER BY v.id, r.household_id, r.id`,
		[]any{info.TownID, time.Now().AddDate(-18, 0, 0).Format("2006-01-02")}, func(r *sql.Rows) error {
			var e entrant
			if err := r.Scan(&e.resident, &e.household, &e.village); err != nil {
				return err
			}
			if last[e.village] == e.household || count[e.village] >= 5 {
				return nil
			}
			last[e.village] = e.household
			count[e.village]++
			entrants = append(entrants, e)
			return nil
		}); err != nil {
		return err
	}
	if len(entrants) == 0 {
		return nil
	}
	// The 村民代表 judge lives in the first household entered: another adult of it, or the entrant.
	var judgeResident int64
	var judgeName string
	err = d.Read().QueryRowContext(ctx, `SELECT id, name FROM residents WHERE household_id = $1 AND status = 'active' AND birth_date < $2 AND phone NOT LIKE '139000000%'
		ORDER BY id = $3, id LIMIT 1`, entrants[0].household, time.Now().AddDate(-18, 0, 0).Format("2006-01-02"), entrants[0].resident).Scan(&judgeResident, &judgeName)
	if err != nil {
		return fmt.Errorf("demo: contest judge: %w", err)
	}

	c, err := hs.CreateContest(ctx, town, info.TownID, honours.ContestInput{Title: "2026年“一米微花园”评比", Kind: "garden", Scale: 10, Advance: 3, Winners: 5, RuleCode: "garden",
		Description: "房前屋后一米见方，种花种菜、美化家园。先由各村评审团上门打分评出村级优秀，再参加镇级评比。",
		Criteria:    []honours.CriterionInput{{Name: "整洁", Weight: 30}, {Name: "创意", Weight: 20}, {Name: "绿化", Weight: 30}, {Name: "维护", Weight: 20}}})
	if err != nil {
		return fmt.Errorf("demo: contest: %w", err)
	}
	for i, e := range entrants {
		advance(time.Hour)
		in := honours.EntryInput{ResidentID: e.resident, Note: gardenNotes[i%len(gardenNotes)]}
		if _, err := hs.Enter(ctx, town, c.ID, in); err != nil {
			return fmt.Errorf("demo: contest entry: %w", err)
		}
	}

	// The judges' logins and the panel.
	hash := auth.HashPassword(DemoPassword)
	as := auth.NewService(d)
	judges := make([]*auth.Actor, len(contestJudges))
	for i, j := range contestJudges {
		name, resident := j.name, int64(0)
		if j.resident {
			name, resident = judgeName, judgeResident
		}
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, j.phone).Scan(&id)
			if !db.IsNoRows(err) {
				return err
			}
			if id, err = as.InsertAccount(ctx, tx, j.phone, name, resident, hash, false); err != nil {
				return err
			}
			return as.InsertGrant(ctx, tx, id, auth.Grant{Role: auth.Judge, TownID: info.TownID})
		}); err != nil {
			return fmt.Errorf("demo: judge %s: %w", j.phone, err)
		}
		if _, err := hs.AddJudge(ctx, town, c.ID, honours.JudgeInput{Phone: j.phone, Capacity: j.capacity, Round: honours.RoundVillage}); err != nil {
			return fmt.Errorf("demo: panel: %w", err)
		}
		// The judge logs in on their phone, as at the door.
		sess, err := demoLogin(ctx, d, j.phone)
		if err != nil {
			return fmt.Errorf("demo: judge: %w", err)
		}
		defer sess.Close(ctx)
		judges[i] = sess.Actor
	}

	// Each judge scores every household assigned to them, around a household's own quality.
	quality := map[int64]int{}
	score := func(judge *auth.Actor, round string, all bool) error {
		entries, err := hs.Entries(ctx, judge, c.ID)
		if err != nil {
			return err
		}
		for k, e := range entries {
			if !e.Assigned || (round == honours.RoundTown && !e.Advanced) || (!all && k%3 == 2) {
				continue
			}
			if _, ok := quality[e.ID]; !ok {
				quality[e.ID] = 5 + rng.IntN(4)
			}
			var marks []honours.Mark
			for _, k := range c.Criteria {
				marks = append(marks, honours.Mark{CriterionID: k.ID, Score: min(10, max(0, quality[e.ID]+rng.IntN(4)-1))})
			}
			advance(20 * time.Minute)
			if _, err := hs.Score(ctx, judge, c.ID, honours.ScoreInput{EntryID: e.ID, Marks: marks}); err != nil {
				return fmt.Errorf("demo: score: %w", err)
			}
		}
		return nil
	}
	advance(5 * 24 * time.Hour)
	for _, j := range judges {
		if err := score(j, honours.RoundVillage, true); err != nil {
			return err
		}
	}
	clockMu.Lock()
	now = time.Now().UTC().AddDate(0, 0, -7)
	clockMu.Unlock()
	if _, err := hs.CloseContestRound(ctx, town, c.ID, "村评期满，各村评审团均已评完"); err != nil {
		return fmt.Errorf("demo: close the village round: %w", err)
	}
	for i, j := range contestJudges {
		if !j.town {
			continue
		}
		if _, err := hs.AddJudge(ctx, town, c.ID, honours.JudgeInput{Phone: j.phone, Capacity: j.capacity, Round: honours.RoundTown}); err != nil {
			return fmt.Errorf("demo: town panel: %w", err)
		}
		advance(24 * time.Hour)
		// The last of the town round's judges is still going round the doors.
		if err := score(judges[i], honours.RoundTown, i != len(contestJudges)-2); err != nil {
			return err
		}
	}
	return nil
}

// gardenNotes are what the entrants wrote about their one-metre gardens. Made up.
var gardenNotes = []string{
	"门前一米种了月季和绣球，篱笆是旧竹竿自己编的",
	"用废旧轮胎做花盆，种了小葱、辣椒和太阳花",
	"院墙外一溜菊花，每天早上浇水",
	"把门口的杂物清走，砌了小花池，种上了格桑花",
	"葡萄架下摆了几盆多肉，老伴天天照料",
}
