package sip

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func isCtl(c byte) bool { return c < 0x20 || c == 0x7f }

// eachString calls f with every string that starts with prefix and goes on
// with up to max bytes of alphabet.
func eachString(prefix, alphabet string, max int, f func(string)) {
	b := []byte(prefix)
	var gen func(left int)
	gen = func(left int) {
		f(string(b))
		if left == 0 {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			b = append(b, alphabet[i])
			gen(left - 1)
			b = b[:len(b)-1]
		}
	}
	gen(max)
}

// byteSearches are the sixteen-bytes-at-a-time searches (assembly on
// amd64), each with its portable form and the bytes it looks for.
var byteSearches = []struct {
	name          string
	fast, generic func(string) int
	match         func(byte) bool
}{
	{"indexCtl", indexCtl, indexCtl, isCtl},
	{"indexQuote", indexQuote, func(s string) int { return index3Generic(s, '"'*ones, '\\'*ones, '\\'*ones) }, func(c byte) bool { return c == '"' || c == '\\' }},
	{"indexListByte", indexListByte, func(s string) int { return index3Generic(s, ','*ones, '"'*ones, '<'*ones) }, func(c byte) bool { return c == ',' || c == '"' || c == '<' }},
}

// TestByteSearches compares each search and its portable form with a byte
// loop: every byte value at every position of strings of every length up
// to three blocks, on several fillers, with a second match after the
// first and one just past the end of the string.
func TestByteSearches(t *testing.T) {
	buf := make([]byte, 64)
	for _, bs := range byteSearches {
		for n := 0; n <= 48; n++ {
			for pos := 0; pos < n; pos++ {
				for c := 0; c < 256; c++ {
					for _, fill := range []byte{'a', 0x80, 0xff, 0x7e, 0x20, 0x9f, 0x21} {
						for i := range buf {
							buf[i] = fill
						}
						buf[pos] = byte(c)
						if pos+3 < n {
							buf[pos+3] = '\n'
						}
						buf[n] = '"'
						s := string(buf[:n])
						want := -1
						for i := 0; i < n; i++ {
							if bs.match(s[i]) {
								want = i
								break
							}
						}
						if got := bs.fast(s); got != want {
							t.Fatalf("%s(%q) = %d, want %d", bs.name, s, got, want)
						}
						if got := bs.generic(s); got != want {
							t.Fatalf("%s generic (%q) = %d, want %d", bs.name, s, got, want)
						}
					}
				}
			}
		}
		if got := bs.fast(""); got != -1 {
			t.Fatalf("%s(\"\") = %d", bs.name, got)
		}
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
	eachString(`"`, "\"\\a", 12, func(s string) {
		if got, want := quotedEnd(s, 0), walk(s); got != want {
			t.Fatalf("quotedEnd(%q, 0) = %d, want %d", s, got, want)
		}
	})
}

// TestParamsGet compares Get, which looks for the name in place, with a
// walk of nextParam on every string of up to six bytes over the
// characters that matter to parameters, for names good and odd.
func TestParamsGet(t *testing.T) {
	walk := func(s, name string) (string, bool) {
		for i := 0; i < len(s); {
			n, v, _, next, ok := nextParam(s, i)
			if !ok {
				return "", false
			}
			if equalFoldASCII(n, name) {
				return stripQuotes(v), true
			}
			i = next
		}
		return "", false
	}
	names := []string{"a", "A", "ab", "a=b", "", "b", ";", "a b", `"a"`, "a;", "aa"}
	eachString("", ";= \"aAb", 6, func(s string) {
		for _, name := range names {
			v, ok := Params(s).Get(name)
			wv, wok := walk(s, name)
			if v != wv || ok != wok {
				t.Fatalf("Params(%q).Get(%q) = %q, %v; the walk gives %q, %v", s, name, v, ok, wv, wok)
			}
		}
	})
}

// TestScanQuoted compares scanQuoted, which passes plain bytes in a tight
// loop, with a byte-by-byte reading on every string of up to eight bytes
// over the bytes that matter inside a quoted-string.
func TestScanQuoted(t *testing.T) {
	walk := func(s string) (int, bool) {
		ok := true
		for i := 1; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '"':
				return i + 1, ok
			case c == '\\':
				i++
				if i < len(s) && (s[i] == '\r' || s[i] == '\n') {
					ok = false
				}
			case c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f:
				ok = false
			}
		}
		return -1, false
	}
	eachString(`"`, "\"\\a\t\r\x01\x7f\xc3 ", 7, func(s string) {
		e, ok := scanQuoted(s)
		we, wok := walk(s)
		if e != we || ok != wok {
			t.Fatalf("scanQuoted(%q) = %d, %v; want %d, %v", s, e, ok, we, wok)
		}
	})
}

// TestLineEnds compares lineEnds with lineEndsGeneric (the same on other
// architectures) and with what they promise: every string of up to six
// bytes over the bytes that matter, pseudo-random longer ones that cross
// many sixteen-byte blocks, and a message with more lines than fit.
func TestLineEnds(t *testing.T) {
	forEachLineEnds(t, testLineEnds)
}

// forEachLineEnds runs f with each way lineEnds can read: 32 bytes at a
// time where the processor can, and 16.
func forEachLineEnds(t *testing.T, f func(*testing.T)) {
	saved := hasAVX2
	defer func() { hasAVX2 = saved }()
	for _, avx2 := range []bool{saved, false} {
		hasAVX2 = avx2
		f(t)
		if !saved {
			break
		}
	}
}

func testLineEnds(t *testing.T) {
	check := func(s string) {
		t.Helper()
		var a, b [maxLineEnds]uint32
		n, stop, kind := lineEnds(s, &a)
		gn, gstop, gkind := lineEndsGeneric(s, &b)
		if n != gn || stop != gstop || kind != gkind || !slices.Equal(a[:n], b[:gn]) {
			t.Fatalf("lineEnds(%q) = %d %d %d %v; generic %d %d %d %v", s, n, stop, kind, a[:n], gn, gstop, gkind, b[:gn])
		}
		// Every recorded line is free of control characters but HTAB and
		// its CR.
		start := 0
		for _, e := range b[:gn] {
			line := strings.TrimSuffix(s[start:e], "\r")
			if line == "" || strings.IndexFunc(line, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) >= 0 {
				t.Fatalf("lineEnds(%q): line %q", s, line)
			}
			start = int(e) + 1
		}
	}
	eachString("", "a \t\r\n\x01\x7f\x80", 6, check)
	rnd := rand.New(rand.NewPCG(1, 2))
	const weighted = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:;  \t\r\n\r\n\n\x01\x7f\xc3"
	for range 200000 {
		buf := make([]byte, rnd.IntN(120))
		for i := range buf {
			buf[i] = weighted[rnd.IntN(len(weighted))]
		}
		check(string(buf))
	}
	check(strings.Repeat("Via: x\r\n", maxLineEnds+6) + "\r\nbody")
}
