// Package flowtoken signs and checks the flow tokens that sipedge puts in
// the user part of its Record-Route and Path URIs (RFC 5626 §5.2): an
// in-dialog request that comes back with the token is sent over the flow
// (the WebSocket or TCP connection) the token names, which is the only way
// to reach a browser whose Contact is a ".invalid" name (RFC 7118).
//
// A token is base64url(flow id, transport, key id, MAC), the MAC being the
// first 16 bytes of HMAC-SHA256 under the key. It says nothing of the
// client's address, and a forged or altered token fails Decode.
package flowtoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sipedge/sipedge/transport"
)

// MinKeyLen is the shortest key accepted: 128 bits.
const MinKeyLen = 16

const (
	payloadLen = 8 + 1 + 1 // flow id, transport kind, key index
	macLen     = 16
	rawLen     = payloadLen + macLen
	// domain separates these MACs from any other use of the same key.
	domain = "sipedge flow token v1"
)

// ErrInvalid is returned for a token that is malformed or whose MAC does not
// match any key: a forged or altered token (a proxy answers 403).
var ErrInvalid = errors.New("flowtoken: invalid token")

// Codec makes and checks tokens. The first key signs; every key verifies,
// so that keys can be rotated on a cluster without breaking dialogs.
type Codec struct {
	keys [][]byte
	ids  []byte // ids[i] names keys[i] in a token: the first byte of its SHA-256
}

// New returns a Codec with the given keys (at most 256, each at least
// MinKeyLen bytes); keys[0] signs new tokens.
func New(keys ...[]byte) (*Codec, error) {
	if len(keys) == 0 || len(keys) > 256 {
		return nil, fmt.Errorf("flowtoken: %d keys, want 1 to 256", len(keys))
	}
	c := &Codec{}
	for i, k := range keys {
		if len(k) < MinKeyLen {
			return nil, fmt.Errorf("flowtoken: key %d is %d bytes, want at least %d", i+1, len(k), MinKeyLen)
		}
		c.add(k)
	}
	return c, nil
}

// NewRandom returns a Codec with one fresh random 256-bit key: tokens then
// live as long as the process, which is as long as its flows do.
func NewRandom() *Codec {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	c := &Codec{}
	c.add(k)
	return c
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

// Encode returns the token for flow id of transport kind.
func (c *Codec) Encode(id transport.FlowID, kind transport.Kind) string {
	var raw [rawLen]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(id))
	raw[8] = byte(kind)
	raw[9] = c.ids[0]
	c.mac(raw[payloadLen:payloadLen], c.keys[0], raw[:payloadLen])
	return encoding().EncodeToString(raw[:])
}

// Decode checks tok and returns the flow and transport it names.
func (c *Codec) Decode(tok string) (transport.FlowID, transport.Kind, error) {
	var raw [rawLen]byte
	if encoding().EncodedLen(rawLen) != len(tok) {
		return 0, 0, ErrInvalid
	}
	if n, err := encoding().Decode(raw[:], []byte(tok)); err != nil || n != rawLen {
		return 0, 0, ErrInvalid
	}
	ok := false
	for i, id := range c.ids {
		if id != raw[9] {
			continue
		}
		var want [macLen]byte
		c.mac(want[:0], c.keys[i], raw[:payloadLen])
		if hmac.Equal(want[:], raw[payloadLen:]) {
			ok = true
			break
		}
	}
	if !ok {
		return 0, 0, ErrInvalid
	}
	kind := transport.Kind(raw[8])
	if kind < transport.UDP || kind > transport.WSS {
		return 0, 0, ErrInvalid
	}
	return transport.FlowID(binary.BigEndian.Uint64(raw[:8])), kind, nil
}

// mac appends the truncated MAC of payload under key to dst.
func (c *Codec) mac(dst, key, payload []byte) {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(domain))
	h.Write(payload)
	var sum [sha256.Size]byte
	copy(dst[:macLen], h.Sum(sum[:0])[:macLen])
}
