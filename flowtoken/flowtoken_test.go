package flowtoken

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/sipedge/sipedge/transport"
)

func TestRoundTrip(t *testing.T) {
	c := NewRandom()
	until := time.Now().Add(time.Hour)
	for _, id := range []transport.FlowID{0, 1, 1<<64 - 1, 123456789} {
		for k := transport.UDP; k <= transport.WSS; k++ {
			tok := c.Encode(id, k)
			if len(tok) != Len {
				t.Fatalf("Encode: %d characters, want %d", len(tok), Len)
			}
			gotID, gotKind, err := c.Decode(tok)
			if err != nil || gotID != id || gotKind != k {
				t.Fatalf("Decode(Encode(%d, %v)) = %d, %v, %v", id, k, gotID, gotKind, err)
			}
			tok = c.EncodeUntil(id, k, until)
			if len(tok) != LenExpiry {
				t.Fatalf("EncodeUntil: %d characters, want %d", len(tok), LenExpiry)
			}
			gotID, gotKind, err = c.Decode(tok)
			if err != nil || gotID != id || gotKind != k {
				t.Fatalf("Decode(EncodeUntil(%d, %v)) = %d, %v, %v", id, k, gotID, gotKind, err)
			}
		}
	}
	if c.EncodeUntil(5, transport.WS, time.Time{}) != c.Encode(5, transport.WS) {
		t.Fatal("EncodeUntil with a zero time differs from Encode")
	}
}

func TestForgedAndAltered(t *testing.T) {
	c := NewRandom()
	for _, tok := range []string{c.Encode(42, transport.WS), c.EncodeUntil(42, transport.WS, time.Now().Add(time.Hour))} {
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
		if _, _, err := other.Decode(tok); !errors.Is(err, ErrInvalid) || errors.Is(err, ErrExpired) {
			t.Fatalf("token of another key: %v", err)
		}
		for _, bad := range []string{"", "x", tok + "A", tok[:len(tok)-1], "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"} {
			if _, _, err := c.Decode(bad); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode(%q) = %v", bad, err)
			}
		}
	}
}

// reraw decodes tok, lets f change its bytes and spells it again.
func reraw(t *testing.T, tok string, f func(raw []byte)) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	f(raw)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func TestFormat(t *testing.T) {
	c := NewRandom()
	tok := c.Encode(7, transport.TCP)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	if raw[0] != 0x10|byte(transport.TCP) {
		t.Fatalf("format byte %#x", raw[0])
	}
	// Another version, the expiry flag on a short token, a kind out of
	// range: all refused even though only the MAC would catch them.
	for name, f := range map[string]func([]byte){
		"version 2":    func(r []byte) { r[0] = 0x20 | r[0]&0x0f },
		"version 0":    func(r []byte) { r[0] &= 0x0f },
		"expiry flag":  func(r []byte) { r[0] |= 0x08 },
		"kind 0":       func(r []byte) { r[0] &^= 0x07 },
		"kind 7":       func(r []byte) { r[0] |= 0x07 },
		"boot id":      func(r []byte) { r[9]++ },
		"key id":       func(r []byte) { r[13]++ },
		"flow id":      func(r []byte) { r[8]++ },
		"last MAC bit": func(r []byte) { r[len(r)-1] ^= 1 },
	} {
		if _, _, err := c.Decode(reraw(t, tok, f)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The old, unversioned format of the same length is refused.
	if _, _, err := c.Decode("AAAAAAAAAAEB_____________________w"); !errors.Is(err, ErrInvalid) { // 35 characters
		t.Errorf("old format: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	c := NewRandom()
	until := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tok := c.EncodeUntil(9, transport.WSS, until)
	for _, tc := range []struct {
		now  time.Time
		want error
	}{
		{until.Add(-time.Hour), nil},
		{until.Add(-time.Nanosecond), nil},
		{until, ErrExpired},
		{until.Add(time.Second), ErrExpired},
	} {
		id, kind, err := c.DecodeAt(tok, tc.now)
		if !errors.Is(err, tc.want) || tc.want == nil && err != nil {
			t.Fatalf("DecodeAt(%v) = %v, want %v", tc.now, err, tc.want)
		}
		if tc.want == nil && (id != 9 || kind != transport.WSS) {
			t.Fatalf("DecodeAt(%v) = %d, %v", tc.now, id, kind)
		}
		if tc.want != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("ErrExpired does not wrap ErrInvalid: %v", err)
		}
	}
	// Whole seconds, rounded down: never later than asked.
	if _, _, err := c.DecodeAt(c.EncodeUntil(1, transport.WS, until.Add(900*time.Millisecond)), until); !errors.Is(err, ErrExpired) {
		t.Fatalf("expiry rounded up: %v", err)
	}
	// Decode uses the clock.
	if _, _, err := c.Decode(c.EncodeUntil(1, transport.WS, time.Now().Add(-time.Second))); !errors.Is(err, ErrExpired) {
		t.Fatalf("Decode of an expired token: %v", err)
	}
	if _, _, err := c.Decode(c.EncodeUntil(1, transport.WS, time.Now().Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	// Saturation at the ends of 32 bits.
	if _, _, err := c.DecodeAt(c.EncodeUntil(1, transport.WS, time.Unix(-5, 0)), time.Unix(0, 0)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expiry before 1970: %v", err)
	}
	far := c.EncodeUntil(1, transport.WS, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, _, err := c.DecodeAt(far, time.Date(2106, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("far expiry: %v", err)
	}
	if _, _, err := c.DecodeAt(far, time.Date(2106, 3, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrExpired) {
		t.Fatalf("far expiry past 2106: %v", err)
	}
}

// TestExpiryIsSigned moves the expiry of a token later and checks that
// the MAC catches it (ErrInvalid, not a valid or merely expired token).
func TestExpiryIsSigned(t *testing.T) {
	c := NewRandom()
	until := time.Now().Add(-time.Minute)
	tok := c.EncodeUntil(3, transport.WS, until)
	for i := 14; i < 18; i++ {
		for _, delta := range []byte{1, 0x80} {
			bad := reraw(t, tok, func(r []byte) { r[i] += delta })
			_, _, err := c.Decode(bad)
			if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrExpired) {
				t.Fatalf("expiry byte %d + %d: %v", i, delta, err)
			}
		}
	}
	// Dropping the expiry (flag off, 4 bytes out) is caught too.
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	short := append([]byte{raw[0] &^ 0x08}, raw[1:14]...)
	short = append(short, raw[18:]...)
	if _, _, err := c.Decode(base64.RawURLEncoding.EncodeToString(short)); !errors.Is(err, ErrInvalid) || errors.Is(err, ErrExpired) {
		t.Fatalf("expiry removed: %v", err)
	}
}

func TestRotation(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1, 2}, 16), bytes.Repeat([]byte{2, 3}, 16)
	old, err := New(k1)
	if err != nil {
		t.Fatal(err)
	}
	tok := old.Encode(7, transport.TCP)
	until := time.Now().Add(time.Hour)
	tokExp := old.EncodeUntil(8, transport.WS, until)
	rotated, err := old.Rotate(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	if id, kind, err := rotated.Decode(tok); err != nil || id != 7 || kind != transport.TCP {
		t.Fatalf("token of the previous key after rotation: %d, %v, %v", id, kind, err)
	}
	if id, kind, err := rotated.Decode(tokExp); err != nil || id != 8 || kind != transport.WS {
		t.Fatalf("expiring token of the previous key after rotation: %d, %v, %v", id, kind, err)
	}
	if _, _, err := rotated.DecodeAt(tokExp, until); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired token of the previous key after rotation: %v", err)
	}
	if _, _, err := rotated.Decode(rotated.Encode(8, transport.WS)); err != nil {
		t.Fatal(err)
	}
	newExp := rotated.EncodeUntil(8, transport.WS, until)
	if _, _, err := rotated.Decode(newExp); err != nil {
		t.Fatal(err)
	}
	if _, _, err := old.Decode(rotated.Encode(8, transport.WS)); err == nil {
		t.Fatal("token of the new key accepted by the old key set")
	}
	if _, _, err := old.Decode(newExp); !errors.Is(err, ErrInvalid) || errors.Is(err, ErrExpired) {
		t.Fatalf("expiring token of the new key by the old key set: %v", err)
	}
	if _, err := New(); err == nil {
		t.Fatal("no keys accepted")
	}
	if _, err := old.Rotate(); err == nil {
		t.Fatal("rotation to no keys accepted")
	}
	// Another Codec with the same keys (another process, another node)
	// knows the tokens are genuine but not its own.
	other, _ := New(k1)
	if _, _, err := other.Decode(tok); !errors.Is(err, ErrStale) || errors.Is(err, ErrInvalid) {
		t.Fatalf("token of another Codec with the same key: %v", err)
	}
	if _, _, err := other.DecodeAt(tokExp, until); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired token of another Codec: %v", err)
	}
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func FuzzDecode(f *testing.F) {
	c, _ := New(bytes.Repeat([]byte{9}, 32))
	f.Add(c.Encode(1, transport.WS))
	f.Add(c.EncodeUntil(1, transport.WS, time.Unix(1<<31, 0)))
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		tf, err := c.parse(s)
		if err != nil {
			if _, _, err := c.DecodeAt(s, time.Unix(0, 0)); err == nil {
				t.Fatalf("DecodeAt accepted %q that parse refuses", s)
			}
			return
		}
		if got := c.encode(tf); got != s {
			t.Fatalf("accepted %q that Encode does not produce (%q)", s, got)
		}
		if tf.hasExp {
			_, _, err = c.DecodeAt(s, time.Unix(int64(tf.exp), 0))
			if !errors.Is(err, ErrExpired) {
				t.Fatalf("%q at its expiry: %v", s, err)
			}
		}
	})
}
