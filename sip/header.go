package sip

import "strings"

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

// headersByLen lists the known headers by the length of their full name,
// so that a lookup compares only a few candidates. Written once at package
// initialisation and only read after.
var headersByLen = func() (t [24][]Header) {
	for h := HeaderVia; h < numHeaders; h++ {
		t[len(headerNames[h])] = append(t[len(headerNames[h])], h)
	}
	return t
}()

// HeaderOf returns the known header named name (full or compact form, any
// case), or HeaderOther.
func HeaderOf(name string) Header {
	if len(name) == 1 {
		return compactHeader(name[0])
	}
	if len(name) == 0 || len(name) >= len(headersByLen) {
		return HeaderOther
	}
	first := name[0] | 0x20
	for _, h := range headersByLen[len(name)] {
		if n := headerLower[h]; n[0] == first && equalLower(name, n) {
			return h
		}
	}
	return HeaderOther
}

// headerLower holds the lower-case full names; written once at package
// initialisation and only read after.
var headerLower = func() (t [numHeaders]string) {
	for h := HeaderVia; h < numHeaders; h++ {
		t[h] = strings.ToLower(headerNames[h])
	}
	return t
}()

// equalLower compares name with lower, a lower-case name of letters and
// hyphens, ignoring ASCII case; OR-ing 0x20 maps only a letter's capital
// onto it (and CR onto '-', which a field name cannot hold).
func equalLower(name, lower string) bool {
	if len(name) != len(lower) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
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

// Field is one header field: its name as written (compact or full), and
// its value with surrounding white space removed and folded lines joined.
type Field struct {
	Name  string
	Value string
	// Key is the known header, or HeaderOther.
	Key Header
	// rawOff and rawLen locate the field's original text (without its line
	// end) in the message's source; rawLen is 0 once the field was changed,
	// for an added field and for a folded one, which are written as
	// Name ": " Value.
	rawOff, rawLen uint32
}

// Is reports whether the field has the given name (any case, compact
// forms matching their full names).
func (f *Field) Is(name string) bool {
	if f.Key != HeaderOther {
		return HeaderOf(name) == f.Key
	}
	return strings.EqualFold(f.Name, name)
}
