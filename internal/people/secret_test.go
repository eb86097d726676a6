package people

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secret.key is created for its owner alone, and a key others may read is warned about.
func TestSecretKeyIsOwnerOnly(t *testing.T) {
	t.Setenv("SIWEI_SECRET", "")
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	dir := t.TempDir()
	k, err := LoadSecret(dir)
	if err != nil || len(k) != 32 {
		t.Fatalf("create: %v (%d bytes)", err, len(k))
	}
	path := filepath.Join(dir, "secret.key")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("secret.key created with mode %o, want 600", m)
	}
	if _, err := LoadSecret(dir); err != nil || logs.Len() != 0 {
		t.Fatalf("reload of a private key: %v, logged %q", err, logs.String())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	k2, err := LoadSecret(dir)
	if err != nil || !bytes.Equal(k, k2) {
		t.Fatalf("reload: %v", err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "chmod 600") {
		t.Fatalf("a key readable by others was not warned about: %q", logs.String())
	}
}
