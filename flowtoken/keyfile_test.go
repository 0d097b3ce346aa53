package flowtoken

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLoadOrCreateKeyFile: another key file in the same directory follows
// the flow-token key's rules and is a key of its own.
func TestLoadOrCreateKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	a, err := LoadOrCreateKeyFile(dir, "other.key")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "other.key"))
	if err != nil || fi.Mode().Perm() != 0o600 || len(a) != 32 {
		t.Fatalf("%v %v %d", fi, err, len(a))
	}
	if b, err := LoadOrCreateKeyFile(dir, "other.key"); err != nil || !bytes.Equal(a, b) {
		t.Fatalf("second load: %v", err)
	}
	if ft, err := LoadOrCreateKey(dir); err != nil || bytes.Equal(a, ft) {
		t.Fatalf("flowtoken.key: %v, same key %v", err, bytes.Equal(a, ft))
	}
	if runtime.GOOS == "windows" {
		return
	}
	if err := os.Chmod(filepath.Join(dir, "other.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeyFile(dir, "other.key"); err == nil || !strings.Contains(err.Error(), "other.key") || !strings.Contains(err.Error(), "too open") {
		t.Fatalf("readable by others: %v", err)
	}
}
