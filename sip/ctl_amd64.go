package sip

// indexCtl returns the index of the first control character of s (a byte
// below 0x20, or 0x7f), or -1. Every header line passes through it, so on
// amd64 it reads sixteen bytes at a time (ctl_amd64.s).
//
//go:noescape
func indexCtl(s string) int

// indexQuote returns the index of the first '"' or '\\' of s, or -1: the
// bytes that end or escape within a quoted-string (ctl_amd64.s).
//
//go:noescape
func indexQuote(s string) int
