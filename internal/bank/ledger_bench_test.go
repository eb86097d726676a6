package bank_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
)

// BenchmarkLedgerAward measures single awards posted concurrently, on both engines: on SQLite
// each goes through post in the group commit, on PostgreSQL through postStatement. The bulk
// writer (postMany) is measured by BenchmarkBank/*/BulkAward20000.
//
//	SIWEI_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres go test ./internal/bank -run '^$' -bench 'Ledger' -benchtime 2s
//
// On a shared 2-core machine one run varies by ±50%: compare commits run by run, interleaved.
func BenchmarkLedgerAward(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		f := newBenchTown(b, d, 500)
		var n atomic.Int64
		ctx := context.Background()
		b.ResetTimer()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				r := f.residents[int(i)%len(f.residents)]
				if _, err := f.bs.Award(ctx, f.staff, bank.AwardInput{ResidentID: r, RuleCode: "deed", Reason: "b", IdempotencyKey: "bench:ledger:" + strconv.FormatInt(i, 10), ConfirmDuplicate: true}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
