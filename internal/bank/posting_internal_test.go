package bank

import (
	"testing"
	"time"
)

// TestEntryHashIsPinned pins the hash format: ledgers written before keep verifying only while
// entry.sum gives the same hash for the same entry. The want values were computed by the hash
// function that preceded posting.go; a test failing here means every chain already written
// would fail `siwei verify`.
func TestEntryHashIsPinned(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.FixedZone("CST", 8*3600))
	c := Content{Kind: "reversal", ResidentID: 4411, RuleCode: "clean", Reason: "门前三包 \"|\" 撤销", ApprovedBy: "张三", ReversesID: 812}
	for _, tc := range []struct {
		name  string
		e     entry
		kind  string
		owner int64
		want  string
	}{
		{"Resident", entry{tx: 9001, account: 37, seq: 5, amount: -20, balance: 135, prev: "ab12", at: at}, "resident", 4411,
			"92806b70c461e0e6b0b291c4f0ead6ad852f2470e274d0bf647d6b5c17ece6cc"},
		{"IssuingFirst", entry{tx: 1, account: 2, seq: 1, amount: -5, balance: -5, at: at}, "issuing", 0,
			"ce45a795539a9a965bcf72a21ce7258a6f31fcaa45670b9f1ff89f70a953fb31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.sum(c, tc.kind, tc.owner); got != tc.want {
				t.Errorf("hash %s, want %s", got, tc.want)
			}
		})
	}
}
