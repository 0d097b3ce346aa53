//go:build !amd64

package sip

// indexCtl returns the index of the first control character of s (a byte
// below 0x20, or 0x7f), or -1.
func indexCtl(s string) int { return indexCtlGeneric(s) }

// indexQuote returns the index of the first '"' or '\\' of s, or -1.
func indexQuote(s string) int { return indexQuoteGeneric(s) }
