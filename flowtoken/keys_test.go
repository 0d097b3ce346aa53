package flowtoken

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/transport"
)

func TestParseSecret(t *testing.T) {
	key := []byte("0123456789abcdefghijklmnopqrstuv") // 32 bytes, varied
	k16 := key[:16]
	for _, tc := range []struct {
		name, in string
		want     []byte // nil: refused
		msg      string // part of the error
	}{
		{"hex", hex.EncodeToString(key), key, ""},
		{"hex upper", strings.ToUpper(hex.EncodeToString(key)), key, ""},
		{"hex 16 bytes", hex.EncodeToString(k16), k16, ""},
		{"hex blanks around", "  " + hex.EncodeToString(key) + "\n", key, ""},
		{"base64 std", base64.StdEncoding.EncodeToString(key), key, ""},
		{"base64 std raw", base64.RawStdEncoding.EncodeToString(key), key, ""},
		{"base64 url", base64.URLEncoding.EncodeToString([]byte("\xff\xfe>?0123456789abcdefghijklmnopqrstuv")), []byte("\xff\xfe>?0123456789abcdefghijklmnopqrstuv"), ""},
		{"base64 url raw", base64.RawURLEncoding.EncodeToString([]byte("\xff\xfe>?0123456789abcdefghijklmnopqrstuv")), []byte("\xff\xfe>?0123456789abcdefghijklmnopqrstuv"), ""},
		{"base64 16 bytes", base64.StdEncoding.EncodeToString(k16), k16, ""},
		{"empty", "", nil, "empty"},
		{"blank", "   ", nil, "empty"},
		{"hex 15 bytes", hex.EncodeToString(key[:15]), nil, "15 bytes"},
		{"base64 15 bytes", base64.StdEncoding.EncodeToString(key[:15]), nil, "15 bytes"},
		{"odd hex", hex.EncodeToString(key)[:63], nil, "odd number"},
		{"passphrase", "correct horse battery staple", nil, "not hex or base64"},
		{"short passphrase", "hunter2", nil, "not hex or base64"},
		{"short word read as base64", "secretsecret", nil, "9 bytes"},
		{"zeros", strings.Repeat("0", 64), nil, "too regular"},
		{"all A", strings.Repeat("A", 44), nil, "too regular"},
		{"bad padding", base64.StdEncoding.EncodeToString(key)[:43] + "==", nil, "not hex or base64"},
		{"mixed alphabets", "ab+_" + base64.RawStdEncoding.EncodeToString(key), nil, "not hex or base64"},
	} {
		got, err := ParseSecret(tc.in)
		switch {
		case tc.want != nil && (err != nil || !bytes.Equal(got, tc.want)):
			t.Errorf("%s: ParseSecret = %x, %v; want %x", tc.name, got, err, tc.want)
		case tc.want == nil && err == nil:
			t.Errorf("%s: ParseSecret(%q) accepted", tc.name, tc.in)
		case tc.want == nil && !strings.Contains(err.Error(), tc.msg):
			t.Errorf("%s: error %q does not say %q", tc.name, err, tc.msg)
		case tc.want == nil && len(strings.TrimSpace(tc.in)) > 3 && strings.Contains(err.Error(), strings.TrimSpace(tc.in)):
			t.Errorf("%s: error %q repeats the secret", tc.name, err)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "sub")
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 {
		t.Fatalf("new key of %d bytes", len(k1))
	}
	path := filepath.Join(dir, KeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && (fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700) {
		t.Fatalf("key file mode %v, directory mode %v", fi.Mode(), di.Mode())
	}
	text, _ := os.ReadFile(path)
	if string(text) != hex.EncodeToString(k1)+"\n" {
		t.Fatalf("key file holds %q", text)
	}
	// A restart reads the same key: tokens of the first process are known
	// as genuine in the second (ErrStale: their flows are gone, 430), not
	// as forged (ErrInvalid, 403).
	k2, err := LoadOrCreateKey(dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load: %x, %v", k2, err)
	}
	before, _ := New(k1)
	after, _ := New(k2)
	tok := before.Encode(77, transport.WSS)
	if _, _, err := after.Decode(tok); !errors.Is(err, ErrStale) {
		t.Fatalf("token across a restart: %v", err)
	}
	if _, _, err := NewRandom().Decode(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("token under another key: %v", err)
	}
	// An existing directory with a key of the operator's own, in base64.
	own := t.TempDir()
	want := []byte("operator's own key, 32 bytes....")
	if err := os.WriteFile(filepath.Join(own, KeyFile), []byte(base64.StdEncoding.EncodeToString(want)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadOrCreateKey(own); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("operator's key: %q, %v", got, err)
	}
}

func TestLoadOrCreateKeyRefuses(t *testing.T) {
	good := hex.EncodeToString([]byte("0123456789abcdefghijklmnopqrstuv")) + "\n"
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		msg           string
	}{
		{"group readable", good, 0o640, "too open"},
		{"world readable", good, 0o604, "too open"},
		{"group writable", good, 0o620, "too open"},
		{"short", hex.EncodeToString([]byte("0123456789abcde")), 0o600, "15 bytes"},
		{"empty", "", 0o600, "empty"},
		{"garbage", "not a key at all!\n", 0o600, "not hex or base64"},
		{"huge", strings.Repeat("ab", 4000), 0o600, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && strings.Contains(tc.msg, "open") {
				t.Skip("no permission bits")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, KeyFile)
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateKey(dir)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v: want %q and the path", err, tc.msg)
			}
			if tc.content != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.content)) {
				t.Fatalf("error %v repeats the key", err)
			}
		})
	}
	t.Run("not a file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, KeyFile), 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateKey(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, KeyFile)) {
			t.Fatalf("directory as key file: %v", err)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		if runtime.GOOS == "windows" || os.Geteuid() == 0 {
			t.Skip("root reads anything")
		}
		dir := t.TempDir()
		path := filepath.Join(dir, KeyFile)
		if err := os.WriteFile(path, []byte(good), 0o000); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateKey(dir); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("unreadable key file: %v", err)
		}
	})
	t.Run("directory not writable", func(t *testing.T) {
		if runtime.GOOS == "windows" || os.Geteuid() == 0 {
			t.Skip("root writes anywhere")
		}
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		if _, err := LoadOrCreateKey(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, KeyFile)) {
			t.Fatalf("key file in a read-only directory: %v", err)
		}
	})
}
