// Package sip is sipedge's SIP message layer (RFC 3261 §7, §19, §20, §25):
// the message model, strict bounded parsers for datagram and stream
// transports, URIs, typed header access and a serializer that copies the
// bytes of every header field it did not change.
//
// The package does no I/O, starts no goroutines and has no package-level
// mutable state. A parsed Message owns one immutable copy of its input, and
// every string it hands out (header values, URI parts, parameters) is a
// substring of that copy, so reading a message allocates nothing more.
// Messages are not safe for concurrent mutation.
package sip
