package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Algorithm is a digest algorithm (RFC 7616 §3.3, RFC 8760 §2.1).
type Algorithm uint8

// The algorithms. The -sess variants use the same stored HA1 as their base
// algorithm; the session key H(HA1:nonce:cnonce) is computed here
// (RFC 7616 §3.4.2).
const (
	MD5 Algorithm = iota + 1
	SHA256
	MD5Sess
	SHA256Sess
)

// String returns the algorithm's name as a challenge writes it.
func (a Algorithm) String() string {
	switch a {
	case MD5:
		return "MD5"
	case SHA256:
		return "SHA-256"
	case MD5Sess:
		return "MD5-sess"
	case SHA256Sess:
		return "SHA-256-sess"
	}
	return "unknown"
}

// ParseAlgorithm parses an algorithm name, case-insensitively.
func ParseAlgorithm(s string) (Algorithm, bool) {
	switch {
	case strings.EqualFold(s, "MD5"):
		return MD5, true
	case strings.EqualFold(s, "SHA-256"):
		return SHA256, true
	case strings.EqualFold(s, "MD5-sess"):
		return MD5Sess, true
	case strings.EqualFold(s, "SHA-256-sess"):
		return SHA256Sess, true
	}
	return 0, false
}

// Base returns MD5 for MD5 and MD5-sess, SHA256 for SHA-256 and
// SHA-256-sess: the algorithm of the HA1 a Users source stores.
func (a Algorithm) Base() Algorithm {
	switch a {
	case MD5, MD5Sess:
		return MD5
	case SHA256, SHA256Sess:
		return SHA256
	}
	return 0
}

// Sess reports whether a is a -sess variant.
func (a Algorithm) Sess() bool { return a == MD5Sess || a == SHA256Sess }

// Valid reports whether a is one of the four algorithms.
func (a Algorithm) Valid() bool { return a >= MD5 && a <= SHA256Sess }

// size returns the digest length in bytes.
func (a Algorithm) size() int {
	if a.Base() == SHA256 {
		return sha256.Size
	}
	return md5.Size
}

// sum appends the digest of b under a's base algorithm to dst.
func (a Algorithm) sum(dst, b []byte) []byte {
	if a.Base() == SHA256 {
		s := sha256.Sum256(b)
		return append(dst, s[:]...)
	}
	s := md5.Sum(b)
	return append(dst, s[:]...)
}

// hexSum appends the lower-case hex digest of b to dst.
func (a Algorithm) hexSum(dst, b []byte) []byte {
	var buf [sha256.Size]byte
	return hex.AppendEncode(dst, a.sum(buf[:0], b))
}

// HA1 returns H(user ":" realm ":" password) in lower-case hex under alg's
// base algorithm (RFC 7616 §3.4.2): the value a user store keeps instead of
// the password, and what Users.HA1 returns. For a -sess algorithm it is the
// same as for its base; the session part depends on the nonce and cnonce and
// is added by Check.
func HA1(alg Algorithm, user, realm, password string) string {
	b := make([]byte, 0, len(user)+len(realm)+len(password)+2)
	b = append(b, user...)
	b = append(b, ':')
	b = append(b, realm...)
	b = append(b, ':')
	b = append(b, password...)
	base := alg.Base()
	if base == 0 {
		base = MD5
	}
	return string(base.hexSum(nil, b))
}

// digestResponse appends the expected raw response digest to dst (RFC 7616
// §3.4.1, qop=auth): KD(HA1', nonce:nc:cnonce:qop:H(method:uri)), where
// HA1' is ha1 itself or, for -sess, H(ha1:nonce:cnonce). ha1 is lower-case
// hex; buf is scratch space.
func digestResponse(dst []byte, alg Algorithm, ha1, nonce, nc, cnonce, qop, method, uri string) []byte {
	var scratch [512]byte
	b := scratch[:0]
	var ha1b [2 * sha256.Size]byte
	h1 := append(ha1b[:0], ha1...)
	if alg.Sess() {
		b = append(b, ha1...)
		b = append(b, ':')
		b = append(b, nonce...)
		b = append(b, ':')
		b = append(b, cnonce...)
		h1 = alg.hexSum(ha1b[:0], b)
		b = b[:0]
	}
	b = append(b, method...)
	b = append(b, ':')
	b = append(b, uri...)
	var ha2b [2 * sha256.Size]byte
	h2 := alg.hexSum(ha2b[:0], b)
	b = b[:0]
	b = append(b, h1...)
	b = append(b, ':')
	b = append(b, nonce...)
	b = append(b, ':')
	b = append(b, nc...)
	b = append(b, ':')
	b = append(b, cnonce...)
	b = append(b, ':')
	b = append(b, qop...)
	b = append(b, ':')
	b = append(b, h2...)
	return alg.sum(dst, b)
}
