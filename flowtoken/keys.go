package flowtoken

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeyFile is the name of the key file LoadOrCreateKey keeps in the data
// directory.
const KeyFile = "flowtoken.key"

// maxKeyFile bounds what LoadOrCreateKey reads: a key is 64 hex digits.
const maxKeyFile = 4096

// minDistinct is how many different byte values a key must hold at least.
// Random 16 bytes hold fewer than 8 with a probability below 2^-60, while
// "0000..." or "AAAA..." hold one or three.
const minDistinct = 8

// ParseSecret reads a configured secret (FlowTokenSecret): hex, or base64
// in the standard or the URL alphabet, padded or not, of at least MinKeyLen
// (16) bytes. A value made only of hex digits is read as hex (an even
// number of them is required). Passphrases are refused, not stretched: a
// value that is neither, decodes to fewer than 16 bytes, or has fewer than
// 8 different byte values ("0000...") is an error, and the message never
// repeats the value. `openssl rand -hex 32` makes a good secret, as does
// the content of a key file LoadOrCreateKey wrote.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty secret")
	}
	var key []byte
	if isHex(s) {
		if len(s)%2 != 0 {
			return nil, fmt.Errorf("odd number of hex digits (%d)", len(s))
		}
		key, _ = hex.DecodeString(s)
	} else {
		var ok bool
		if key, ok = decodeBase64(s); !ok {
			return nil, fmt.Errorf("not hex or base64 (a passphrase is not accepted; make one with: openssl rand -hex 32)")
		}
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("%d bytes, want at least %d (128 bits; make one with: openssl rand -hex 32)", len(key), MinKeyLen)
	}
	if distinct(key) < minDistinct {
		return nil, fmt.Errorf("too regular to be random (fewer than %d different byte values; make one with: openssl rand -hex 32)", minDistinct)
	}
	return key, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// decodeBase64 accepts the four spellings of base64, strictly (one
// spelling per key).
func decodeBase64(s string) ([]byte, bool) {
	for _, e := range [...]*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := e.Strict().DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

func distinct(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c], n = true, n+1
		}
	}
	return n
}

// LoadOrCreateKey returns the key kept in dir/flowtoken.key, creating dir
// (mode 0700) and the file (mode 0600, 32 random bytes written as 64 hex
// digits and a newline) when they do not exist. The file may also hold a
// key of the operator's own, in any form ParseSecret takes, so that nodes
// can share it.
//
// Like ssh with its private keys, it refuses a key file that other users
// may read or write (any group or other permission bit), one that is not a
// regular file, too short, or unreadable; every error names the path.
func LoadOrCreateKey(dir string) ([]byte, error) {
	return LoadOrCreateKeyFile(dir, KeyFile)
}

// LoadOrCreateKeyFile is LoadOrCreateKey for a key file of another name in
// dir, under the same rules: other keys kept in the data directory (the
// TURN REST key) then get the same protection as the flow-token key.
func LoadOrCreateKeyFile(dir, name string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("flowtoken: key directory: %w", err)
	}
	path := filepath.Join(dir, name)
	key, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, err = createKey(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process made it between our two looks: use theirs.
		return readKey(path)
	}
	return key, err
}

// readKey reads and checks the key file at path.
func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("flowtoken: key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("flowtoken: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("flowtoken: key file %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("flowtoken: key file %s: permissions %04o are too open (other users could read the key): chmod 600 it", path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("flowtoken: key file: %w", err)
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("flowtoken: key file %s: larger than %d bytes, not a key", path, maxKeyFile)
	}
	key, err := ParseSecret(string(b))
	if err != nil {
		return nil, fmt.Errorf("flowtoken: key file %s: %v", path, err)
	}
	return key, nil
}

// createKey writes a new random key to path, which must not exist.
func createKey(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("flowtoken: creating key file: %w", err)
	}
	key := newKey()
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("flowtoken: writing key file %s: %w", path, err)
	}
	return key, nil
}
