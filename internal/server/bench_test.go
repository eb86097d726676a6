package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// BenchmarkResidentSearch searches among 200,000 residents through the API, by name prefix and by
// phone prefix, as the town admin, and reports the median latency:
//
//	SIWEI_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres go test ./internal/server -run '^$' -bench ResidentSearch -benchtime 2000x
func BenchmarkResidentSearch(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		env := servertest.New(b, d)
		names, phones := loadResidents(b, env, 200_000)
		api := env.API(demo.PhoneTownAdmin)
		for _, kind := range []string{"name", "phone"} {
			b.Run(kind, func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					q := names[r.IntN(len(names))]
					if kind == "phone" {
						q = phones[r.IntN(len(phones))][:7]
					}
					start := time.Now()
					st, body := api.JSON("GET", "/api/v1/residents?q="+url.QueryEscape(q), nil, nil)
					lat = append(lat, time.Since(start))
					if st != 200 || !strings.Contains(body, `"items":[{`) {
						b.Fatalf("search %q: %d %.200s", q, st, body)
					}
				}
				b.StopTimer()
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	})
}

// loadResidents adds n residents in 100 new villages of the demo town with multi-row inserts, and
// returns name prefixes (surname and first given character) and phones to search for.
func loadResidents(b *testing.B, env *servertest.Env, n int) (names, phones []string) {
	b.Helper()
	ctx := context.Background()
	ps := env.Sys.People
	r := rand.New(rand.NewPCG(7, 7))
	surnames := []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	given := []rune("秀英华玉兰桂芳淑凤珍建国明军伟强磊洋勇杰涛斌超刚平辉波宁红霞丽静敏燕艳娟文海东春亮成志永福贵林德")
	var hhID, resID int64 = 10_000_000, 10_000_000
	now := db.Now()
	err := d(env).Tx(ctx, func(tx *sql.Tx) error {
		var villages []people.Village
		for i := 0; i < 100; i++ {
			v, err := ps.InsertVillage(ctx, tx, env.Info.TownID, people.VillageInput{Name: fmt.Sprintf("测试%03d村", i), Code: fmt.Sprintf("9%03d", i)})
			if err != nil {
				return err
			}
			villages = append(villages, v)
		}
		const batch = 200
		var hh, res []any
		var hhRows, resRows []string
		flush := func() error {
			if len(hhRows) > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO households (id, village_id, number, address, created_at) VALUES `+strings.Join(hhRows, ","), hh...); err != nil {
					return err
				}
			}
			if len(resRows) > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO residents (id, town_id, village_id, household_id, name, gender, birth_date, id_enc, id_hash, id_masked,
					phone, relation, party_member, care_tags, status, registered_on, created_at, updated_at) VALUES `+strings.Join(resRows, ","), res...); err != nil {
					return err
				}
			}
			hh, res, hhRows, resRows = hh[:0], res[:0], hhRows[:0], resRows[:0]
			return nil
		}
		ph := func(args *[]any, vals ...any) string {
			s := make([]string, len(vals))
			for i, v := range vals {
				*args = append(*args, v)
				s[i] = fmt.Sprintf("$%d", len(*args))
			}
			return "(" + strings.Join(s, ",") + ")"
		}
		seq := 0
		for made := 0; made < n; {
			v := villages[r.IntN(len(villages))]
			hhID++
			hhRows = append(hhRows, ph(&hh, hhID, v.ID, fmt.Sprintf("H%d", hhID), "", now))
			size := 1 + r.IntN(5)
			for k := 0; k < size && made < n; k++ {
				resID++
				made++
				seq++
				birth := time.Date(1940+r.IntN(80), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
				// The area code changes every 1000 people, so area and sequence keep the numbers unique.
				body := fmt.Sprintf("%06d%s%03d", 110000+seq/1000, birth.Format("20060102"), seq%1000)
				id := body + string(people.IDCheckChar(body))
				gender := "F"
				if (id[16]-'0')%2 == 1 {
					gender = "M"
				}
				name := string(surnames[r.IntN(len(surnames))]) + string(given[r.IntN(len(given))]) + string(given[r.IntN(len(given))])
				phone := fmt.Sprintf("1%d%09d", 3+r.IntN(7), r.IntN(1_000_000_000))
				if made%50 == 0 {
					names = append(names, string([]rune(name)[:2]))
					phones = append(phones, phone)
				}
				resRows = append(resRows, ph(&res, resID, v.TownID, v.ID, hhID, name, gender, birth.Format("2006-01-02"), ps.Cipher.Encrypt(id), ps.Cipher.Hash(id),
					people.MaskID(id), phone, "其他", false, "", "active", "2026-01-01", now, now))
			}
			if len(resRows) >= batch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d(env).Write().ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return names, phones
}

func d(env *servertest.Env) *db.DB { return env.Sys.DB }
