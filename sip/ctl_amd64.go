package sip

import "golang.org/x/sys/cpu"

// hasAVX2 lets lineEnds read 32 bytes at a time. It is written once at
// package initialisation and only read after.
var hasAVX2 = cpu.X86.HasAVX2

// index3 returns the index of the first byte of s that is the low byte of
// a, b or c, each given repeated in all eight bytes (ctl_amd64.s).
//
//go:noescape
func index3(s string, a, b, c uint64) int

// lineEnds finds the header lines of s (ctl_amd64.s; lineEndsGeneric
// says what it does).
//
//go:noescape
func lineEnds(s string, ends *[maxLineEnds]uint32) (n, stop, kind int)
