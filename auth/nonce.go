package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
	"time"
)

// A nonce is base64url (no padding) of 34 bytes:
//
//	version(1)=1 | algorithm(1) | issued, Unix seconds, big-endian(8) |
//	random(8) | tag(16)
//
// where tag is the first 16 bytes of HMAC-SHA256(secret, label | the first
// 18 bytes | realm). The server keeps nothing to verify one: the tag proves
// that this process (or a node with the same secret) issued it, for this
// realm and this algorithm, and the timestamp gives its age. The tag also
// names the nonce in the nonce-count table.
const (
	nonceVersion = 1
	nonceHead    = 18
	nonceTagLen  = 16
	nonceRawLen  = nonceHead + nonceTagLen
	nonceLen     = (nonceRawLen*8 + 5) / 6 // 46 characters
)

var nonceLabel = []byte("sipedge digest nonce v1\x00")

// maxSkew is how far in the future an issue time may lie, for nodes that
// share a secret but not a perfectly synchronised clock.
const maxSkew = 30 * time.Second

type nonceTag [nonceTagLen]byte

// nonceState is what verifying a nonce found.
type nonceState uint8

const (
	nonceBad     nonceState = iota // not ours: wrong length, encoding, tag, realm or algorithm
	nonceValid                     // ours and fresh
	nonceExpired                   // ours, older than the lifetime (or from the future)
)

// noncer mints and verifies nonces.
type noncer struct {
	key      []byte
	lifetime int64 // seconds
	macs     sync.Pool
}

// mac is a pooled HMAC with scratch space, so that nothing handed to the
// hash.Hash interface escapes from the caller's stack.
type mac struct {
	h   hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

func newNoncer(key []byte, lifetime time.Duration) *noncer {
	n := &noncer{key: key, lifetime: int64(lifetime / time.Second)}
	n.macs.New = func() any { return &mac{h: hmac.New(sha256.New, n.key), in: make([]byte, 0, 256)} }
	return n
}

func (n *noncer) tag(dst *nonceTag, head []byte, realm string) {
	m := n.macs.Get().(*mac)
	m.in = append(append(append(m.in[:0], nonceLabel...), head...), realm...)
	m.h.Reset()
	m.h.Write(m.in)
	copy(dst[:], m.h.Sum(m.sum[:0]))
	if cap(m.in) > 1024 {
		m.in = make([]byte, 0, 256) // a long realm does not stay pooled
	}
	n.macs.Put(m)
}

// mint returns a fresh nonce for realm and alg issued at now.
func (n *noncer) mint(realm string, alg Algorithm, now time.Time) string {
	var raw [nonceRawLen]byte
	raw[0] = nonceVersion
	raw[1] = byte(alg)
	binary.BigEndian.PutUint64(raw[2:10], uint64(now.Unix()))
	rand.Read(raw[10:18])
	var t nonceTag
	n.tag(&t, raw[:nonceHead], realm)
	copy(raw[nonceHead:], t[:])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// verify checks nonce for realm and alg at now; it returns the state, the
// issue time and the tag.
func (n *noncer) verify(nonce, realm string, alg Algorithm, now time.Time) (nonceState, int64, nonceTag) {
	var t nonceTag
	if len(nonce) != nonceLen {
		return nonceBad, 0, t
	}
	var raw [nonceRawLen]byte
	var enc [nonceLen]byte
	copy(enc[:], nonce)
	if k, err := base64.RawURLEncoding.Decode(raw[:], enc[:]); err != nil || k != nonceRawLen {
		return nonceBad, 0, t
	}
	n.tag(&t, raw[:nonceHead], realm)
	if subtle.ConstantTimeCompare(t[:], raw[nonceHead:]) != 1 {
		return nonceBad, 0, t
	}
	if raw[0] != nonceVersion || Algorithm(raw[1]) != alg {
		return nonceBad, 0, t
	}
	issued := int64(binary.BigEndian.Uint64(raw[2:10]))
	age := now.Unix() - issued
	if age > n.lifetime || age < -int64(maxSkew/time.Second) {
		return nonceExpired, issued, t
	}
	return nonceValid, issued, t
}
