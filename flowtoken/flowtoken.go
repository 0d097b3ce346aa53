// Package flowtoken signs and checks the flow tokens that sipedge puts in
// the user part of its Record-Route and Path URIs (RFC 5626 §5.2): an
// in-dialog request that comes back with the token is sent over the flow
// (the WebSocket or TCP connection) the token names, which is the only way
// to reach a browser whose Contact is a ".invalid" name (RFC 7118).
//
// # Format
//
// A token is the unpadded base64url spelling of
//
//	byte  0       format: version (high 4 bits, 1), expiry flag (0x08),
//	              transport kind (low 3 bits)
//	bytes 1-8     flow id, big-endian
//	bytes 9-12    boot id: random, drawn when the Codec is made
//	byte  13      key id: the first byte of the SHA-256 of the signing key
//	bytes 14-17   expiry, unix seconds, big-endian (only with the flag)
//	last 16       the first 16 bytes (128 bits) of HMAC-SHA256 under the
//	              key, over a domain string and every byte before it
//
// that is 30 bytes, 40 characters, without expiry and 34 bytes, 46
// characters, with one. The token says nothing of the client's address; a
// forged or altered token (any bit of it, the expiry included) fails
// Decode with ErrInvalid, and the MAC is compared in constant time. The
// version nibble lets a later format be told apart (and refused) rather
// than misread.
//
// Flow ids are only unique within one process (the transport counts them
// from 1), while a key outlives the process and may be shared by nodes. The
// boot id ties a token to the Codec, hence the process, that made it: a
// genuine token from another process (before a restart, or another node
// sharing the key) gives ErrStale, its flow certainly gone (430), instead of
// naming whichever connection now has the same number.
//
// # Keys
//
// A Codec holds one or more keys: the first signs, all verify, so keys can
// be rotated across the nodes of a cluster without breaking dialogs. Keys
// come from the configuration (ParseSecret) or from a random key kept in
// the data directory (LoadOrCreateKey), so that tokens outlive a restart.
package flowtoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sipedge/sipedge/transport"
)

// MinKeyLen is the shortest key accepted: 128 bits.
const MinKeyLen = 16

// Token lengths, in characters.
const (
	Len       = 40 // a token without expiry
	LenExpiry = 46 // a token with an expiry
)

const (
	version    = 1
	flagExpiry = 0x08
	kindMask   = 0x07
	headLen    = 1 + 8 + 4 + 1 // format byte, flow id, boot id, key id
	keyIDAt    = 13
	expiryLen  = 4
	macLen     = 16
	rawLen     = headLen + macLen
	rawLenExp  = headLen + expiryLen + macLen
	// domain separates these MACs from any other use of the same key, and
	// from the MACs of the earlier, unversioned format.
	domain = "sipedge flow token 2"
)

// ErrInvalid is returned for a token that is malformed, of an unknown
// format version, or whose MAC does not match any key: a forged or altered
// token (a proxy answers 403).
var ErrInvalid = errors.New("flowtoken: invalid token")

// ErrExpired is returned for a token whose MAC is good but whose expiry
// has passed. It wraps ErrInvalid, so errors.Is(err, ErrInvalid) holds for
// both (the proxy answers 403 either way) and errors.Is(err, ErrExpired)
// tells them apart for the log.
var ErrExpired = fmt.Errorf("%w: expired", ErrInvalid)

// ErrStale is returned for a genuine, unexpired token made by another
// Codec: another process, before a restart or on another node sharing the
// key. The flow it names is not one of ours, so it is gone (the proxy
// answers 430 Flow Failed). It does not wrap ErrInvalid.
var ErrStale = errors.New("flowtoken: token of another process: flow gone")

// Codec makes and checks tokens. The first key signs; every key verifies,
// so that keys can be rotated on a cluster without breaking dialogs. A
// Codec is safe for concurrent use.
type Codec struct {
	keys [][]byte
	ids  []byte  // ids[i] names keys[i] in a token: the first byte of its SHA-256
	boot [4]byte // random: names this Codec's flow-id space
}

// New returns a Codec with the given keys (at most 256, each at least
// MinKeyLen bytes); keys[0] signs new tokens. Make one Codec per transport
// manager (per process): tokens of another Codec, even with the same keys,
// give ErrStale.
func New(keys ...[]byte) (*Codec, error) {
	if len(keys) == 0 || len(keys) > 256 {
		return nil, fmt.Errorf("flowtoken: %d keys, want 1 to 256", len(keys))
	}
	c := newCodec()
	for i, k := range keys {
		if len(k) < MinKeyLen {
			return nil, fmt.Errorf("flowtoken: key %d is %d bytes, want at least %d", i+1, len(k), MinKeyLen)
		}
		c.add(k)
	}
	return c, nil
}

// Rotate returns a Codec with new keys (as New) for the same flows: it
// keeps c's boot id, so that the tokens c made still decode when their key
// is among keys. It is how a configuration reload changes keys without a
// restart; c itself is unchanged.
func (c *Codec) Rotate(keys ...[]byte) (*Codec, error) {
	n, err := New(keys...)
	if err != nil {
		return nil, err
	}
	n.boot = c.boot
	return n, nil
}

// NewRandom returns a Codec with one fresh random 256-bit key: tokens then
// live as long as the process.
func NewRandom() *Codec {
	c := newCodec()
	c.add(newKey())
	return c
}

func newCodec() *Codec {
	c := &Codec{}
	_, _ = rand.Read(c.boot[:])
	return c
}

// newKey is a fresh random 256-bit key.
func newKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k
}

// add appends a copy of key and its id. The id, not the key's position,
// goes into tokens, so that a new key can be put first on every node
// while tokens signed under the old one stay good.
func (c *Codec) add(key []byte) {
	sum := sha256.Sum256(key)
	c.keys = append(c.keys, append([]byte(nil), key...))
	c.ids = append(c.ids, sum[0])
}

// encoding is base64url without padding, strict about the unused low bits
// of the last character: each token has exactly one spelling.
func encoding() *base64.Encoding { return base64.RawURLEncoding.Strict() }

// Encode returns the token, without expiry, for flow id of transport kind
// (a transport.Kind from UDP to WSS): Len characters.
func (c *Codec) Encode(id transport.FlowID, kind transport.Kind) string {
	return c.encode(fields{id: id, kind: kind, boot: c.boot})
}

// EncodeUntil returns a token for flow id of transport kind that Decode
// refuses from until on: LenExpiry characters. The expiry is kept in whole
// seconds, rounded down, and saturates at the ends of its 32 bits (1970 and
// February 2106). A zero until means no expiry, as Encode.
func (c *Codec) EncodeUntil(id transport.FlowID, kind transport.Kind, until time.Time) string {
	t := fields{id: id, kind: kind, boot: c.boot}
	if until.IsZero() {
		return c.encode(t)
	}
	s := until.Unix()
	switch {
	case s < 0:
		s = 0
	case s > math.MaxUint32:
		s = math.MaxUint32
	}
	t.hasExp, t.exp = true, uint32(s)
	return c.encode(t)
}

// encode signs t with the first key.
func (c *Codec) encode(t fields) string {
	var raw [rawLenExp]byte
	raw[0] = version<<4 | byte(t.kind)&kindMask
	binary.BigEndian.PutUint64(raw[1:9], uint64(t.id))
	copy(raw[9:13], t.boot[:])
	raw[keyIDAt] = c.ids[0]
	n := headLen
	if t.hasExp {
		raw[0] |= flagExpiry
		binary.BigEndian.PutUint32(raw[headLen:], t.exp)
		n += expiryLen
	}
	mac(raw[n:n], c.keys[0], raw[:n])
	return encoding().EncodeToString(raw[:n+macLen])
}

// Decode checks tok at the current time and returns the flow and transport
// it names; see DecodeAt.
func (c *Codec) Decode(tok string) (transport.FlowID, transport.Kind, error) {
	return c.DecodeAt(tok, time.Now())
}

// DecodeAt checks tok as of now and returns the flow and transport it
// names. A malformed, forged or altered token gives ErrInvalid; a good one
// whose expiry is at or before now gives ErrExpired; a good, unexpired one
// of another Codec (process) gives ErrStale.
func (c *Codec) DecodeAt(tok string, now time.Time) (transport.FlowID, transport.Kind, error) {
	t, err := c.parse(tok)
	if err != nil {
		return 0, 0, err
	}
	if t.hasExp && !now.Before(time.Unix(int64(t.exp), 0)) {
		return 0, 0, ErrExpired
	}
	if t.boot != c.boot {
		return 0, 0, ErrStale
	}
	return t.id, t.kind, nil
}

// fields are the contents of a token that parse found genuine.
type fields struct {
	id     transport.FlowID
	kind   transport.Kind
	boot   [4]byte
	hasExp bool
	exp    uint32
}

// parse checks the format and the MAC of tok, not its expiry or boot id.
func (c *Codec) parse(tok string) (t fields, err error) {
	var n int
	switch len(tok) {
	case Len:
		n = rawLen
	case LenExpiry:
		n, t.hasExp = rawLenExp, true
	default:
		return fields{}, ErrInvalid
	}
	var raw [rawLenExp]byte
	if m, err := encoding().Decode(raw[:], []byte(tok)); err != nil || m != n {
		return fields{}, ErrInvalid
	}
	if raw[0]>>4 != version || (raw[0]&flagExpiry != 0) != t.hasExp {
		return fields{}, ErrInvalid
	}
	body := n - macLen
	ok := false
	for i, kid := range c.ids {
		if kid != raw[keyIDAt] {
			continue
		}
		var want [macLen]byte
		mac(want[:0], c.keys[i], raw[:body])
		if hmac.Equal(want[:], raw[body:n]) {
			ok = true
			break
		}
	}
	if !ok {
		return fields{}, ErrInvalid
	}
	t.kind = transport.Kind(raw[0] & kindMask)
	if t.kind < transport.UDP || t.kind > transport.WSS {
		return fields{}, ErrInvalid
	}
	if t.hasExp {
		t.exp = binary.BigEndian.Uint32(raw[headLen:])
	}
	t.id = transport.FlowID(binary.BigEndian.Uint64(raw[1:9]))
	copy(t.boot[:], raw[9:13])
	return t, nil
}

// mac appends the truncated MAC of payload under key to dst.
func mac(dst, key, payload []byte) {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(domain))
	h.Write(payload)
	var sum [sha256.Size]byte
	copy(dst[:macLen], h.Sum(sum[:0])[:macLen])
}
