package db_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"siwei/internal/db"
)

// The SQLite file and the log files beside it hold every resident's record: only their owner
// may read them, whatever the umask.
func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	d, err := db.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"siwei.db", "siwei.db-wal", "siwei.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			if name != "siwei.db" && os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %o, want 600", name, m)
		}
	}
}
