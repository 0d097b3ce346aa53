package sip

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// utCRLF turns a message written with "\n" line ends into wire form.
func utCRLF(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func utParse(t *testing.T, s string) *Message {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, s)
	}
	return m
}

// utParseFail parses s with p (nil: the default parser) and returns the
// *ParseError it must fail with.
func utParseFail(t *testing.T, p *Parser, s string) *ParseError {
	t.Helper()
	if p == nil {
		p = NewParser(Limits{})
	}
	m, err := p.Parse([]byte(s))
	if err == nil {
		t.Fatalf("Parse accepted:\n%s\n(Call-ID %q)", s, m.CallID())
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Parse error %v (%T) is not a *ParseError", err, err)
	}
	if m != nil {
		t.Errorf("Parse returned a message with its error")
	}
	return pe
}

// utJsSIPRegister is a REGISTER as JsSIP sends it over WebSocket.
var utJsSIPRegister = utCRLF(`REGISTER sip:example.org SIP/2.0
Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK5150592
Max-Forwards: 69
To: <sip:alice@example.org>
From: "Alice" <sip:alice@example.org>;tag=ktmd3fvqkh
Call-ID: 3b2r5h4qr3d1nrk9a6s1
CSeq: 2 REGISTER
Contact: <sip:k3ka4u7l@df7jal23ls0d.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:3f1c5e2a-8b4d-4c6e-9a7f-2d1e0b9c8a76>";expires=600
Expires: 600
Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY
Supported: path,gruu,outbound
User-Agent: JsSIP 3.10.1
Content-Length: 0

`)

// utCompactInvite uses the compact header forms.
var utCompactInvite = utCRLF(`INVITE sip:bob@example.org;transport=ws SIP/2.0
v: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK3719475;rport
v: SIP/2.0/TLS 203.0.113.20:5061;branch=z9hG4bKc0a1f29e.1, SIP/2.0/UDP 10.20.0.5:5060;branch=z9hG4bK77e5a1
Max-Forwards: 70
Route: <sip:edge.example.org;transport=ws;lr>
t: <sip:bob@example.org>
f: "Alice Liddell" <sip:alice@example.org>;tag=a73kszlfl8
i: o8ppaq1jq6pcdmuvjg3c7g
CSeq: 6305 INVITE
m: <sip:k3ka4u7l@df7jal23ls0d.invalid;transport=ws;ob>;+sip.instance="<urn:uuid:3f1c5e2a-8b4d-4c6e-9a7f-2d1e0b9c8a76>";reg-id=1
k: path, gruu,outbound
c: application/sdp
Authorization: Digest username="alice", realm="example.org", nonce="6f8a", uri="sip:bob@example.org", response="9c2e", qop=auth, nc=00000001, cnonce="t4r8"
Session-Expires: 90
l: 10

v=0
s=-
`)

func TestJsSIPRegister(t *testing.T) {
	m := utParse(t, utJsSIPRegister)
	utEq(t, "IsRequest", m.IsRequest(), true)
	utEq(t, "Method", m.Method, "REGISTER")
	utEq(t, "R-URI", m.RequestURI.String(), "sip:example.org")
	utEq(t, "Version", m.Version, "SIP/2.0")
	v := m.TopVia()
	utEq(t, "Via", v.Transport+" "+v.SentBy()+" "+v.Branch(), "WSS df7jal23ls0d.invalid z9hG4bK5150592")
	mf, ok := m.MaxForwards()
	utEq(t, "Max-Forwards", [2]any{mf, ok}, [2]any{69, true})
	to, from := m.To(), m.From()
	utEq(t, "To", to.URI.String(), "sip:alice@example.org")
	utEq(t, "To tag", to.Tag(), "")
	utEq(t, "From display", from.DisplayName(), "Alice")
	utEq(t, "From tag", from.Tag(), "ktmd3fvqkh")
	utEq(t, "Call-ID", m.CallID(), "3b2r5h4qr3d1nrk9a6s1")
	utEq(t, "CSeq", m.CSeq(), CSeq{2, "REGISTER"})
	ex, ok := m.Expires()
	utEq(t, "Expires", [2]any{ex, ok}, [2]any{uint32(600), true})
	_, ok = m.MinExpires()
	utEq(t, "Min-Expires present", ok, false)
	_, ok = m.FlowTimer()
	utEq(t, "Flow-Timer present", ok, false)
	cl, ok := m.ContentLength()
	utEq(t, "Content-Length", [2]any{cl, ok}, [2]any{0, true})
	cs := utAddrs(t, m.Contacts())
	if len(cs) != 1 {
		t.Fatalf("got %d Contacts", len(cs))
	}
	c := cs[0]
	utEq(t, "Contact transport", c.URI.Transport(), "ws")
	utEq(t, "Contact +sip.ice", c.Params.Has("+sip.ice"), true)
	inst, _ := c.Params.Get("+sip.instance")
	utEq(t, "Contact +sip.instance", inst, "<urn:uuid:3f1c5e2a-8b4d-4c6e-9a7f-2d1e0b9c8a76>")
	rid, _ := c.Params.Get("reg-id")
	utEq(t, "Contact reg-id", rid, "1")
	for _, tok := range []string{"path", "gruu", "outbound", "OUTBOUND"} {
		if !m.HasToken(HeaderSupported, tok) {
			t.Errorf("Supported lacks %q", tok)
		}
	}
	if m.HasToken(HeaderSupported, "timer") || m.HasToken(HeaderRequire, "path") {
		t.Errorf("HasToken reports absent tokens")
	}
	for _, tok := range []string{"INVITE", "MESSAGE", "notify"} {
		if !m.HasToken(HeaderAllow, tok) {
			t.Errorf("Allow lacks %q", tok)
		}
	}
	var allow []string
	for v, err := range m.Values(HeaderAllow) {
		if err != nil {
			t.Fatal(err)
		}
		allow = append(allow, v)
	}
	utEq(t, "Allow values", strings.Join(allow, "|"), "INVITE|ACK|CANCEL|BYE|UPDATE|MESSAGE|OPTIONS|REFER|INFO|NOTIFY")
	ua, ok := m.Get("user-agent")
	utEq(t, "User-Agent", ua+fmt.Sprint(ok), "JsSIP 3.10.1true")
	if _, ok := m.Get("Route"); ok {
		t.Errorf("Get(Route) found a field")
	}
	if _, ok, err := m.FirstAddr(HeaderRoute); ok || err != nil {
		t.Errorf("FirstAddr(Route) = %v, %v", ok, err)
	}
	utEq(t, "Fields", len(m.Fields()), 12)
	utEq(t, "round trip", m.String(), utJsSIPRegister)
}

func TestCompactForms(t *testing.T) {
	m := utParse(t, utCompactInvite)
	utEq(t, "Method", m.Method, "INVITE")
	vias := utVias(t, m)
	var got []string
	for _, v := range vias {
		got = append(got, v.Transport+" "+v.SentBy())
	}
	utEq(t, "Vias", strings.Join(got, ", "), "WSS df7jal23ls0d.invalid, TLS 203.0.113.20:5061, UDP 10.20.0.5:5060")
	utEq(t, "top Via rport", func() bool { v := m.TopVia(); _, ok := v.RPort(); return ok }(), true)
	to, from := m.To(), m.From()
	utEq(t, "t:", to.URI.String(), "sip:bob@example.org")
	utEq(t, "f: display", from.DisplayName(), "Alice Liddell")
	utEq(t, "f: tag", from.Tag(), "a73kszlfl8")
	utEq(t, "i:", m.CallID(), "o8ppaq1jq6pcdmuvjg3c7g")
	utEq(t, "CSeq", m.CSeq(), CSeq{6305, "INVITE"})
	c, ok, err := m.FirstAddr(HeaderContact)
	if err != nil || !ok {
		t.Fatalf("FirstAddr(Contact) = %v, %v", ok, err)
	}
	utEq(t, "m: ob", c.URI.Params.Has("ob"), true)
	utEq(t, "k: outbound", m.HasToken(HeaderSupported, "outbound"), true)
	utEq(t, "k: gruu", m.HasToken(HeaderSupported, "gruu"), true)
	utEq(t, "c:", m.ContentType(), "application/sdp")
	cl, _ := m.ContentLength()
	utEq(t, "l:", cl, 10)
	utEq(t, "Body", m.Body, "v=0\r\ns=-\r\n")
	rt, ok, err := m.FirstAddr(HeaderRoute)
	if err != nil || !ok {
		t.Fatalf("FirstAddr(Route) = %v, %v", ok, err)
	}
	utEq(t, "Route", rt.URI.Host, "edge.example.org")
	// Get finds compact fields by their full name and the reverse.
	for _, pair := range [][2]string{{"Call-ID", "o8ppaq1jq6pcdmuvjg3c7g"}, {"I", "o8ppaq1jq6pcdmuvjg3c7g"}, {"supported", "path, gruu,outbound"},
		{"x", "90"}, {"Session-Expires", "90"}, {"Content-Type", "application/sdp"}, {"l", "10"}} {
		if v, ok := m.Get(pair[0]); !ok || v != pair[1] {
			t.Errorf("Get(%q) = %q, %v; want %q", pair[0], v, ok, pair[1])
		}
	}
	var auths []Auth
	for a, err := range m.Auths(HeaderAuthorization) {
		if err != nil {
			t.Fatal(err)
		}
		auths = append(auths, a)
	}
	if len(auths) != 1 || !auths[0].IsDigest() {
		t.Fatalf("Auths = %+v", auths)
	}
	for _, kv := range [][2]string{{"username", "alice"}, {"uri", "sip:bob@example.org"}, {"qop", "auth"}, {"nc", "00000001"}} {
		if v, _ := auths[0].Param(kv[0]); v != kv[1] {
			t.Errorf("Authorization %s = %q, want %q", kv[0], v, kv[1])
		}
	}
	utEq(t, "round trip", m.String(), utCompactInvite)
}

func TestHeaderOf(t *testing.T) {
	for name, want := range map[string]Header{
		"Via": HeaderVia, "v": HeaderVia, "V": HeaderVia, "VIA": HeaderVia,
		"f": HeaderFrom, "t": HeaderTo, "i": HeaderCallID, "call-id": HeaderCallID,
		"m": HeaderContact, "l": HeaderContentLength, "c": HeaderContentType, "e": HeaderContentEncoding,
		"k": HeaderSupported, "s": HeaderSubject, "o": HeaderEvent, "u": HeaderAllowEvents, "r": HeaderReferTo,
		"b": HeaderReferredBy, "x": HeaderSessionExpires, "a": HeaderAcceptContact, "j": HeaderRejectContact,
		"d": HeaderRequestDisposition, "y": HeaderIdentity,
		"Max-Forwards": HeaderMaxForwards, "record-route": HeaderRecordRoute, "Proxy-Authorization": HeaderProxyAuthorization,
		"Flow-Timer": HeaderFlowTimer, "Path": HeaderPath, "Request-Disposition": HeaderRequestDisposition,
		"X-Custom": HeaderOther, "z": HeaderOther, "": HeaderOther, "C%6Fntact": HeaderOther, "Contacts": HeaderOther,
		strings.Repeat("x", 40): HeaderOther,
	} {
		if got := HeaderOf(name); got != want {
			t.Errorf("HeaderOf(%q) = %v, want %v", name, got, want)
		}
	}
	utEq(t, "HeaderCallID.String", HeaderCallID.String(), "Call-ID")
	utEq(t, "HeaderOther.String", HeaderOther.String(), "")
}

// TestHeaderOfAllNames checks that every known name, in any case, finds
// its own slot of the hash table, and that near misses find none.
func TestHeaderOfAllNames(t *testing.T) {
	for h := HeaderVia; h < numHeaders; h++ {
		name := h.String()
		for _, n := range []string{name, strings.ToLower(name), strings.ToUpper(name)} {
			if got := HeaderOf(n); got != h {
				t.Errorf("HeaderOf(%q) = %v, want %v", n, got, h)
			}
		}
		for _, n := range []string{name + "x", name[1:], name[:len(name)-1] + "_"} {
			if len(n) == 1 { // a compact form
				continue
			}
			if got := HeaderOf(n); got != HeaderOther {
				t.Errorf("HeaderOf(%q) = %v, want HeaderOther", n, got)
			}
		}
	}
}

// TestKnownName checks the whole-word name match against HeaderOf: every
// name it recognizes is the header HeaderOf gives, and every known name in
// its usual spelling is recognized when it is shorter than sixteen bytes.
func TestKnownName(t *testing.T) {
	for h := HeaderVia; h < numHeaders; h++ {
		if name := h.String(); len(name) < 16 {
			if _, n := knownName(name+": x;y=zzzzzzzzzzzzzzzz\r\n", 0); n != len(name) {
				t.Errorf("%s has no slot of its own in nameSlots (change nameHashMul)", name)
			}
		}
	}
	var names []string
	for h := HeaderVia; h < numHeaders; h++ {
		name := h.String()
		names = append(names, name, strings.ToLower(name), strings.ToUpper(name), name+"x", name[1:], name[:len(name)-1]+"_", name+" ")
	}
	for c := 0; c < 256; c++ {
		names = append(names, string(rune(c)), "\r"+string(rune(c)), string([]byte{byte(c), 'i', 'a'}))
	}
	for _, name := range names {
		for _, tail := range []string{": SIP/2.0/UDP a.example;branch=z9hG4bK1\r\n", ":", ""} {
			s := "x" + name + tail
			h, n := knownName(s, 1)
			switch {
			case n == 0 && h != HeaderOther:
				t.Errorf("knownName(%q) = %v, 0", s, h)
			case n > 0 && (n != len(name) || h != HeaderOf(name) || h == HeaderOther || s[1+n] != ':'):
				t.Errorf("knownName(%q) = %v, %d; HeaderOf(%q) = %v", s, h, n, name, HeaderOf(name))
			case n == 0 && len(tail) > 1 && len(name) < 16 && h.String() == "" && HeaderOf(name) != HeaderOther &&
				(name == HeaderOf(name).String() || len(name) == 1):
				t.Errorf("knownName(%q) missed %v", s, HeaderOf(name))
			}
		}
	}
}

// utRequest builds a request from header lines (without line ends).
func utRequest(lines ...string) string {
	return "OPTIONS sip:bob@example.org SIP/2.0\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
}

var utBaseLines = []string{
	"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
	"From: <sip:alice@example.org>;tag=1",
	"To: <sip:bob@example.org>",
	"Call-ID: abc@192.0.2.1",
	"CSeq: 1 OPTIONS",
	"Max-Forwards: 70",
}

func utWith(extra ...string) string {
	return utRequest(append(slices.Clone(utBaseLines), extra...)...)
}

func utWithout(prefix string, extra ...string) string {
	var ls []string
	for _, l := range utBaseLines {
		if !strings.HasPrefix(l, prefix) {
			ls = append(ls, l)
		}
	}
	return utRequest(append(ls, extra...)...)
}

func TestParseValidation(t *testing.T) {
	accept := []struct {
		name string
		msg  string
		chk  func(t *testing.T, m *Message)
	}{
		{"baseline", utWith(), nil},
		{"duplicate identical Content-Length", utWith("Content-Length: 0", "Content-Length: 0"), func(t *testing.T, m *Message) {
			cl, ok := m.ContentLength()
			utEq(t, "Content-Length", [2]any{cl, ok}, [2]any{0, true})
			utEq(t, "one Content-Length written", strings.Count(m.String(), "Content-Length"), 1)
		}},
		{"duplicate identical Content-Length, compact and full", utWith("l: 0", "Content-Length:  0"), nil},
		{"duplicate identical Call-ID", utWith("i: abc@192.0.2.1"), nil},
		{"duplicate identical CSeq", utWith("CSeq: 1 OPTIONS"), nil},
		{"duplicate identical Max-Forwards", utWith("Max-Forwards: 70"), nil},
		{"CSeq 2**31-1", utWithout("CSeq", "CSeq: 2147483647 OPTIONS"), func(t *testing.T, m *Message) {
			utEq(t, "CSeq", m.CSeq().Seq, uint32(1<<31-1))
		}},
		{"CSeq 0", utWithout("CSeq", "CSeq: 0 OPTIONS"), nil},
		{"CSeq leading zeros", utWithout("CSeq", "CSeq: 0009 OPTIONS"), func(t *testing.T, m *Message) {
			utEq(t, "CSeq", m.CSeq().Seq, uint32(9))
		}},
		{"Max-Forwards 255", utWithout("Max-Forwards", "Max-Forwards: 255"), nil},
		{"Max-Forwards 0", utWithout("Max-Forwards", "Max-Forwards: 0"), nil},
		{"no Max-Forwards", utWithout("Max-Forwards"), func(t *testing.T, m *Message) {
			_, ok := m.MaxForwards()
			utEq(t, "Max-Forwards present", ok, false)
		}},
		{"Expires 2**32-1", utWith("Expires: 4294967295"), func(t *testing.T, m *Message) {
			e, _ := m.Expires()
			utEq(t, "Expires", e, uint32(1<<32-1))
		}},
		{"duplicate identical Expires", utWith("Expires: 60", "Expires: 60"), nil},
		{"Min-Expires and Flow-Timer", utWith("Min-Expires: 60", "Flow-Timer: 120"), func(t *testing.T, m *Message) {
			me, ok1 := m.MinExpires()
			ft, ok2 := m.FlowTimer()
			utEq(t, "Min-Expires", [2]any{me, ok1}, [2]any{uint32(60), true})
			utEq(t, "Flow-Timer", [2]any{ft, ok2}, [2]any{uint32(120), true})
		}},
		{"escaped control characters in a quoted string", utWith("Subject: \"a\\\x01b\\\x7fc\""), nil},
		{"quoted NUL escape in display name", utWithout("From", "From: \"NUL:\\\x00\" <sip:alice@example.org>;tag=1"), func(t *testing.T, m *Message) {
			f := m.From()
			utEq(t, "display", f.DisplayName(), "NUL:\x00")
		}},
		{"HTAB in a value", utWith("Subject: a\tb"), nil},
		{"UTF-8 in a value", utWith("Subject: caf\u00e9 \u65e5\u672c"), nil},
		{"empty header value", utWith("Subject:"), nil},
		{"bare LF line ends", strings.ReplaceAll(utWith("Content-Length: 3")+"abc", "\r\n", "\n"), func(t *testing.T, m *Message) {
			utEq(t, "Call-ID", m.CallID(), "abc@192.0.2.1")
			utEq(t, "Body", m.Body, "abc")
			out := m.String()
			if strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\n") {
				t.Errorf("output keeps bare LF line ends: %q", out)
			}
			utParse(t, out)
		}},
		{"mixed line ends", strings.Replace(utWith(), "\r\n", "\n", 3), nil},
		{"leading CRLFs before the start line", "\r\n\r\n" + utWith(), nil},
		{"lower-case version", strings.Replace(utWith(), "SIP/2.0\r\n", "sip/2.0\r\n", 1), nil},
		{"response", "SIP/2.0 200 OK\r\n" + strings.Join(utBaseLines[:5], "\r\n") + "\r\n\r\n", func(t *testing.T, m *Message) {
			utEq(t, "IsRequest", m.IsRequest(), false)
			utEq(t, "StatusCode", m.StatusCode, 200)
			utEq(t, "Reason", m.Reason, "OK")
		}},
		{"response to another method", "SIP/2.0 486 Busy Here\r\n" + strings.Join(utBaseLines[:4], "\r\n") + "\r\nCSeq: 7 INVITE\r\n\r\n", nil},
	}
	for _, tc := range accept {
		t.Run("accept/"+tc.name, func(t *testing.T) {
			m := utParse(t, tc.msg)
			if tc.chk != nil {
				tc.chk(t, m)
			}
		})
	}

	reject := []struct {
		name   string
		msg    string
		status int
	}{
		{"conflicting Content-Length", utWith("Content-Length: 0", "Content-Length: 1") + "x", 400},
		{"conflicting Call-ID", utWith("Call-ID: other@192.0.2.1"), 400},
		{"conflicting Call-ID (compact)", utWith("i: other@192.0.2.1"), 400},
		{"conflicting CSeq number", utWith("CSeq: 2 OPTIONS"), 400},
		{"conflicting CSeq method", utWith("CSeq: 1 INVITE"), 400},
		{"conflicting From", utWith("From: <sip:alice@example.org>;tag=2"), 400},
		{"conflicting To", utWith("t: <sip:carol@example.org>"), 400},
		{"conflicting Max-Forwards", utWith("Max-Forwards: 69"), 400},
		{"CSeq 2**31", utWithout("CSeq", "CSeq: 2147483648 OPTIONS"), 400},
		{"CSeq 2**32", utWithout("CSeq", "CSeq: 4294967296 OPTIONS"), 400},
		{"CSeq negative", utWithout("CSeq", "CSeq: -1 OPTIONS"), 400},
		{"CSeq without method", utWithout("CSeq", "CSeq: 1"), 400},
		{"CSeq without number", utWithout("CSeq", "CSeq: OPTIONS"), 400},
		{"CSeq method mismatch", utWithout("CSeq", "CSeq: 1 INVITE"), 400},
		{"CSeq method case mismatch", utWithout("CSeq", "CSeq: 1 options"), 400},
		{"Max-Forwards 256", utWithout("Max-Forwards", "Max-Forwards: 256"), 400},
		{"Max-Forwards negative", utWithout("Max-Forwards", "Max-Forwards: -1"), 400},
		{"Max-Forwards not a number", utWithout("Max-Forwards", "Max-Forwards: ten"), 400},
		{"Expires 2**32", utWith("Expires: 4294967296"), 400},
		{"Expires date", utWith("Expires: Thu, 01 Dec 2040 16:00:00 GMT"), 400},
		{"Min-Expires 2**32", utWith("Min-Expires: 4294967296"), 400},
		// index: "Duplicates of the single-value fields must agree".
		{"conflicting Expires", utWith("Expires: 60", "Expires: 3600"), 400},
		{"Content-Length negative", utWith("Content-Length: -1"), 400},
		{"Content-Length too big for the body", utWith("Content-Length: 10") + "short", 400},
		{"Content-Length 2**31", utWith("Content-Length: 2147483648"), 400},
		{"missing Via", utWithout("Via"), 400},
		{"missing From", utWithout("From"), 400},
		{"missing To", utWithout("To"), 400},
		{"missing Call-ID", utWithout("Call-ID"), 400},
		{"missing CSeq", utWithout("CSeq"), 400},
		{"response missing Via", "SIP/2.0 200 OK\r\n" + strings.Join(utBaseLines[1:5], "\r\n") + "\r\n\r\n", 400},
		{"response missing CSeq", "SIP/2.0 200 OK\r\n" + strings.Join(utBaseLines[:4], "\r\n") + "\r\n\r\n", 400},
		{"empty Call-ID", utWithout("Call-ID", "Call-ID:"), 400},
		{"Call-ID with space", utWithout("Call-ID", "Call-ID: a b"), 400},
		{"From wildcard", utWithout("From", "From: *"), 400},
		{"malformed Via", utWithout("Via", "Via: SIP/2.0/UDP"), 400},
		{"control character in value", utWith("Subject: a\x01b"), 400},
		{"DEL in value", utWith("Subject: a\x7fb"), 400},
		{"NUL in value", utWith("Subject: a\x00b"), 400},
		{"bare CR in value", utWith("Subject: a\rb"), 400},
		{"unquoted escape of a control character", utWith("Subject: a\\\x01b"), 400},
		{"control character after a quoted string", utWith("Subject: \"ok\" \x01"), 400},
		{"control character in Call-ID", utWithout("Call-ID", "Call-ID: a\x01b"), 400},
		{"header without colon", utWith("NoColon"), 400},
		{"header with empty name", utWith(": value"), 400},
		{"header name with space", utWith("Bad Name: value"), 400},
		{"continuation before first header", "OPTIONS sip:bob@example.org SIP/2.0\r\n folded: x\r\n" + strings.Join(utBaseLines, "\r\n") + "\r\n\r\n", 400},
		{"empty message", "", 400},
		{"only CRLFs", "\r\n\r\n", 400},
		{"request line with two spaces", strings.Replace(utWith(), "OPTIONS sip", "OPTIONS  sip", 1), 400},
		{"request line without version", strings.Replace(utWith(), " SIP/2.0\r\n", "\r\n", 1), 400},
		{"bad version", strings.Replace(utWith(), "SIP/2.0\r\n", "HTTP/1.1\r\n", 1), 400},
		{"unsupported version", strings.Replace(utWith(), "SIP/2.0\r\n", "SIP/3.0\r\n", 1), 505},
		{"bad method", strings.Replace(utWithout("CSeq", "CSeq: 1 OP@TIONS"), "OPTIONS sip", "OP@TIONS sip", 1), 400},
		{"status code 99", "SIP/2.0 099 Odd\r\n" + strings.Join(utBaseLines[:5], "\r\n") + "\r\n\r\n", 400},
		{"status code 700", "SIP/2.0 700 Odd\r\n" + strings.Join(utBaseLines[:5], "\r\n") + "\r\n\r\n", 400},
		{"status code 4 digits", "SIP/2.0 2000 OK\r\n" + strings.Join(utBaseLines[:5], "\r\n") + "\r\n\r\n", 400},
		{"status line without code", "SIP/2.0\r\n" + strings.Join(utBaseLines[:5], "\r\n") + "\r\n\r\n", 400},
		{"reason with control character", "SIP/2.0 200 O\x01K\r\n" + strings.Join(utBaseLines[:5], "\r\n") + "\r\n\r\n", 400},
	}
	for _, tc := range reject {
		t.Run("reject/"+tc.name, func(t *testing.T) {
			pe := utParseFail(t, nil, tc.msg)
			if pe.Status != tc.status {
				t.Errorf("Status = %d (%s), want %d", pe.Status, pe.Reason, tc.status)
			}
			if pe.Reason == "" {
				t.Errorf("empty Reason")
			}
			if !strings.HasPrefix(pe.StatusLine(), StatusText(pe.Status)+" - ") || !strings.HasPrefix(pe.Error(), "sip: ") {
				t.Errorf("StatusLine %q, Error %q", pe.StatusLine(), pe.Error())
			}
		})
	}
}

// TestParseErrorMsg checks that a refused request whose start line and
// Via, From, To, Call-ID and CSeq were readable comes with the message, so
// that a server can answer it.
func TestParseErrorMsg(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
	}{
		{"conflicting Content-Length", utWith("Content-Length: 0", "Content-Length: 1") + "x"},
		{"conflicting Max-Forwards", utWith("Max-Forwards: 69")},
		{"Max-Forwards 256", utWithout("Max-Forwards", "Max-Forwards: 256")},
		{"Expires 2**32", utWith("Expires: 4294967296")},
		{"control character in Subject", utWith("Subject: a\x01b")},
		{"body shorter than Content-Length", utWith("Content-Length: 10") + "short"},
		{"unsupported version", strings.Replace(utWith(), "SIP/2.0\r\n", "SIP/3.0\r\n", 1)},
		{"CSeq method mismatch", utWithout("CSeq", "CSeq: 1 INVITE")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pe := utParseFail(t, nil, tc.msg)
			if pe.Msg == nil {
				t.Fatalf("%d %q without Msg", pe.Status, pe.Reason)
			}
			utEq(t, "Msg.Call-ID", pe.Msg.CallID(), "abc@192.0.2.1")
			utEq(t, "Msg branch", utBranch(pe.Msg), "z9hG4bK1")
			// The server's answer can be built from it.
			r := NewResponse(pe.Msg, pe.Status, pe.StatusLine())
			if _, err := Parse([]byte(r.String())); err != nil {
				t.Errorf("response to the refused request does not parse: %v\n%s", err, r)
			}
		})
	}
	// Missing mandatory fields: nothing to answer from.
	pe := utParseFail(t, nil, utWithout("Call-ID"))
	if pe.Msg != nil {
		t.Errorf("missing Call-ID: Msg is set")
	}
}

func TestParseLimits(t *testing.T) {
	t.Run("MaxHeaders", func(t *testing.T) {
		p := NewParser(Limits{MaxHeaders: 8})
		if _, err := p.Parse([]byte(utWith("A: 1", "B: 2"))); err != nil {
			t.Fatalf("8 fields: %v", err)
		}
		pe := utParseFail(t, p, utWith("A: 1", "B: 2", "C: 3"))
		if pe.Status != 400 && pe.Status != 513 {
			t.Errorf("9 fields: status %d (%s)", pe.Status, pe.Reason)
		}
		var lines []string
		for i := 0; i < DefaultMaxHeaders-len(utBaseLines)+1; i++ {
			lines = append(lines, fmt.Sprintf("X-%d: v", i))
		}
		utParseFail(t, nil, utWith(lines...))
		if _, err := Parse([]byte(utWith(lines[1:]...))); err != nil {
			t.Errorf("%d fields with default limits: %v", DefaultMaxHeaders, err)
		}
	})
	t.Run("MaxLineLength", func(t *testing.T) {
		p := NewParser(Limits{MaxLineLength: 100})
		ok := "Subject: " + strings.Repeat("a", 100-len("Subject: "))
		if _, err := p.Parse([]byte(utWith(ok))); err != nil {
			t.Fatalf("100-byte field: %v", err)
		}
		pe := utParseFail(t, p, utWith(ok+"a"))
		if pe.Status != 400 && pe.Status != 513 {
			t.Errorf("101-byte field: status %d", pe.Status)
		}
		// Folded lines count together.
		folded := "Subject: " + strings.Repeat("a", 50) + "\r\n " + strings.Repeat("b", 50)
		utParseFail(t, p, utWith(folded))
		// The start line too.
		long := strings.Replace(utWith(), "sip:bob@example.org", "sip:"+strings.Repeat("b", 100)+"@example.org", 1)
		utParseFail(t, p, long)
	})
	t.Run("MaxMessageSize", func(t *testing.T) {
		base := utWith("Content-Length: 0")
		p := NewParser(Limits{MaxMessageSize: len(base)})
		if _, err := p.Parse([]byte(base)); err != nil {
			t.Fatalf("message at the limit: %v", err)
		}
		if _, err := p.ParseOwned([]byte(base)); err != nil {
			t.Fatalf("ParseOwned at the limit: %v", err)
		}
		big := utWith("Content-Length: 1") + "x"
		for name, parse := range map[string]func([]byte) (*Message, error){"Parse": p.Parse, "ParseOwned": p.ParseOwned} {
			m, err := parse([]byte(big))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Status != 513 || m != nil {
				t.Errorf("%s of %d bytes over a %d limit: %v, want 513", name, len(big), len(base), err)
			}
		}
		huge := utWith("Content-Length: 0") + strings.Repeat("x", DefaultMaxMessageSize)
		pe := utParseFail(t, nil, huge)
		utEq(t, "default limit status", pe.Status, 513)
	})
	t.Run("MaxParams", func(t *testing.T) {
		p := NewParser(Limits{MaxParams: 3})
		if _, err := p.Parse([]byte(utWithout("From", "From: <sip:alice@example.org;a;b;c>;tag=1;x;y"))); err != nil {
			t.Fatalf("3 params: %v", err)
		}
		// Request-URI.
		utParseFail(t, p, strings.Replace(utWith(), "sip:bob@example.org", "sip:bob@example.org;a;b;c;d", 1))
		// Header field values.
		utParseFail(t, p, utWithout("From", "From: <sip:alice@example.org>;tag=1;a;b;c"))
		utParseFail(t, p, utWithout("From", "From: <sip:alice@example.org;a;b;c;d>;tag=1"))
		utParseFail(t, p, utWithout("Via", "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;a;b;c"))
	})
	t.Run("MaxURILength in header fields", func(t *testing.T) {
		p := NewParser(Limits{MaxURILength: 64})
		long := "sip:" + strings.Repeat("a", 80) + "@example.org"
		utParseFail(t, p, utWithout("To", "To: <"+long+">"))
	})
}

func TestParseOwned(t *testing.T) {
	b := []byte(utCompactInvite)
	m, err := NewParser(Limits{}).ParseOwned(b)
	if err != nil {
		t.Fatal(err)
	}
	utEq(t, "Call-ID", m.CallID(), "o8ppaq1jq6pcdmuvjg3c7g")
	utEq(t, "round trip", m.String(), utCompactInvite)
	if _, err := NewParser(Limits{}).ParseOwned(nil); err == nil {
		t.Errorf("ParseOwned(nil) succeeded")
	}
	// Parse keeps its own copy.
	c := []byte(utCompactInvite)
	m, err = Parse(c)
	if err != nil {
		t.Fatal(err)
	}
	for i := range c {
		c[i] = 'X'
	}
	utEq(t, "Call-ID after the input changed", m.CallID(), "o8ppaq1jq6pcdmuvjg3c7g")
	utEq(t, "String after the input changed", m.String(), utCompactInvite)
}

// utEditBase has the fields a proxy edits, a compact field, odd spacing and
// a list in one Via and one Route line.
var utEditBase = utCRLF(`INVITE sip:bob@example.org SIP/2.0
Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK3719475;rport
Via: SIP/2.0/TLS 203.0.113.20:5061;branch=z9hG4bKc0a1f29e.1, SIP/2.0/UDP 10.20.0.5:5060;branch=z9hG4bK77e5a1
Max-Forwards: 69
Route: <sip:edge.example.org;transport=ws;lr>, <sip:core.example.org;lr>
Route: <sip:third.example.org;lr>
To: <sip:bob@example.org>
From: "Alice" <sip:alice@example.org>;tag=a73kszlfl8
i: o8ppaq1jq6pcdmuvjg3c7g
CSeq:   1   INVITE
Contact: <sip:k3ka4u7l@df7jal23ls0d.invalid;transport=ws;ob>
Record-Route: <sip:rr.example.org;lr>
X-Odd :   spaced   value  
Content-Type: application/sdp
Content-Length: 5

v=0
`)

func utEditBaseLines() []string {
	head, _, _ := strings.Cut(utEditBase, "\r\n\r\n")
	return strings.Split(head, "\r\n")[1:]
}

// utKeptLines checks that every line of utEditBase except those that
// start with one of touched appears byte for byte in out, in order.
func utKeptLines(t *testing.T, out string, touched ...string) {
	t.Helper()
	pos := 0
	for _, l := range utEditBaseLines() {
		if slices.ContainsFunc(touched, func(p string) bool { return strings.HasPrefix(l, p) }) {
			continue
		}
		i := strings.Index(out[pos:], "\r\n"+l+"\r\n")
		if i < 0 {
			if strings.Contains(out, "\r\n"+l+"\r\n") {
				t.Errorf("untouched line %q moved out of order in:\n%s", l, out)
			} else {
				t.Errorf("untouched line %q missing or changed in:\n%s", l, out)
			}
			continue
		}
		pos += i + 2
	}
}

func utHosts(t *testing.T, seq func(func(Addr, error) bool)) string {
	t.Helper()
	var hs []string
	for _, a := range utAddrs(t, seq) {
		hs = append(hs, a.URI.Host)
	}
	return strings.Join(hs, ",")
}

func utViaList(t *testing.T, m *Message) string {
	t.Helper()
	var vs []string
	for _, v := range utVias(t, m) {
		vs = append(vs, v.Transport+" "+v.SentBy())
	}
	return strings.Join(vs, ",")
}

func TestEdits(t *testing.T) {
	const allVias = "WSS df7jal23ls0d.invalid,TLS 203.0.113.20:5061,UDP 10.20.0.5:5060"
	tests := []struct {
		name    string
		edit    func(t *testing.T, m *Message)
		touched []string
		check   func(t *testing.T, m *Message)
		contain []string
	}{
		{
			name:    "SetTopViaReceived host",
			edit:    func(t *testing.T, m *Message) { m.SetTopViaReceived("192.0.2.1", 0) },
			touched: []string{"Via: SIP/2.0/WSS"},
			check: func(t *testing.T, m *Message) {
				v := m.TopVia()
				utEq(t, "received", v.Received(), "192.0.2.1")
				utEq(t, "branch", v.Branch(), "z9hG4bK3719475")
				p, ok := v.RPort()
				utEq(t, "rport", [2]any{p, ok}, [2]any{0, true})
				utEq(t, "Vias", utViaList(t, m), allVias)
			},
			contain: []string{"\r\nVia: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK3719475;rport;received=192.0.2.1\r\n"},
		},
		{
			name:    "SetTopViaReceived host and rport",
			edit:    func(t *testing.T, m *Message) { m.SetTopViaReceived("192.0.2.1", 40000) },
			touched: []string{"Via: SIP/2.0/WSS"},
			check: func(t *testing.T, m *Message) {
				v := m.TopVia()
				utEq(t, "received", v.Received(), "192.0.2.1")
				p, ok := v.RPort()
				utEq(t, "rport", [2]any{p, ok}, [2]any{40000, true})
				utEq(t, "one rport", strings.Count(string(v.Params), "rport"), 1)
				utEq(t, "branch", v.Branch(), "z9hG4bK3719475")
			},
		},
		{
			name: "SetTopViaReceived twice replaces",
			edit: func(t *testing.T, m *Message) {
				m.SetTopViaReceived("192.0.2.1", 40000)
				m.SetTopViaReceived("192.0.2.2", 40001)
			},
			touched: []string{"Via: SIP/2.0/WSS"},
			check: func(t *testing.T, m *Message) {
				v := m.TopVia()
				utEq(t, "received", v.Received(), "192.0.2.2")
				p, _ := v.RPort()
				utEq(t, "rport", p, 40001)
				utEq(t, "one received", strings.Count(string(v.Params), "received"), 1)
				utEq(t, "one rport", strings.Count(string(v.Params), "rport"), 1)
			},
		},
		{
			// RFC 3261 §25.1: via-received = "received" EQUAL
			// (IPv4address / IPv6address); a transport hands over the
			// source address as netip.Addr.String() gives it.
			name:    "SetTopViaReceived IPv6",
			edit:    func(t *testing.T, m *Message) { m.SetTopViaReceived("2001:db8::1", 5060) },
			touched: []string{"Via: SIP/2.0/WSS"},
			check: func(t *testing.T, m *Message) {
				v := m.TopVia()
				if r := v.Received(); r != "2001:db8::1" && r != "[2001:db8::1]" {
					t.Errorf("received = %q", r)
				}
				p, _ := v.RPort()
				utEq(t, "rport", p, 5060)
				utEq(t, "Vias", utViaList(t, m), allVias)
			},
		},
		{
			name:    "SetTopViaReceived rport only",
			edit:    func(t *testing.T, m *Message) { m.SetTopViaReceived("", 5062) },
			touched: []string{"Via: SIP/2.0/WSS"},
			check: func(t *testing.T, m *Message) {
				v := m.TopVia()
				utEq(t, "received", v.Received(), "")
				p, _ := v.RPort()
				utEq(t, "rport", p, 5062)
			},
		},
		{
			name: "PrependVia",
			edit: func(t *testing.T, m *Message) {
				m.PrependVia(Via{Transport: "UDP", Host: "198.51.100.7", Port: 5060, Params: ";branch=z9hG4bKnew"})
			},
			check: func(t *testing.T, m *Message) {
				v := m.TopVia()
				utEq(t, "top Via", v.SentBy()+v.Branch(), "198.51.100.7:5060z9hG4bKnew")
				utEq(t, "Vias", utViaList(t, m), "UDP 198.51.100.7:5060,"+allVias)
			},
			contain: []string{"INVITE sip:bob@example.org SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKnew\r\nVia: SIP/2.0/WSS"},
		},
		{
			name:    "DecrementMaxForwards",
			edit:    func(t *testing.T, m *Message) { utEq(t, "returned", m.DecrementMaxForwards(), 68) },
			touched: []string{"Max-Forwards"},
			check: func(t *testing.T, m *Message) {
				mf, _ := m.MaxForwards()
				utEq(t, "Max-Forwards", mf, 68)
			},
			contain: []string{"\r\nMax-Forwards: 68\r\n"},
		},
		{
			name: "RemoveFirst Route from a list",
			edit: func(t *testing.T, m *Message) {
				v, ok := m.RemoveFirst(HeaderRoute)
				utEq(t, "removed", v, "<sip:edge.example.org;transport=ws;lr>")
				utEq(t, "ok", ok, true)
			},
			touched: []string{"Route: <sip:edge"},
			check: func(t *testing.T, m *Message) {
				utEq(t, "Routes", utHosts(t, m.Routes()), "core.example.org,third.example.org")
			},
		},
		{
			name: "RemoveFirst Route three times",
			edit: func(t *testing.T, m *Message) {
				for _, want := range []string{"<sip:edge.example.org;transport=ws;lr>", "<sip:core.example.org;lr>", "<sip:third.example.org;lr>", ""} {
					v, ok := m.RemoveFirst(HeaderRoute)
					if v != want || ok != (want != "") {
						t.Errorf("RemoveFirst = %q, %v; want %q", v, ok, want)
					}
				}
			},
			touched: []string{"Route:"},
			check: func(t *testing.T, m *Message) {
				utEq(t, "Routes", utHosts(t, m.Routes()), "")
				if _, ok := m.Get("Route"); ok {
					t.Errorf("a Route field is left")
				}
			},
		},
		{
			name: "Prepend Record-Route",
			edit: func(t *testing.T, m *Message) {
				if err := m.Prepend(HeaderRecordRoute, "<sip:198.51.100.7;lr>"); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, m *Message) {
				utEq(t, "Record-Routes", utHosts(t, m.RecordRoutes()), "198.51.100.7,rr.example.org")
			},
			contain: []string{"\r\nRecord-Route: <sip:198.51.100.7;lr>\r\nRecord-Route: <sip:rr.example.org;lr>\r\n"},
		},
		{
			name: "Prepend Path (none yet)",
			edit: func(t *testing.T, m *Message) {
				if err := m.Prepend(HeaderPath, "<sip:198.51.100.7;lr;ob>"); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, m *Message) {
				utEq(t, "Paths", utHosts(t, m.Paths()), "198.51.100.7")
			},
		},
		{
			name: "RemoveTopVia",
			edit: func(t *testing.T, m *Message) {
				v, ok := m.RemoveTopVia()
				utEq(t, "removed", v, "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK3719475;rport")
				utEq(t, "ok", ok, true)
			},
			touched: []string{"Via: SIP/2.0/WSS"},
			check: func(t *testing.T, m *Message) {
				v := m.TopVia()
				utEq(t, "top Via", v.Transport+" "+v.SentBy()+" "+v.Branch(), "TLS 203.0.113.20:5061 z9hG4bKc0a1f29e.1")
				utEq(t, "Vias", utViaList(t, m), "TLS 203.0.113.20:5061,UDP 10.20.0.5:5060")
			},
		},
		{
			name: "RemoveTopVia twice splits a list",
			edit: func(t *testing.T, m *Message) {
				m.RemoveTopVia()
				v, _ := m.RemoveTopVia()
				utEq(t, "removed", v, "SIP/2.0/TLS 203.0.113.20:5061;branch=z9hG4bKc0a1f29e.1")
			},
			touched: []string{"Via:"},
			check: func(t *testing.T, m *Message) {
				v := m.TopVia()
				utEq(t, "top Via", v.Transport+" "+v.SentBy()+" "+v.Branch(), "UDP 10.20.0.5:5060 z9hG4bK77e5a1")
				utEq(t, "Vias", utViaList(t, m), "UDP 10.20.0.5:5060")
			},
		},
		{
			name: "Set replaces in place",
			edit: func(t *testing.T, m *Message) {
				if err := m.Set("Content-Type", "application/sdp;charset=utf-8"); err != nil {
					t.Fatal(err)
				}
			},
			touched: []string{"Content-Type"},
			check: func(t *testing.T, m *Message) {
				utEq(t, "Content-Type", m.ContentType(), "application/sdp;charset=utf-8")
			},
			contain: []string{"\r\nX-Odd :   spaced   value  \r\nContent-Type: application/sdp;charset=utf-8\r\nContent-Length: 5\r\n"},
		},
		{
			name: "Set typed field",
			edit: func(t *testing.T, m *Message) {
				if err := m.Set("Max-Forwards", "10"); err != nil {
					t.Fatal(err)
				}
				if err := m.Set("call-id", "new-call-id@example.org"); err != nil {
					t.Fatal(err)
				}
				if err := m.Set("CSeq", "2 INVITE"); err != nil {
					t.Fatal(err)
				}
				if err := m.Set("To", "<sip:bob@example.org>;tag=xyz"); err != nil {
					t.Fatal(err)
				}
			},
			touched: []string{"Max-Forwards", "i:", "CSeq", "To:"},
			check: func(t *testing.T, m *Message) {
				mf, _ := m.MaxForwards()
				utEq(t, "Max-Forwards", mf, 10)
				utEq(t, "Call-ID", m.CallID(), "new-call-id@example.org")
				utEq(t, "CSeq", m.CSeq(), CSeq{2, "INVITE"})
				to := m.To()
				utEq(t, "To tag", to.Tag(), "xyz")
			},
		},
		{
			name: "Set new field and replace duplicates",
			edit: func(t *testing.T, m *Message) {
				if err := m.Set("Subject", "hello"); err != nil {
					t.Fatal(err)
				}
				if err := m.Set("Route", "<sip:only.example.org;lr>"); err != nil {
					t.Fatal(err)
				}
			},
			touched: []string{"Route:"},
			check: func(t *testing.T, m *Message) {
				s, _ := m.Get("s")
				utEq(t, "Subject", s, "hello")
				utEq(t, "Routes", utHosts(t, m.Routes()), "only.example.org")
			},
			contain: []string{"\r\nSubject: hello\r\n"},
		},
		{
			name: "Add",
			edit: func(t *testing.T, m *Message) {
				if err := m.Add("Supported", "path, outbound"); err != nil {
					t.Fatal(err)
				}
				if err := m.Add("X-New", "1"); err != nil {
					t.Fatal(err)
				}
				if err := m.Add("k", "gruu"); err != nil {
					t.Fatal(err)
				}
				if err := m.Add("Record-Route", "<sip:late.example.org;lr>"); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, m *Message) {
				for _, tok := range []string{"path", "outbound", "gruu"} {
					if !m.HasToken(HeaderSupported, tok) {
						t.Errorf("Supported lacks %q", tok)
					}
				}
				v, _ := m.Get("x-new")
				utEq(t, "X-New", v, "1")
				utEq(t, "Record-Routes", utHosts(t, m.RecordRoutes()), "rr.example.org,late.example.org")
			},
			contain: []string{"\r\nSupported: path, outbound\r\n", "\r\nX-New: 1\r\n", "\r\nSupported: gruu\r\n"},
		},
		{
			name: "Del",
			edit: func(t *testing.T, m *Message) {
				m.Del("Route")
				m.Del("x-odd")
				m.Del("Record-Route")
				m.Del("Not-There")
			},
			touched: []string{"Route:", "X-Odd", "Record-Route"},
			check: func(t *testing.T, m *Message) {
				utEq(t, "Routes", utHosts(t, m.Routes()), "")
				utEq(t, "Record-Routes", utHosts(t, m.RecordRoutes()), "")
				if _, ok := m.Get("X-Odd"); ok {
					t.Errorf("X-Odd left")
				}
			},
		},
		{
			name: "Del Max-Forwards then DecrementMaxForwards",
			edit: func(t *testing.T, m *Message) {
				m.Del("Max-Forwards")
				if _, ok := m.MaxForwards(); ok {
					t.Errorf("Max-Forwards left after Del")
				}
				utEq(t, "returned", m.DecrementMaxForwards(), 70)
			},
			touched: []string{"Max-Forwards"},
			check: func(t *testing.T, m *Message) {
				mf, ok := m.MaxForwards()
				utEq(t, "Max-Forwards", [2]any{mf, ok}, [2]any{70, true})
			},
		},
		{
			name:    "SetBody",
			edit:    func(t *testing.T, m *Message) { m.SetBody("text/plain", "hello world") },
			touched: []string{"Content-Type", "Content-Length"},
			check: func(t *testing.T, m *Message) {
				utEq(t, "Body", m.Body, "hello world")
				utEq(t, "Content-Type", m.ContentType(), "text/plain")
			},
			contain: []string{"\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"},
		},
		{
			name:    "SetBody empty",
			edit:    func(t *testing.T, m *Message) { m.SetBody("", "") },
			touched: []string{"Content-Type", "Content-Length"},
			check: func(t *testing.T, m *Message) {
				utEq(t, "Body", m.Body, "")
				utEq(t, "Content-Type", m.ContentType(), "")
			},
			contain: []string{"\r\nContent-Length: 0\r\n\r\n"},
		},
		{
			name: "SetRequestURI",
			edit: func(t *testing.T, m *Message) {
				m.SetRequestURI(utURI(t, "sip:k3ka4u7l@df7jal23ls0d.invalid;transport=ws"))
			},
			check: func(t *testing.T, m *Message) {
				utEq(t, "R-URI", m.RequestURI.String(), "sip:k3ka4u7l@df7jal23ls0d.invalid;transport=ws")
				utEq(t, "Method", m.Method, "INVITE")
			},
			contain: []string{"INVITE sip:k3ka4u7l@df7jal23ls0d.invalid;transport=ws SIP/2.0\r\nVia: SIP/2.0/WSS"},
		},
		{
			name:    "SetToTag",
			edit:    func(t *testing.T, m *Message) { m.SetToTag("9fxced76sl") },
			touched: []string{"To:"},
			check: func(t *testing.T, m *Message) {
				to := m.To()
				utEq(t, "To tag", to.Tag(), "9fxced76sl")
				utEq(t, "To URI", to.URI.String(), "sip:bob@example.org")
			},
			contain: []string{"\r\nTo: <sip:bob@example.org>;tag=9fxced76sl\r\n"},
		},
		{
			name: "SetToTag twice keeps the first",
			edit: func(t *testing.T, m *Message) {
				m.SetToTag("first")
				m.SetToTag("second")
			},
			touched: []string{"To:"},
			check: func(t *testing.T, m *Message) {
				to := m.To()
				utEq(t, "To tag", to.Tag(), "first")
			},
		},
		{
			name: "proxy forwarding edits",
			edit: func(t *testing.T, m *Message) {
				m.SetTopViaReceived("192.0.2.1", 0)
				m.PrependVia(Via{Transport: "UDP", Host: "198.51.100.7", Port: 5060, Params: ";branch=z9hG4bKsipedge.1"})
				m.DecrementMaxForwards()
				m.RemoveFirst(HeaderRoute)
				if err := m.Prepend(HeaderRecordRoute, "<sip:198.51.100.7;lr>"); err != nil {
					t.Fatal(err)
				}
			},
			touched: []string{"Via: SIP/2.0/WSS", "Max-Forwards", "Route: <sip:edge"},
			check: func(t *testing.T, m *Message) {
				utEq(t, "Vias", utViaList(t, m), "UDP 198.51.100.7:5060,"+allVias)
				utEq(t, "Routes", utHosts(t, m.Routes()), "core.example.org,third.example.org")
				utEq(t, "Record-Routes", utHosts(t, m.RecordRoutes()), "198.51.100.7,rr.example.org")
				mf, _ := m.MaxForwards()
				utEq(t, "Max-Forwards", mf, 68)
				utEq(t, "Body", m.Body, "v=0\r\n")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := utParse(t, utEditBase)
			tc.edit(t, m)
			out := m.String()
			utKeptLines(t, out, tc.touched...)
			for _, c := range tc.contain {
				if !strings.Contains(out, c) {
					t.Errorf("output lacks %q:\n%s", c, out)
				}
			}
			// Untouched typed fields keep their values.
			utEq(t, "Method", m.Method, "INVITE")
			if tc.check != nil {
				tc.check(t, m)
			}
			m2, err := Parse([]byte(out))
			if err != nil {
				t.Fatalf("edited message does not re-parse: %v\n%s", err, out)
			}
			utSameMessage(t, m, m2)
			if tc.check != nil {
				tc.check(t, m2)
			}
			utCheckCL(t, out, m2)
			if again := m2.String(); again != out {
				t.Errorf("re-parsed message serializes differently:\n%q\n%q", out, again)
			}
		})
	}
}

// TestSetTopViaOnList checks SetTopVia and SetTopViaReceived when the top
// Via shares its line with the next one.
func TestSetTopViaOnList(t *testing.T) {
	msg := utWithout("Via", "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa, SIP/2.0/TCP b.example.com;branch=z9hG4bKb")
	m := utParse(t, msg)
	m.SetTopViaReceived("192.0.2.9", 0)
	v := m.TopVia()
	utEq(t, "received", v.Received(), "192.0.2.9")
	utEq(t, "Vias", utViaList(t, m), "UDP a.example.com,TCP b.example.com")
	out := m.String()
	if !strings.Contains(out, "\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bKa;received=192.0.2.9\r\nVia: SIP/2.0/TCP b.example.com;branch=z9hG4bKb\r\n") {
		t.Errorf("output:\n%s", out)
	}
	m2 := utParse(t, out)
	v2 := m2.TopVia()
	utEq(t, "re-parsed received", v2.Received(), "192.0.2.9")
	utEq(t, "re-parsed Vias", utViaList(t, m2), "UDP a.example.com,TCP b.example.com")
	for _, l := range utBaseLines[1:] {
		if !strings.Contains(out, "\r\n"+l+"\r\n") {
			t.Errorf("line %q changed", l)
		}
	}
}

// TestFoldedSerialization: a folded field is written on one line with its
// unfolded value.
func TestFoldedSerialization(t *testing.T) {
	m := utParse(t, utWith("Subject: first\r\n\tsecond\r\n   third"))
	s, _ := m.Get("Subject")
	utEq(t, "unfolded", s, "first second third")
	out := m.String()
	if !strings.Contains(out, "\r\nSubject: first second third\r\n") {
		t.Errorf("output:\n%s", out)
	}
	utParse(t, out)
}

// utCheckCL checks that out carries exactly one Content-Length,
// equal to the length of the body that follows.
func utCheckCL(t *testing.T, out string, m *Message) {
	t.Helper()
	head, body, ok := strings.Cut(out, "\r\n\r\n")
	if !ok {
		t.Fatalf("no end of header fields in %q", out)
	}
	n := 0
	for _, l := range strings.Split(head, "\r\n")[1:] {
		name, v, _ := strings.Cut(l, ":")
		if HeaderOf(strings.TrimSpace(name)) == HeaderContentLength {
			n++
			if strings.TrimSpace(v) != fmt.Sprint(len(body)) {
				t.Errorf("Content-Length %q, body has %d bytes", v, len(body))
			}
		}
	}
	if n != 1 {
		t.Errorf("%d Content-Length fields in:\n%s", n, out)
	}
	if m != nil {
		cl, ok := m.ContentLength()
		if !ok || cl != len(m.Body) || m.Body != body {
			t.Errorf("re-parsed Content-Length %d, %v; body %q", cl, ok, m.Body)
		}
	}
}

func TestContentLengthWritten(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		edit func(m *Message)
		body string
		cl   string
	}{
		{"none in a datagram", utWith() + "hello", nil, "hello", "Content-Length: 5"},
		{"none and no body", utWith(), nil, "", "Content-Length: 0"},
		{"truncated datagram body", utWith("Content-Length: 3") + "abcdef", nil, "abc", "Content-Length: 3"},
		{"compact and right", utWith("l: 3") + "abc", nil, "abc", "l: 3"},
		{"odd spacing and right", utWith("Content-Length :  3") + "abc", nil, "abc", "Content-Length :  3"},
		{"wrong after SetBody", utWith("Content-Length: 3") + "abc", func(m *Message) { m.SetBody("text/plain", "longer body") }, "longer body", "Content-Length: 11"},
		{"compact after SetBody", utWith("l: 3") + "abc", func(m *Message) { m.SetBody("text/plain", "") }, "", "Content-Length: 0"},
		{"Body set directly", utWith("Content-Length: 3") + "abc", func(m *Message) { m.Body = "x" }, "x", "Content-Length: 1"},
		{"two identical", utWith("Content-Length: 3", "l: 3") + "abc", nil, "abc", "Content-Length: 3"},
		{"Del Content-Length", utWith("Content-Length: 3") + "abc", func(m *Message) { m.Del("Content-Length") }, "abc", "Content-Length: 3"},
		{"Set Content-Length to a lie", utWith("Content-Length: 3") + "abc", func(m *Message) { m.Set("Content-Length", "99") }, "abc", "Content-Length: 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := utParse(t, tc.msg)
			if tc.edit != nil {
				tc.edit(m)
			}
			out := m.String()
			m2, err := Parse([]byte(out))
			if err != nil {
				t.Fatalf("re-parse: %v\n%s", err, out)
			}
			utCheckCL(t, out, m2)
			if !strings.Contains(out, "\r\n"+tc.cl+"\r\n") {
				t.Errorf("output lacks %q:\n%q", tc.cl, out)
			}
			utEq(t, "body", m2.Body, tc.body)
			if !strings.HasSuffix(out, "\r\n\r\n"+tc.body) {
				t.Errorf("output does not end with the body: %q", out)
			}
		})
	}
	// Serialising appends to the buffer given.
	m := utParse(t, utWith())
	b := m.AppendTo([]byte("prefix"))
	utEq(t, "AppendTo prefix", strings.HasPrefix(string(b), "prefixOPTIONS "), true)
}

func TestNewResponse(t *testing.T) {
	req := utParse(t, utEditBase)
	for _, tc := range []struct {
		code   int
		reason string
		line   string
	}{
		{180, "", "SIP/2.0 180 Ringing"},
		{200, "", "SIP/2.0 200 OK"},
		{483, "", "SIP/2.0 483 Too Many Hops"},
		{430, "", "SIP/2.0 430 Flow Failed"},
		{400, "Bad Request - missing Call-ID", "SIP/2.0 400 Bad Request - missing Call-ID"},
		{299, "", "SIP/2.0 299 "},
	} {
		r := NewResponse(req, tc.code, tc.reason)
		utEq(t, "IsRequest", r.IsRequest(), false)
		utEq(t, "StatusCode", r.StatusCode, tc.code)
		out := r.String()
		utEq(t, "status line", out[:strings.Index(out, "\r\n")], tc.line)
		// Via, From, To, Call-ID and CSeq are copied byte for byte, in order.
		var want []string
		for _, l := range utEditBaseLines() {
			name, _, _ := strings.Cut(l, ":")
			switch HeaderOf(strings.TrimSpace(name)) {
			case HeaderVia, HeaderFrom, HeaderTo, HeaderCallID, HeaderCSeq:
				want = append(want, l)
			}
		}
		head, body, _ := strings.Cut(out, "\r\n\r\n")
		lines := strings.Split(head, "\r\n")[1:]
		if got := slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return strings.HasPrefix(l, "Content-Length") }); !slices.Equal(got, want) {
			t.Errorf("%d response fields:\n%q\nwant\n%q", tc.code, got, want)
		}
		if body != "" || !slices.Contains(lines, "Content-Length: 0") {
			t.Errorf("%d response: body %q, fields %q", tc.code, body, lines)
		}
		for _, absent := range []string{"Contact", "Route", "Max-Forwards", "Content-Type", "X-Odd"} {
			if strings.Contains(head, "\r\n"+absent) {
				t.Errorf("%d response copies %s", tc.code, absent)
			}
		}
		// Typed view.
		utEq(t, "Call-ID", r.CallID(), req.CallID())
		utEq(t, "CSeq", r.CSeq(), CSeq{1, "INVITE"})
		rv, qv := r.TopVia(), req.TopVia()
		utEq(t, "Via", utViaEq(rv, qv), true)
		rf, qf := r.From(), req.From()
		utEq(t, "From tag", rf.Tag(), qf.Tag())
		r2, err := Parse([]byte(out))
		if err != nil {
			t.Fatalf("response does not parse: %v\n%s", err, out)
		}
		utSameMessage(t, r, r2)
		utEq(t, "Vias", utViaList(t, r2), utViaList(t, req))
	}

	// SetToTag on the response leaves the request alone.
	r := NewResponse(req, 200, "")
	r.SetToTag("9fxced76sl")
	rt := r.To()
	utEq(t, "response To tag", rt.Tag(), "9fxced76sl")
	qt := req.To()
	utEq(t, "request To tag", qt.Tag(), "")
	if !strings.Contains(r.String(), "\r\nTo: <sip:bob@example.org>;tag=9fxced76sl\r\n") {
		t.Errorf("response:\n%s", r)
	}
	if !strings.Contains(req.String(), "\r\nTo: <sip:bob@example.org>\r\n") {
		t.Errorf("request changed:\n%s", req)
	}
	r2 := utParse(t, r.String())
	rt2 := r2.To()
	utEq(t, "re-parsed To tag", rt2.Tag(), "9fxced76sl")
	// Edits to the response do not reach the request.
	r.RemoveTopVia()
	utEq(t, "request Vias after editing the response", utViaList(t, req), "WSS df7jal23ls0d.invalid,TLS 203.0.113.20:5061,UDP 10.20.0.5:5060")

	// A To that has a tag keeps it.
	tagged := utParse(t, strings.Replace(utEditBase, "To: <sip:bob@example.org>", "To: <sip:bob@example.org>;tag=existing", 1))
	r = NewResponse(tagged, 200, "")
	r.SetToTag("new")
	rt = r.To()
	utEq(t, "existing tag", rt.Tag(), "existing")
	if !strings.Contains(r.String(), "\r\nTo: <sip:bob@example.org>;tag=existing\r\n") {
		t.Errorf("response:\n%s", r)
	}
}

func TestNewRequest(t *testing.T) {
	m := NewRequest("OPTIONS", utURI(t, "sip:bob@example.org"))
	for _, kv := range [][2]string{
		{"Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1"},
		{"From", "<sip:alice@example.org>;tag=1"},
		{"To", "<sip:bob@example.org>"},
		{"Call-ID", "abc@192.0.2.1"},
		{"CSeq", "1 OPTIONS"},
		{"Max-Forwards", "70"},
	} {
		if err := m.Add(kv[0], kv[1]); err != nil {
			t.Fatalf("Add(%q): %v", kv[0], err)
		}
	}
	utEq(t, "String", m.String(), utWith("Content-Length: 0"))
	utEq(t, "Call-ID", m.CallID(), "abc@192.0.2.1")
	mf, _ := m.MaxForwards()
	utEq(t, "Max-Forwards", mf, 70)
	if err := m.Add("CSeq", "bad"); err == nil {
		t.Errorf("Add(CSeq, bad) succeeded")
	}
}

// TestFirstElement compares firstElement with splitFirst on every string
// of up to six bytes over the characters that matter to list splitting.
func TestFirstElement(t *testing.T) {
	eachString("", `<>,"a;\ `, 6, func(s string) {
		want, _, wantOK := splitFirst(s)
		if got, ok := firstElement(s); got != want || ok != wantOK {
			t.Fatalf("firstElement(%q) = %q, %v; splitFirst gives %q, %v", s, got, ok, want, wantOK)
		}
	})
}

// TestTypedHeaders checks that typedHeaders names exactly the headers index
// reads: each of them refuses an empty value, every other one takes it.
func TestTypedHeaders(t *testing.T) {
	for h := HeaderOther; h < numHeaders; h++ {
		m := NewRequest("OPTIONS", URI{Scheme: "sip", Host: "example.com"})
		err := m.index(h, "")
		if typed := typedHeaders&(1<<h) != 0; typed != (err != nil) {
			t.Errorf("%v: in typedHeaders %v, index of an empty value gives %v", h, typed, err)
		}
	}
}

func TestClone(t *testing.T) {
	for _, n := range []int{0, 1, inlineExt + 3} {
		m, err := Parse([]byte("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := m.Add("X-N", strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
		before := m.String()
		c := m.Clone()
		c.DecrementMaxForwards()
		c.PrependVia(Via{Protocol: "SIP", Version: "2.0", Transport: "TCP", Host: "p.example.com", Params: ";branch=z9hG4bKc"})
		for i := range 2 * inlineExt {
			if err := c.Add("X-C", strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
		c.SetToTag("t")
		if got := m.String(); got != before {
			t.Fatalf("n=%d: the original changed:\n%s\nwant\n%s", n, got, before)
		}
		if mf, _ := c.MaxForwards(); mf != 69 || c.TopVia().Host != "p.example.com" || c.ToTag() != "t" {
			t.Fatalf("n=%d: clone edits lost:\n%s", n, c)
		}
		if mf, _ := m.MaxForwards(); mf != 70 || m.ToTag() != "" {
			t.Fatalf("n=%d: original typed view changed", n)
		}
	}
}
