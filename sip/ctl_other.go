//go:build !amd64

package sip

// index3 returns the index of the first byte of s that is the low byte of
// a, b or c, each given repeated in all eight bytes.
func index3(s string, a, b, c uint64) int { return index3Generic(s, a, b, c) }

// lineEnds finds the header lines of s; see lineEndsGeneric.
func lineEnds(s string, ends *[maxLineEnds]uint32) (n, stop, kind int) {
	return lineEndsGeneric(s, ends)
}
