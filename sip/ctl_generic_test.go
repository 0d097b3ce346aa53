//go:build !amd64

package sip

// hasAVX2 stands in for the amd64 switch, so that the tests of lineEnds
// read the same everywhere.
var hasAVX2 = false
