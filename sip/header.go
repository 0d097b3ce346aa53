package sip

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unsafe"
)

// Header identifies a header field that the package knows by name; every
// other field is HeaderOther and is found by its name.
type Header uint8

// Known header fields.
const (
	HeaderOther Header = iota
	HeaderVia
	HeaderFrom
	HeaderTo
	HeaderCallID
	HeaderCSeq
	HeaderMaxForwards
	HeaderContact
	HeaderRoute
	HeaderRecordRoute
	HeaderPath
	HeaderContentLength
	HeaderContentType
	HeaderContentEncoding
	HeaderExpires
	HeaderMinExpires
	HeaderSupported
	HeaderRequire
	HeaderProxyRequire
	HeaderUnsupported
	HeaderAllow
	HeaderWWWAuthenticate
	HeaderProxyAuthenticate
	HeaderAuthorization
	HeaderProxyAuthorization
	HeaderFlowTimer
	HeaderSubject
	HeaderEvent
	HeaderAllowEvents
	HeaderReferTo
	HeaderReferredBy
	HeaderSessionExpires
	HeaderAcceptContact
	HeaderRejectContact
	HeaderRequestDisposition
	HeaderIdentity
	HeaderUserAgent
	HeaderServer
	numHeaders
)

// headerNames holds the full name of each known header, as this package
// writes it.
var headerNames = [numHeaders]string{
	HeaderVia:                "Via",
	HeaderFrom:               "From",
	HeaderTo:                 "To",
	HeaderCallID:             "Call-ID",
	HeaderCSeq:               "CSeq",
	HeaderMaxForwards:        "Max-Forwards",
	HeaderContact:            "Contact",
	HeaderRoute:              "Route",
	HeaderRecordRoute:        "Record-Route",
	HeaderPath:               "Path",
	HeaderContentLength:      "Content-Length",
	HeaderContentType:        "Content-Type",
	HeaderContentEncoding:    "Content-Encoding",
	HeaderExpires:            "Expires",
	HeaderMinExpires:         "Min-Expires",
	HeaderSupported:          "Supported",
	HeaderRequire:            "Require",
	HeaderProxyRequire:       "Proxy-Require",
	HeaderUnsupported:        "Unsupported",
	HeaderAllow:              "Allow",
	HeaderWWWAuthenticate:    "WWW-Authenticate",
	HeaderProxyAuthenticate:  "Proxy-Authenticate",
	HeaderAuthorization:      "Authorization",
	HeaderProxyAuthorization: "Proxy-Authorization",
	HeaderFlowTimer:          "Flow-Timer",
	HeaderSubject:            "Subject",
	HeaderEvent:              "Event",
	HeaderAllowEvents:        "Allow-Events",
	HeaderReferTo:            "Refer-To",
	HeaderReferredBy:         "Referred-By",
	HeaderSessionExpires:     "Session-Expires",
	HeaderAcceptContact:      "Accept-Contact",
	HeaderRejectContact:      "Reject-Contact",
	HeaderRequestDisposition: "Request-Disposition",
	HeaderIdentity:           "Identity",
	HeaderUserAgent:          "User-Agent",
	HeaderServer:             "Server",
}

// String returns the full name of h ("" for HeaderOther).
func (h Header) String() string {
	if h < numHeaders {
		return headerNames[h]
	}
	return ""
}

// compactForms maps the compact form letters (RFC 3261 §7.3.3 and the
// IANA registry) to headers.
func compactHeader(c byte) Header {
	switch c | 0x20 {
	case 'v':
		return HeaderVia
	case 'f':
		return HeaderFrom
	case 't':
		return HeaderTo
	case 'i':
		return HeaderCallID
	case 'm':
		return HeaderContact
	case 'l':
		return HeaderContentLength
	case 'c':
		return HeaderContentType
	case 'e':
		return HeaderContentEncoding
	case 'k':
		return HeaderSupported
	case 's':
		return HeaderSubject
	case 'o':
		return HeaderEvent
	case 'u':
		return HeaderAllowEvents
	case 'r':
		return HeaderReferTo
	case 'b':
		return HeaderReferredBy
	case 'x':
		return HeaderSessionExpires
	case 'a':
		return HeaderAcceptContact
	case 'j':
		return HeaderRejectContact
	case 'd':
		return HeaderRequestDisposition
	case 'y':
		return HeaderIdentity
	}
	return HeaderOther
}

// HeaderOf returns the known header named name (full or compact form, any
// case), or HeaderOther.
func HeaderOf(name string) Header {
	if len(name) <= 1 {
		if len(name) == 0 {
			return HeaderOther
		}
		return compactHeader(name[0])
	}
	h := headerTable[headerHash(name)]
	if h != HeaderOther && equalLower(name, headerLower[h]) {
		return h
	}
	return HeaderOther
}

const headerSlots = 128

// headerHash maps each known full name to its own slot of headerTable
// (TestHeaderOfAllNames checks that none collide).
func headerHash(name string) uint8 {
	return uint8(uint(len(name))+uint(name[0]|0x20)*18+uint(name[len(name)-1]|0x20)*27) & (headerSlots - 1)
}

// headerTable and headerLower are written once at package initialisation
// and only read after.
var headerTable = func() (t [headerSlots]Header) {
	for h := HeaderVia; h < numHeaders; h++ {
		t[headerHash(headerNames[h])] = h
	}
	return t
}()

// headerLower holds the lower-case full names.
var headerLower = func() (t [numHeaders]string) {
	for h := HeaderVia; h < numHeaders; h++ {
		t[h] = strings.ToLower(headerNames[h])
	}
	return t
}()

// equalLower compares name with lower, a lower-case name of letters and
// hyphens, ignoring ASCII case; OR-ing 0x20 maps only a letter's capital
// onto it (and CR onto '-', which a field name cannot hold). Eight bytes at
// a time where the names are that long.
func equalLower(name, lower string) bool {
	n := len(name)
	if n != len(lower) {
		return false
	}
	if n < 8 {
		for i := 0; i < n; i++ {
			if name[i]|0x20 != lower[i] {
				return false
			}
		}
		return true
	}
	const spaces = 0x2020202020202020
	for i := 0; i < n-8; i += 8 {
		if load64(name, i)|spaces != load64(lower, i) {
			return false
		}
	}
	return load64(name, n-8)|spaces == load64(lower, n-8)
}

// nameSlot holds a known name as it is normally spelled: its first eight
// bytes as a little-endian word, the next ones with their mask, and its
// length. knownName compares a whole name in two steps.
type nameSlot struct {
	w0, w1, m1 uint64
	n          int
	h          Header
}

// nameHashMul spreads the first two bytes of each known name shorter than
// sixteen bytes, with its length added, onto its own slot of nameSlots
// (TestKnownName checks that none collide). The product does not wait for
// the colon to be found; only the length is added after.
const nameHashMul = 0x9a88f075deafe0db

func nameHash(w0 uint64, n int) uint64 { return (nameSpread(w0) + uint64(n)) & 63 }

// nameSpread is the part of nameHash that needs only the first word.
func nameSpread(w0 uint64) uint64 { return (w0 & 0xffff) * nameHashMul >> 58 }

// nameSlots is written once at package initialisation and only read after;
// names of sixteen bytes or more have no slot and never match.
var nameSlots = func() (t [64]nameSlot) {
	for h := HeaderVia; h < numHeaders; h++ {
		name := headerNames[h]
		if len(name) >= 16 {
			continue
		}
		var b [16]byte
		copy(b[:], name)
		w0 := binary.LittleEndian.Uint64(b[:8])
		slot := &t[nameHash(w0, len(name))]
		if slot.n != 0 {
			continue // a collision: the name takes the general path
		}
		slot.w0, slot.n, slot.h = w0, len(name), h
		if len(name) > 8 {
			slot.w1 = binary.LittleEndian.Uint64(b[8:])
			slot.m1 = 1<<(8*(len(name)-8)) - 1
		}
	}
	return t
}()

// knownName recognizes at s[pos:] a known header name spelled as
// headerNames has it, or a compact form, directly followed by the colon.
// It returns the header and the colon's offset from pos, or 0 when the
// name needs the general scan (other names, other spellings, white space
// before the colon, fewer than sixteen bytes left). Being one of the known
// spellings proves the name a token, so no byte needs a closer look; and
// the slot is found from the loaded words alone, without another load
// from s on the way.
func knownName(s string, pos int) (Header, int) {
	if pos+16 > len(s) {
		return HeaderOther, 0
	}
	const colons = ':' * ones
	w0, w1 := load64(s, pos), load64(s, pos+8)
	spread := nameSpread(w0)
	var n int
	if m := zeroBytes(w0 ^ colons); m != 0 {
		n = bits.TrailingZeros64(m) / 8
		switch n {
		case 0:
			return HeaderOther, 0
		case 1:
			if h := compactHeader(byte(w0)); h != HeaderOther {
				return h, 1
			}
			return HeaderOther, 0
		}
		w0 &= 1<<(8*n) - 1
	} else if m := zeroBytes(w1 ^ colons); m != 0 {
		n = 8 + bits.TrailingZeros64(m)/8
	} else {
		return HeaderOther, 0
	}
	slot := &nameSlots[(spread+uint64(n))&63]
	if slot.n != n || slot.w0 != w0 || w1&slot.m1 != slot.w1 {
		return HeaderOther, 0
	}
	return slot.h, n
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// zeroBytes sets the top bit of each zero byte of x; a borrow can flag a
// byte above a zero one too, so only the lowest flag is exact.
func zeroBytes(x uint64) uint64 { return (x - ones) &^ x & highs }

// load64 reads the eight bytes of s at i, which the caller keeps in range.
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))[:])
}

// multiValue reports whether the header's value is a comma-separated list
// whose elements this package splits (RFC 3261 §7.3.1).
func (h Header) multiValue() bool {
	switch h {
	case HeaderVia, HeaderContact, HeaderRoute, HeaderRecordRoute, HeaderPath,
		HeaderSupported, HeaderRequire, HeaderProxyRequire, HeaderUnsupported,
		HeaderAllow, HeaderAllowEvents, HeaderAcceptContact, HeaderRejectContact:
		return true
	}
	return false
}

// Field is one header field as Fields gives it: its name as written
// (compact or full), and its value with surrounding white space removed
// and folded lines joined.
type Field struct {
	Name  string
	Value string
	// Key is the known header, or HeaderOther.
	Key Header
}

// Is reports whether the field has the given name (any case, compact
// forms matching their full names).
func (f *Field) Is(name string) bool {
	if f.Key != HeaderOther {
		return HeaderOf(name) == f.Key
	}
	return strings.EqualFold(f.Name, name)
}
