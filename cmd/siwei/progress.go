package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"siwei/internal/db"
)

// A demo stage is a part of building the demo town that shows in a table as it grows, in the
// order the demo builds them: the registry, then each pillar's demo step.
type demoStage struct {
	name  string
	table string
	total int // what the count reaches, when known
}

func demoStages(residents int) []demoStage {
	return []demoStage{
		{"登记居民", "residents", residents},
		{"文明银行：办卡", "bank_cards", 0},
		{"文明银行：记账", "bank_transactions", 0},
		{"微志愿：排班报名", "volunteer_signups", 0},
	}
}

// watchDemo shows how far the demo town has got while it is built, by counting the rows of each
// stage's table every interval: on a terminal one line that is rewritten in place ("建演示镇 ·
// 登记居民 12000/20000"), else a line when a stage starts. The demo writes in its own transactions,
// so the counts are what is committed. stop ends the display.
func watchDemo(ctx context.Context, d *db.DB, residents int, w io.Writer, tty bool, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	stages := demoStages(residents)
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		shown, width := -1, 0
		for {
			select {
			case <-ctx.Done():
				if tty && width > 0 {
					fmt.Fprintf(w, "\r%*s\r", width, "")
				}
				return
			case <-t.C:
			}
			// The stage under way is the last whose table has rows.
			at, n := -1, 0
			for i, s := range stages {
				var c int
				if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+s.table).Scan(&c); err != nil {
					continue // the table is not migrated yet, or the context ended
				}
				if c > 0 {
					at, n = i, c
				}
			}
			if at < 0 { // nothing committed yet: the registry is being written
				at = 0
			}
			s := stages[at]
			line := "建演示镇 · " + s.name
			if n > 0 {
				line += fmt.Sprintf(" %d", n)
				if s.total > 0 {
					line += fmt.Sprintf("/%d", s.total)
				}
			}
			switch {
			case tty:
				fmt.Fprintf(w, "\r%-*s", width, line)
				width = max(width, len(line))
			case at != shown:
				fmt.Fprintln(w, line)
			}
			shown = at
		}
	}()
	return func() { cancel(); <-done }
}

// removeDemoData empties the way for a fresh demo town: it deletes the data folder, but only when
// it holds a siwei database and nothing else siwei did not write there, so that a mistyped --data
// never removes someone's folder.
func removeDemoData(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--fresh: %w", err)
	}
	ours := map[string]bool{"siwei.db": true, "siwei.db-wal": true, "siwei.db-shm": true, "siwei.db-journal": true, "secret.key": true}
	hasDB := false
	for _, e := range entries {
		if !ours[e.Name()] || e.IsDir() {
			return fmt.Errorf("--fresh: %s holds %s, which siwei did not write; not removing it", dir, e.Name())
		}
		hasDB = hasDB || e.Name() == "siwei.db"
	}
	if !hasDB && len(entries) > 0 {
		return fmt.Errorf("--fresh: %s holds no siwei database (siwei.db); not removing it", dir)
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("--fresh: %w", err)
		}
	}
	return os.Remove(dir)
}
