package keep

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a test's time, moved on by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestFreshStaleAndGenerations: a result is served again while fresh and of the generation
// asked; a new generation computes anew at once; a stale one is served while a new one is
// computed for the next reader; past Fresh+Stale the reader waits for a new one.
func TestFreshStaleAndGenerations(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	c := &Cache[int]{Fresh: time.Minute, Stale: 9 * time.Minute, Max: 10}
	var n atomic.Int64
	compute := func(context.Context) (int, error) { return int(n.Add(1)), nil }
	get := func(gen uint64) (int, time.Time) {
		t.Helper()
		v, at, err := c.Get(ctx, "k", gen, clk.now, compute)
		if err != nil {
			t.Fatal(err)
		}
		return v, at
	}
	start := clk.now()
	if v, at := get(0); v != 1 || !at.Equal(start) {
		t.Fatalf("first: %d at %v", v, at)
	}
	clk.add(30 * time.Second)
	if v, _ := get(0); v != 1 {
		t.Fatalf("fresh: computed again (%d)", v)
	}
	if v, _ := get(1); v != 2 {
		t.Fatalf("a new generation served the old result (%d)", v)
	}
	clk.add(time.Minute)
	if v, at := get(1); v != 2 || !at.Equal(start.Add(30*time.Second)) {
		t.Fatalf("stale: %d at %v, want the kept 2 at once", v, at)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v, _ := get(1); v == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background computation was never kept")
		}
		time.Sleep(10 * time.Millisecond)
	}
	clk.add(10 * time.Minute)
	if v, _ := get(1); v != 4 {
		t.Fatalf("past Fresh+Stale: %d, want a new one waited for", v)
	}
	if got := n.Load(); got != 4 {
		t.Errorf("%d computations, want 4", got)
	}
}

// TestReadersShareOne: readers asking at once share one computation; one who leaves does not
// stop it, and its result is kept for the next; a failure is not kept.
func TestReadersShareOne(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	c := &Cache[int]{Fresh: time.Hour, Max: 10}
	var n atomic.Int64
	release := make(chan struct{})
	compute := func(ctx context.Context) (int, error) {
		<-release
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return int(n.Add(1)), nil
	}
	// One reader leaves before the result is ready.
	gone, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, _, err := c.Get(gone, "k", 0, clk.now, compute)
		left <- err
	}()
	var wg sync.WaitGroup
	got := make([]int, 16)
	for i := range got {
		wg.Go(func() {
			v, _, err := c.Get(context.Background(), "k", 0, clk.now, compute)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Errorf("the reader who left: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	for i, v := range got {
		if v != 1 {
			t.Errorf("reader %d: %d", i, v)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d computations for readers at once, want 1", n.Load())
	}
	failing := func(context.Context) (int, error) { return 0, errors.New("down") }
	if _, _, err := c.Get(context.Background(), "f", 0, clk.now, failing); err == nil {
		t.Fatal("no error")
	}
	if v, _, err := c.Get(context.Background(), "f", 0, clk.now, func(context.Context) (int, error) { return 7, nil }); err != nil || v != 7 {
		t.Errorf("after a failure: %d, %v", v, err)
	}
}

// TestStaysBounded: however many keys readers ask for, at most Max results are kept, the old ones
// dropped before the fresh, and all of them when none is old.
func TestStaysBounded(t *testing.T) {
	c := &Cache[int]{Fresh: 5 * time.Second, Max: 1024}
	start := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for i := range c.Max {
		c.put(fmt.Sprint("a", i), entry[int]{at: start})
	}
	if len(c.m) != c.Max {
		t.Fatalf("kept %d, want %d", len(c.m), c.Max)
	}
	// One more while the others are fresh: all go, the new one stays.
	c.put("fresh", entry[int]{v: 1, at: start.Add(time.Second)})
	if len(c.m) != 1 || c.m["fresh"].v != 1 {
		t.Fatalf("after overflow with fresh results: %d kept", len(c.m))
	}
	// Fill again with a mix; once full, only the old ones are dropped.
	for i := range c.Max - 1 {
		at := start
		if i%2 == 0 {
			at = start.Add(c.Fresh + time.Second) // fresh relative to the next one
		}
		c.put(fmt.Sprint("b", i), entry[int]{at: at})
	}
	if len(c.m) != c.Max {
		t.Fatalf("refilled to %d, want %d", len(c.m), c.Max)
	}
	c.put("c", entry[int]{at: start.Add(c.Fresh + 2*time.Second)})
	for k, v := range c.m {
		if v.at.Equal(start) {
			t.Fatalf("old result %s kept after the cache was full", k)
		}
	}
	if want := c.Max/2 + 1; len(c.m) != want {
		t.Errorf("%d kept after dropping the old ones, want %d", len(c.m), want)
	}
}
