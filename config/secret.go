package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// The rules of FlowTokenSecret, the same as flowtoken.ParseSecret's (config
// does not import flowtoken; a test in server checks that both agree).
const (
	minSecretLen      = 16 // bytes: 128 bits
	minSecretDistinct = 8  // different byte values, against "0000..."
	maxSecrets        = 16 // in one FlowTokenSecret list
	secretHint        = "make one with: openssl rand -hex 32"
)

// secretKey is the key whose value no message may repeat.
const secretKey = "FlowTokenSecret"

// parseSecret reads one secret: hex (a value made only of hex digits), or
// base64 in the standard or URL alphabet, padded or not, of at least 16
// bytes and 8 different byte values. msg never contains s.
func parseSecret(s string) (key []byte, msg string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, "empty secret"
	}
	if strings.Trim(s, "0123456789abcdefABCDEF") == "" {
		if len(s)%2 != 0 {
			return nil, fmt.Sprintf("odd number of hex digits (%d)", len(s))
		}
		key, _ = hex.DecodeString(s)
	} else {
		ok := false
		for _, e := range [...]*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := e.Strict().DecodeString(s); err == nil {
				key, ok = b, true
				break
			}
		}
		if !ok {
			return nil, "not hex or base64 (a passphrase is not accepted; " + secretHint + ")"
		}
	}
	if len(key) < minSecretLen {
		return nil, fmt.Sprintf("%d bytes, want at least %d (128 bits; %s)", len(key), minSecretLen, secretHint)
	}
	var seen [256]bool
	n := 0
	for _, c := range key {
		if !seen[c] {
			seen[c], n = true, n+1
		}
	}
	if n < minSecretDistinct {
		return nil, fmt.Sprintf("too regular to be random (fewer than %d different byte values; %s)", minSecretDistinct, secretHint)
	}
	return key, ""
}

// secrets reads FlowTokenSecret: one or more secrets separated by commas,
// the first signing flow tokens and all of them verifying (rotation).
func (b *builder) secrets() [][]byte {
	e := b.get(secretKey)
	if e == nil {
		return nil
	}
	if e.value == "" {
		b.bad(e, "empty value: remove the line to use the key kept in DataDirectory (%s)", "flowtoken.key")
		return nil
	}
	parts := strings.Split(e.value, ",")
	if len(parts) > maxSecrets {
		b.bad(e, "%d secrets, at most %d", len(parts), maxSecrets)
		return nil
	}
	var out [][]byte
	ok := true
	for i, p := range parts {
		key, msg := parseSecret(p)
		if msg != "" {
			b.bad(e, "%s", secretMsg(i, len(parts), msg))
			ok = false
			continue
		}
		for j, prev := range out {
			if bytes.Equal(prev, key) {
				b.bad(e, "%s", secretMsg(i, len(parts), fmt.Sprintf("the same key as secret %d", j+1)))
				ok = false
			}
		}
		out = append(out, key)
	}
	if !ok {
		return nil
	}
	return out
}

// secretMsg names secret i of n (counting from 1 when there are several).
func secretMsg(i, n int, msg string) string {
	if n == 1 {
		return "secret: " + msg
	}
	return fmt.Sprintf("secret %d of %d: %s", i+1, n, msg)
}

// quoteItem is quoteShort for a line or command-line item that is echoed in
// a message, except that a FlowTokenSecret or WSCookieAuthSharedSecret
// setting is never shown.
func quoteItem(s string) string {
	t := strings.TrimLeft(strings.TrimPrefix(strings.TrimSpace(s), "--"), " \t")
	for _, k := range [...]string{secretKey, wsCookieSecretKey, turnSecretKey} {
		if len(t) >= len(k) && strings.EqualFold(t[:len(k)], k) {
			return `"` + k + `..." (value not shown)`
		}
	}
	return quoteShort(s)
}
