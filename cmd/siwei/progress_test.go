package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRemoveDemoData: --fresh deletes a data folder only when it holds a siwei database and
// nothing siwei did not write.
func TestRemoveDemoData(t *testing.T) {
	for _, c := range []struct {
		name    string
		files   []string
		removed bool
		err     string
	}{
		{"OK", []string{"siwei.db", "siwei.db-wal", "secret.key"}, true, ""},
		{"Missing", nil, true, ""},
		{"ErrForeignFile", []string{"siwei.db", "notes.txt"}, false, "notes.txt, which siwei did not write"},
		{"ErrNoDatabase", []string{"secret.key"}, false, "no siwei database"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "siwei-data")
			if c.files != nil {
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range c.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := removeDemoData(dir)
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("err %v, want %q", err, c.err)
			}
			_, statErr := os.Stat(dir)
			if gone := os.IsNotExist(statErr); gone != c.removed {
				t.Errorf("folder removed: %v, want %v", gone, c.removed)
			}
			for _, f := range c.files {
				if _, err := os.Stat(filepath.Join(dir, f)); !c.removed && err != nil {
					t.Errorf("%s is gone though the folder was kept", f)
				}
			}
		})
	}
}
