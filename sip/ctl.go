package sip

import "math/bits"

// indexCtlGeneric is indexCtl for any architecture, eight bytes at a time.
func indexCtlGeneric(s string) int {
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

// indexQuoteGeneric is indexQuote for any architecture, eight bytes at a
// time.
func indexQuoteGeneric(s string) int {
	const quotes, backslashes = '"' * ones, '\\' * ones
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if m := zeroBytes(w^quotes) | zeroBytes(w^backslashes); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			return i
		}
	}
	return -1
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
