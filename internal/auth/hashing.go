package auth

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// Every argon2id computation takes 19 MiB for its length. Unbounded, 300 concurrent wrong
// passwords took the server from 170 MB to 4.7 GB, so all of them, in logins, password changes
// and account creation alike, run in one of as many slots as there are cores: more would only
// queue on the CPU while holding their memory.
var (
	hashSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	// hashesInFlight and maxHashesInFlight count, so that tests can prove the bound without clocks.
	hashesInFlight, maxHashesInFlight atomic.Int64
)

// hashWait is how long a login or password change waits for a slot before it is refused with
// 429: a client told to retry costs nothing, one left waiting holds a connection and a goroutine.
const hashWait = 2 * time.Second

// acquireHash takes a slot, waiting at most wait (forever when wait is 0) or until ctx ends.
func acquireHash(ctx context.Context, wait time.Duration) bool {
	select {
	case hashSlots <- struct{}{}:
	default:
		var timeout <-chan time.Time
		if wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case hashSlots <- struct{}{}:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
	n := hashesInFlight.Add(1)
	for {
		m := maxHashesInFlight.Load()
		if n <= m || maxHashesInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	return true
}

func releaseHash() {
	hashesInFlight.Add(-1)
	<-hashSlots
}

// HashStats is a snapshot of the argon2id computations of this process.
type HashStats struct {
	InFlight int64 // running now
	Max      int64 // the most that ever ran at once
	Bound    int64 // the number of slots
}

// Hashes reports the argon2id computations running now, the most that ran at once and the bound.
func Hashes() HashStats {
	return HashStats{InFlight: hashesInFlight.Load(), Max: maxHashesInFlight.Load(), Bound: int64(cap(hashSlots))}
}
