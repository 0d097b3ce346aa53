package flowtoken

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sipedge/sipedge/transport"
)

func TestRoundTrip(t *testing.T) {
	c := NewRandom()
	for _, id := range []transport.FlowID{0, 1, 1<<64 - 1, 123456789} {
		for k := transport.UDP; k <= transport.WSS; k++ {
			tok := c.Encode(id, k)
			gotID, gotKind, err := c.Decode(tok)
			if err != nil || gotID != id || gotKind != k {
				t.Fatalf("Decode(Encode(%d, %v)) = %d, %v, %v", id, k, gotID, gotKind, err)
			}
		}
	}
}

func TestForgedAndAltered(t *testing.T) {
	c := NewRandom()
	tok := c.Encode(42, transport.WS)
	// Every single-character change must fail.
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(tok) {
		for _, r := range []byte(alphabet) {
			if r == tok[i] {
				continue
			}
			b := []byte(tok)
			b[i] = r
			if _, _, err := c.Decode(string(b)); err == nil {
				t.Fatalf("altered token %q accepted", b)
			}
		}
	}
	other := NewRandom()
	if _, _, err := other.Decode(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("token of another key accepted: %v", err)
	}
	for _, bad := range []string{"", "x", tok + "A", tok[:len(tok)-1], "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"} {
		if _, _, err := c.Decode(bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Decode(%q) = %v", bad, err)
		}
	}
}

func TestRotation(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, err := New(k1)
	if err != nil {
		t.Fatal(err)
	}
	tok := old.Encode(7, transport.TCP)
	rotated, err := New(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	if id, kind, err := rotated.Decode(tok); err != nil || id != 7 || kind != transport.TCP {
		t.Fatalf("token of the previous key after rotation: %d, %v, %v", id, kind, err)
	}
	if _, _, err := rotated.Decode(rotated.Encode(8, transport.WS)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := old.Decode(rotated.Encode(8, transport.WS)); err == nil {
		t.Fatal("token of the new key accepted by the old key set")
	}
	if _, err := New(); err == nil {
		t.Fatal("no keys accepted")
	}
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func FuzzDecode(f *testing.F) {
	c, _ := New(bytes.Repeat([]byte{9}, 32))
	f.Add(c.Encode(1, transport.WS))
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		id, kind, err := c.Decode(s)
		if err == nil && c.Encode(id, kind) != s {
			t.Fatalf("accepted %q that Encode does not produce", s)
		}
	})
}
