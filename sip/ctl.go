package sip

import "math/bits"

// indexCtl returns the index of the first control character of s (a byte
// below 0x20, or 0x7f), or -1; eight bytes at a time. Header lines are
// checked by lineEnds; this serves the rarer general path.
func indexCtl(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if mask := ctlMask(load64(s, i)); mask != 0 {
			return i + bits.TrailingZeros64(mask)/8
		}
	}
	for ; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return i
		}
	}
	return -1
}

// index3Generic is index3 for any architecture, eight bytes at a time.
func index3Generic(s string, a, b, c uint64) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if m := zeroBytes(w^a) | zeroBytes(w^b) | zeroBytes(w^c); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if x := s[i]; x == byte(a) || x == byte(b) || x == byte(c) {
			return i
		}
	}
	return -1
}

// indexQuote returns the index of the first '"' or '\\' of s, or -1: the
// bytes that end or escape within a quoted-string.
func indexQuote(s string) int { return index3(s, '"'*ones, '\\'*ones, '\\'*ones) }

// indexListByte returns the index of the first ',', '"' or '<' of s, or
// -1: where a list element may end, or a quoted string or a bracketed URI
// (either of which may hold a comma) starts.
func indexListByte(s string) int { return index3(s, ','*ones, '"'*ones, '<'*ones) }

// maxLineEnds is how many header lines one lineEnds call reports.
const maxLineEnds = 64

// Why lineEnds stopped.
const (
	lineEndsInput = iota // s ended; stop is len(s)
	lineEndsEmpty        // an empty line ends the header fields; stop is its LF
	lineEndsOdd          // a control character other than HTAB, or a CR not before LF, at stop
	lineEndsFull         // ends is full; stop is where the next line starts
)

// lineEndsGeneric is lineEnds for any architecture. s starts at a header
// line; the index of each line's LF goes to ends until s ends, an empty
// line ("\n" or "\r\n") ends the header fields, a control character
// other than HTAB or a CR not followed by LF turns up, or ends is full. n
// is how many lines it recorded; stop and kind say where and why it
// stopped (see the lineEnds constants). Every recorded line holds no
// control character but HTAB and the CR of its CRLF.
func lineEndsGeneric(s string, ends *[maxLineEnds]uint32) (n, stop, kind int) {
	lineStart := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x20 && c != 0x7f, c == '\t':
		case c == '\r':
			if i+1 >= len(s) || s[i+1] != '\n' {
				return n, i, lineEndsOdd
			}
		case c == '\n':
			if i == lineStart || i == lineStart+1 && s[lineStart] == '\r' {
				return n, i, lineEndsEmpty
			}
			ends[n] = uint32(i)
			n++
			lineStart = i + 1
			if n == maxLineEnds {
				return n, lineStart, lineEndsFull
			}
		default:
			return n, i, lineEndsOdd
		}
	}
	return n, len(s), lineEndsInput
}

// ctlMask sets the top bit of each byte of x (little-endian) that is a
// control character: below 0x20 or 0x7f. No carry crosses a byte, so every
// flag is exact and the lowest one marks the first control character.
func ctlMask(x uint64) uint64 {
	low := x &^ highs
	ge20 := low + 0x60*ones // top bit set when the low seven bits are >= 0x20
	is7f := low + ones      // top bit set when they are 0x7f
	return ^x & (^ge20 | is7f) & highs
}
