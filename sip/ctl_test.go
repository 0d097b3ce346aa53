package sip

import (
	"math/bits"
	"testing"
)

func isCtl(c byte) bool { return c < 0x20 || c == 0x7f }

// TestIndexCtl compares indexCtl (the assembly on amd64) and
// indexCtlGeneric with a byte loop: every byte value at every position of
// strings of every length up to three blocks, on several fillers, with a
// second control character after the first.
func TestIndexCtl(t *testing.T) {
	buf := make([]byte, 64)
	for n := 0; n <= 48; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				for _, fill := range []byte{'a', 0x80, 0xff, 0x7e, 0x20, 0x9f} {
					for i := range buf {
						buf[i] = fill
					}
					buf[pos] = byte(c)
					if pos+3 < n {
						buf[pos+3] = '\n'
					}
					// A control character just past the string must not be seen.
					buf[n] = '\r'
					s := string(buf[:n])
					want := -1
					for i := 0; i < n; i++ {
						if isCtl(s[i]) {
							want = i
							break
						}
					}
					if got := indexCtl(s); got != want {
						t.Fatalf("indexCtl(%q) = %d, want %d", s, got, want)
					}
					if got := indexCtlGeneric(s); got != want {
						t.Fatalf("indexCtlGeneric(%q) = %d, want %d", s, got, want)
					}
				}
			}
		}
	}
	if got := indexCtl(""); got != -1 {
		t.Fatalf("indexCtl(\"\") = %d", got)
	}
}

// TestCtlMask compares the eight-byte control-character test with the
// byte-wise one for every byte value at every position.
func TestCtlMask(t *testing.T) {
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			for _, fill := range []byte{'a', 0x80, 0xff, 0x7e, 0x20} {
				var b [8]byte
				for i := range b {
					b[i] = fill
				}
				b[pos] = byte(c)
				first := -1
				for i := 7; i >= 0; i-- {
					if isCtl(b[i]) {
						first = i
					}
				}
				mask := ctlMask(load64(string(b[:]), 0))
				if (mask != 0) != (first >= 0) || mask != 0 && bits.TrailingZeros64(mask)/8 != first {
					t.Fatalf("byte %#x at %d among %#x: mask %#x, first control character at %d", c, pos, fill, mask, first)
				}
			}
		}
	}
}

// TestQuotedEnd compares quotedEnd with a plain walk on every string of up
// to thirteen bytes over quote, backslash and a letter that opens with a
// quote, so that the eight-byte steps meet each byte at every position.
func TestQuotedEnd(t *testing.T) {
	walk := func(s string) int {
		for k := 1; k < len(s); k++ {
			switch s[k] {
			case '\\':
				k++
			case '"':
				return k + 1
			}
		}
		return -1
	}
	b := []byte{'"'}
	var gen func()
	gen = func() {
		s := string(b)
		if got, want := quotedEnd(s, 0), walk(s); got != want {
			t.Fatalf("quotedEnd(%q, 0) = %d, want %d", s, got, want)
		}
		if len(b) == 13 {
			return
		}
		for _, c := range []byte{'"', '\\', 'a'} {
			b = append(b, c)
			gen()
			b = b[:len(b)-1]
		}
	}
	gen()
}
