package sip

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURIValid(t *testing.T) {
	tests := []struct {
		in   string
		want URI
	}{
		{"sip:alice@atlanta.com", URI{Scheme: "sip", User: "alice", Host: "atlanta.com"}},
		{"SIP:ALICE@AtLanTa.CoM", URI{Scheme: "SIP", User: "ALICE", Host: "AtLanTa.CoM"}},
		{"sips:bob@biloxi.com:5061;transport=tcp", URI{Scheme: "sips", User: "bob", Host: "biloxi.com", Port: 5061, Params: ";transport=tcp"}},
		{"sip:alice:secretword@atlanta.com;transport=tcp", URI{Scheme: "sip", User: "alice", Password: "secretword", Host: "atlanta.com", Params: ";transport=tcp"}},
		{"sip:+1-212-555-1212:1234@gateway.com;user=phone", URI{Scheme: "sip", User: "+1-212-555-1212", Password: "1234", Host: "gateway.com", Params: ";user=phone"}},
		{"sip:atlanta.com", URI{Scheme: "sip", Host: "atlanta.com"}},
		{"sip:192.0.2.4:5060", URI{Scheme: "sip", Host: "192.0.2.4", Port: 5060}},
		{"sip:host.example.com.", URI{Scheme: "sip", Host: "host.example.com."}},
		{"sip:[2001:db8::1]:5070", URI{Scheme: "sip", Host: "[2001:db8::1]", Port: 5070}},
		{"sip:[2001:db8::1]", URI{Scheme: "sip", Host: "[2001:db8::1]"}},
		{"sips:alice@[2001:DB8::10:1];transport=tls", URI{Scheme: "sips", User: "alice", Host: "[2001:DB8::10:1]", Params: ";transport=tls"}},
		{"sip:%61lice@atlanta.com;transport=TCP", URI{Scheme: "sip", User: "%61lice", Host: "atlanta.com", Params: ";transport=TCP"}},
		{"sip:I%20have%20spaces@example.net", URI{Scheme: "sip", User: "I%20have%20spaces", Host: "example.net"}},
		{"sip:user;par=u%40example.net@example.com", URI{Scheme: "sip", User: "user;par=u%40example.net", Host: "example.com"}},
		{"sip:k3ka4u7l@df7jal23ls0d.invalid;transport=ws;lr;ob;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
			URI{Scheme: "sip", User: "k3ka4u7l", Host: "df7jal23ls0d.invalid", Params: ";transport=ws;lr;ob;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}},
		{"sip:alice@atlanta.com?subject=project%20x&priority=urgent", URI{Scheme: "sip", User: "alice", Host: "atlanta.com", Headers: "subject=project%20x&priority=urgent"}},
		{"sip:a@b?a=b&c=d", URI{Scheme: "sip", User: "a", Host: "b", Headers: "a=b&c=d"}},
		{"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com", URI{Scheme: "sip", Host: "biloxi.com", Params: ";transport=tcp;method=REGISTER", Headers: "to=sip:bob%40biloxi.com"}},
		{"sip:user@example.com?Route=%3Csip:sip.example.com%3E", URI{Scheme: "sip", User: "user", Host: "example.com", Headers: "Route=%3Csip:sip.example.com%3E"}},
		{"sip:a@b;maddr=239.255.255.1;ttl=15", URI{Scheme: "sip", User: "a", Host: "b", Params: ";maddr=239.255.255.1;ttl=15"}},
		{"tel:+1-201-555-0123", URI{Scheme: "tel", User: "+1-201-555-0123"}},
		{"tel:7042;phone-context=example.com", URI{Scheme: "tel", User: "7042", Params: ";phone-context=example.com"}},
		{"tel:+1(201)555.0123;ext=22", URI{Scheme: "tel", User: "+1(201)555.0123", Params: ";ext=22"}},
		{"urn:service:sos", URI{Scheme: "urn", Opaque: "service:sos"}},
		{"mailto:alice@example.com", URI{Scheme: "mailto", Opaque: "alice@example.com"}},
		{"http://www.example.com/a?b=c", URI{Scheme: "http", Opaque: "//www.example.com/a?b=c"}},
		{"nobodyKnowsThisScheme:totallyopaquecontent", URI{Scheme: "nobodyKnowsThisScheme", Opaque: "totallyopaquecontent"}},
		{"soap.beep://192.0.2.103:3002", URI{Scheme: "soap.beep", Opaque: "//192.0.2.103:3002"}},
	}
	for _, tc := range tests {
		u, err := ParseURI(tc.in)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", tc.in, err)
			continue
		}
		if !utURIEq(u, tc.want) {
			t.Errorf("ParseURI(%q) =\n %#v\nwant\n %#v", tc.in, u, tc.want)
		}
		if s := u.String(); s != tc.in {
			t.Errorf("ParseURI(%q).String() = %q", tc.in, s)
		}
		if !u.Equal(&u) {
			t.Errorf("ParseURI(%q) is not Equal to itself", tc.in)
		}
		u2, err := ParseURI(u.String())
		if err != nil || !utURIEq(u2, u) {
			t.Errorf("re-parse of %q: %#v, %v", tc.in, u2, err)
		}
	}
}

func TestURIAccessors(t *testing.T) {
	u := utURI(t, "sips:bob@[2001:db8::1]:5061;transport=ws;lr")
	if !u.IsSIP() || !u.IsSIPS() || u.IsTel() {
		t.Errorf("IsSIP/IsSIPS/IsTel = %v %v %v", u.IsSIP(), u.IsSIPS(), u.IsTel())
	}
	utEq(t, "Transport", u.Transport(), "ws")
	utEq(t, "HostPort", u.HostPort(), "[2001:db8::1]:5061")
	v := utURI(t, "sip:bob@biloxi.com")
	utEq(t, "HostPort without port", v.HostPort(), "biloxi.com")
	utEq(t, "Transport absent", v.Transport(), "")
	utEq(t, "sip IsSIPS", v.IsSIPS(), false)
	tel := utURI(t, "TEL:+12015550123")
	utEq(t, "TEL IsTel", tel.IsTel(), true)
	utEq(t, "TEL IsSIP", tel.IsSIP(), false)
}

func TestParseURIInvalid(t *testing.T) {
	tests := []struct {
		in     string
		status int
	}{
		{"", 400},
		{"alice@atlanta.com", 400},
		{":alice@atlanta.com", 400},
		{"1sip:alice@atlanta.com", 400},
		{"s_p:alice@atlanta.com", 400},
		{"sip:", 400},
		{"sip:alice@", 400},
		{"sip:@atlanta.com", 400},
		{"sip:alice@;transport=tcp", 400},
		{"sip:alice@atlanta.com:", 400},
		{"sip:alice@atlanta.com:65536", 400},
		{"sip:alice@atlanta.com:5x", 400},
		{"sip:alice@atlanta.com:-1", 400},
		{"sip:alice@atlanta.com:99999999999999999999999", 400},
		{"sip:[2001:db8::1", 400},
		{"sip:[2001:db8::1:5070", 400},
		{"sip:[2001:db8::1]x", 400},
		{"sip:[2001:db8::1]:", 400},
		{"sip:[192.0.2.1]", 400},
		{"sip:[fe80::1%25eth0]", 400},
		{"sip:[]", 400},
		{"sip:2001:db8::1", 400},
		{"sip:al ice@atlanta.com", 400},
		{"sip:alice@atlanta com", 400},
		{"sip:alice@-atlanta.com", 400},
		{"sip:alice@atlanta-.com", 400},
		{"sip:alice@atlanta..com", 400},
		{"sip:alice@.atlanta.com", 400},
		{"sip:alice@host_name.com", 400},
		{"sip:al%zzice@atlanta.com", 400},
		{"sip:al%4@atlanta.com", 400},
		{"sip:alice:pa ss@atlanta.com", 400},
		{"sip:alice@atlanta.com;", 400},
		{"sip:alice@atlanta.com;=x", 400},
		{"sip:alice@atlanta.com;transport=", 400},
		{"sip:alice@atlanta.com;a=\"q\"", 400},
		{"sip:alice@atlanta.com;a=b c", 400},
		{"sip:alice@atlanta.com?", 400},
		{"sip:alice@atlanta.com?subject", 400},
		{"sip:alice@atlanta.com?=x", 400},
		{"sip:alice@atlanta.com?a=b&", 400},
		{"sip:alice@atlanta.com?a=<x>", 400},
		{"sip:alice@atlanta.com" + strings.Repeat(";p", DefaultMaxParams+1), 400},
		{"tel:", 400},
		{"tel:+1 201", 400},
		{"tel:+1%32", 400},
		{"tel:+1201;", 400},
		{"tel:+1201;=x", 400},
		{"urn:", 400},
		{"urn:a b", 400},
		{"urn:<a>", 400},
		{"urn:a\"b", 400},
		{"urn:a\x7fb", 400},
		{"sip:" + strings.Repeat("a", DefaultMaxURILength) + "@example.com", 414},
	}
	for _, tc := range tests {
		u, err := ParseURI(tc.in)
		if err == nil {
			t.Errorf("ParseURI(%q) = %#v, want error", tc.in, u)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseURI(%q) error %T is not a *ParseError", tc.in, err)
			continue
		}
		if pe.Status != tc.status {
			t.Errorf("ParseURI(%q) status %d (%s), want %d", tc.in, pe.Status, pe.Reason, tc.status)
		}
		if !utURIEq(u, URI{}) {
			t.Errorf("ParseURI(%q) returned a non-zero URI with its error: %#v", tc.in, u)
		}
	}
	// Exactly at the limit is fine.
	s := "sip:" + strings.Repeat("a", DefaultMaxURILength-len("sip:@example.com")) + "@example.com"
	if _, err := ParseURI(s); err != nil {
		t.Errorf("URI of %d bytes: %v", len(s), err)
	}
	s = "sip:a@b" + strings.Repeat(";p", DefaultMaxParams)
	if _, err := ParseURI(s); err != nil {
		t.Errorf("URI with %d params: %v", DefaultMaxParams, err)
	}
}

// TestRequestURITooLong uses a parser's MaxURILength, which ParseURI
// cannot reach.
func TestRequestURITooLong(t *testing.T) {
	p := NewParser(Limits{MaxURILength: 64})
	mk := func(ruri string) []byte {
		return []byte("OPTIONS " + ruri + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n" +
			"From: <sip:a@example.com>;tag=1\r\n" +
			"To: <sip:b@example.com>\r\n" +
			"Call-ID: long-ruri\r\n" +
			"CSeq: 1 OPTIONS\r\n" +
			"Content-Length: 0\r\n\r\n")
	}
	short := "sip:" + strings.Repeat("u", 64-len("sip:@example.com")) + "@example.com"
	if _, err := p.Parse(mk(short)); err != nil {
		t.Errorf("Request-URI of 64 bytes: %v", err)
	}
	long := "sip:" + strings.Repeat("u", 65-len("sip:@example.com")) + "@example.com"
	_, err := p.Parse(mk(long))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Status != 414 {
		t.Fatalf("Request-URI of 65 bytes: %v, want ParseError 414", err)
	}
	if _, err := Parse(mk(long)); err != nil {
		t.Errorf("default limits refuse a 65-byte Request-URI: %v", err)
	}
}

func TestURIEqualRFC3261(t *testing.T) {
	// RFC 3261 §19.1.4: every URI of a group is equivalent to the others.
	equivalent := [][]string{
		{"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"},
		{"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"},
		{"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com", "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"},
		{"sip:alice@atlanta.com?subject=project%20x&priority=urgent", "sip:alice@atlanta.com?priority=urgent&subject=project%20x"},
		// More from the rules of §19.1.4.
		{"sip:alice@atlanta.com;maddr=239.255.255.1;ttl=15", "sip:alice@atlanta.com;TTL=15;MADDR=239.255.255.1"},
		{"sip:alice@atlanta.com;user=phone", "sip:alice@atlanta.com;user=PHONE"},
		{"sip:alice@[2001:db8::A]", "sip:alice@[2001:DB8::a]"},
		{"sip:alice:pw@atlanta.com", "sip:alice:p%77@atlanta.com"},
		{"sip:alice@atlanta.com;lr", "sip:alice@atlanta.com"},
		{"sip:alice@atlanta.com?subject=project%20x", "sip:alice@atlanta.com?SUBJECT=Project%20X"},
		{"sip:alice@atlanta.com;transport=tcp", "sip:alice@atlanta.com;%74ransport=tcp"},
	}
	notEquivalent := [][2]string{
		{"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"},
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"},
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"},
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"},
		{"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"},
		{"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"},
		{"sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"},
		// More from the rules of §19.1.4.
		{"sip:alice@atlanta.com", "sips:alice@atlanta.com"},
		{"sip:alice@atlanta.com", "sip:atlanta.com"},
		{"sip:alice@atlanta.com", "sip:alice:pw@atlanta.com"},
		{"sip:alice:pw@atlanta.com", "sip:alice:PW@atlanta.com"},
		{"sip:alice@atlanta.com", "sip:alice@atlanta.com;user=phone"},
		{"sip:alice@atlanta.com", "sip:alice@atlanta.com;ttl=1"},
		{"sip:alice@atlanta.com", "sip:alice@atlanta.com;method=INVITE"},
		{"sip:alice@atlanta.com", "sip:alice@atlanta.com;maddr=atlanta.com"},
		{"sip:alice@atlanta.com;transport=tcp", "sip:alice@atlanta.com;transport=udp"},
		{"sip:alice@atlanta.com;x=1", "sip:alice@atlanta.com;X=2"},
		{"sip:alice@atlanta.com?subject=a", "sip:alice@atlanta.com?subject=b"},
		{"sip:alice@atlanta.com?subject=a", "sip:alice@atlanta.com?subject=a&priority=urgent"},
		{"sip:alice@atlanta.com?a=1&a=1", "sip:alice@atlanta.com?a=1&b=2"},
		{"sip:%41lice@atlanta.com", "sip:alice@atlanta.com"},
		{"sip:alice@atlanta.com:5060", "sip:alice@atlanta.com:5061"},
		// Escaped parameter names are the same names (esc01).
		{"sip:caller@host5.example.net;n%61me=value%2541", "sip:caller@host5.example.net;name=valueA"},
	}
	for _, group := range equivalent {
		for _, a := range group {
			for _, b := range group {
				ua, ub := utURI(t, a), utURI(t, b)
				if !ua.Equal(&ub) {
					t.Errorf("%q should equal %q", a, b)
				}
			}
		}
	}
	for _, p := range notEquivalent {
		ua, ub := utURI(t, p[0]), utURI(t, p[1])
		if ua.Equal(&ub) {
			t.Errorf("%q should not equal %q", p[0], p[1])
		}
		if ub.Equal(&ua) {
			t.Errorf("%q should not equal %q", p[1], p[0])
		}
	}
}

func TestURIEqualOther(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		// RFC 3966 §4: numbers compare without visual separators,
		// parameters as sets.
		{"tel:+1-201-555-0123", "tel:+12015550123", true},
		{"tel:+1(201)555.0123", "tel:+1-201-555-0123", true},
		{"tel:+1-201-555-0123", "tel:+12015550124", false},
		{"tel:+12015550123", "tel:12015550123", false},
		{"tel:7042;phone-context=example.com", "tel:7042;phone-context=EXAMPLE.COM", true},
		{"tel:7042;phone-context=example.com", "tel:7042;phone-context=example.org", false},
		{"tel:7042;phone-context=example.com", "tel:7042", false},
		{"tel:1234;a=1;b=2", "tel:1234;b=2;a=1", true},
		{"tel:1234;a=1", "tel:1234;a=1;b=2", false},
		{"tel:7042ab", "tel:7042AB", true},
		{"TEL:+12015550123", "tel:+12015550123", true},
		{"tel:+12015550123", "sip:+12015550123@example.com", false},
		// Other schemes compare their text.
		{"urn:service:sos", "URN:service:sos", true},
		{"urn:service:sos", "urn:service:police", false},
		{"http://www.example.com", "http://www.example.com", true},
	}
	for _, tc := range tests {
		a, b := utURI(t, tc.a), utURI(t, tc.b)
		if got := a.Equal(&b); got != tc.want {
			t.Errorf("%q.Equal(%q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := b.Equal(&a); got != tc.want {
			t.Errorf("%q.Equal(%q) = %v, want %v (symmetry)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in          string
		display     string // DisplayName()
		rawDisplay  string // Display
		uri         string
		uriParams   Params
		params      Params
		tag         string
		wildcard    bool
		wantString  string
		paramChecks map[string]string
	}{
		{in: `"Alice Liddell" <sip:alice@example.org>;tag=a73kszlfl8`, display: "Alice Liddell", rawDisplay: `"Alice Liddell"`,
			uri: "sip:alice@example.org", params: ";tag=a73kszlfl8", tag: "a73kszlfl8"},
		{in: `"Alice \"the\" Liddell" <sip:alice@example.org>`, display: `Alice "the" Liddell`, rawDisplay: `"Alice \"the\" Liddell"`,
			uri: "sip:alice@example.org"},
		{in: `"A \\ B" <sip:a@example.org>`, display: `A \ B`, rawDisplay: `"A \\ B"`, uri: "sip:a@example.org"},
		{in: `"" <sip:a@example.org>`, display: "", rawDisplay: `""`, uri: "sip:a@example.org", wantString: `"" <sip:a@example.org>`},
		{in: `"J\u00f6rg" <sip:j@example.org>`, display: `Ju00f6rg`, rawDisplay: `"J\u00f6rg"`, uri: "sip:j@example.org"},
		{in: "\"J\u00f6rg \u65e5\u672c\" <sip:j@example.org>", display: "J\u00f6rg \u65e5\u672c", rawDisplay: "\"J\u00f6rg \u65e5\u672c\"", uri: "sip:j@example.org"},
		{in: `Bob Smith <sip:bob@biloxi.com>`, display: "Bob Smith", rawDisplay: "Bob Smith", uri: "sip:bob@biloxi.com"},
		{in: `Bob<sip:bob@biloxi.com>`, display: "Bob", rawDisplay: "Bob", uri: "sip:bob@biloxi.com", wantString: "Bob <sip:bob@biloxi.com>"},
		{in: `A. G. Bell <sip:agb@bell-telephone.com> ;tag=a48s`, display: "A. G. Bell", rawDisplay: "A. G. Bell",
			uri: "sip:agb@bell-telephone.com", params: ";tag=a48s", tag: "a48s", wantString: "A. G. Bell <sip:agb@bell-telephone.com>;tag=a48s"},
		{in: `<sip:bob@biloxi.com>`, uri: "sip:bob@biloxi.com"},
		{in: `  <sip:bob@biloxi.com>  `, uri: "sip:bob@biloxi.com", wantString: "<sip:bob@biloxi.com>"},
		// addr-spec: the parameters belong to the header field.
		{in: `sip:a@b;tag=x`, uri: "sip:a@b", params: ";tag=x", tag: "x", wantString: "<sip:a@b>;tag=x"},
		{in: `sip:+19725552222@gw1.example.net;unknownparam`, uri: "sip:+19725552222@gw1.example.net", params: ";unknownparam",
			wantString: "<sip:+19725552222@gw1.example.net>;unknownparam"},
		{in: `<sip:a@b;tag=x>`, uri: "sip:a@b;tag=x", uriParams: ";tag=x"},
		{in: `<sip:a@b;tag=x>;tag=y`, uri: "sip:a@b;tag=x", uriParams: ";tag=x", params: ";tag=y", tag: "y"},
		{in: `tel:+12015550123;tag=1`, uri: "tel:+12015550123", params: ";tag=1", tag: "1", wantString: "<tel:+12015550123>;tag=1"},
		{in: `*`, wildcard: true},
		{in: ` * `, wildcard: true, wantString: "*"},
		{in: `<sip:alice@192.0.2.5:5060;transport=ws;ob>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1;expires=600;q=0.5`,
			uri: "sip:alice@192.0.2.5:5060;transport=ws;ob", uriParams: ";transport=ws;ob",
			params:      `;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1;expires=600;q=0.5`,
			paramChecks: map[string]string{"+sip.instance": "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>", "reg-id": "1", "expires": "600", "q": "0.5", "Q": "0.5"}},
		{in: `<sip:callee@192.0.2.1>;pub-gruu="sip:callee@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";temp-gruu="sip:tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5@example.com;gr";+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";expires=3600`,
			uri:    "sip:callee@192.0.2.1",
			params: `;pub-gruu="sip:callee@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";temp-gruu="sip:tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5@example.com;gr";+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";expires=3600`,
			paramChecks: map[string]string{
				"pub-gruu":      "sip:callee@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
				"temp-gruu":     "sip:tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5@example.com;gr",
				"+sip.instance": "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>",
				"expires":       "3600",
			}},
		{in: `<sip:[2001:db8::1]:5070;transport=tcp>;received=[2001:db8::2]`, uri: "sip:[2001:db8::1]:5070;transport=tcp", uriParams: ";transport=tcp",
			params: ";received=[2001:db8::2]", paramChecks: map[string]string{"received": "[2001:db8::2]"}},
		{in: `<urn:service:sos>`, uri: "urn:service:sos"},
	}
	for _, tc := range tests {
		a, err := ParseAddr(tc.in)
		if err != nil {
			t.Errorf("ParseAddr(%q): %v", tc.in, err)
			continue
		}
		if a.Wildcard != tc.wildcard {
			t.Errorf("ParseAddr(%q).Wildcard = %v", tc.in, a.Wildcard)
		}
		if got := a.DisplayName(); got != tc.display {
			t.Errorf("ParseAddr(%q).DisplayName() = %q, want %q", tc.in, got, tc.display)
		}
		if a.Display != tc.rawDisplay {
			t.Errorf("ParseAddr(%q).Display = %q, want %q", tc.in, a.Display, tc.rawDisplay)
		}
		if !tc.wildcard {
			if got := a.URI.String(); got != tc.uri {
				t.Errorf("ParseAddr(%q).URI = %q, want %q", tc.in, got, tc.uri)
			}
		} else if !utURIEq(a.URI, URI{}) {
			t.Errorf("ParseAddr(%q): wildcard with URI %#v", tc.in, a.URI)
		}
		if a.URI.Params != tc.uriParams {
			t.Errorf("ParseAddr(%q).URI.Params = %q, want %q", tc.in, a.URI.Params, tc.uriParams)
		}
		if a.Params != tc.params {
			t.Errorf("ParseAddr(%q).Params = %q, want %q", tc.in, a.Params, tc.params)
		}
		if got := a.Tag(); got != tc.tag {
			t.Errorf("ParseAddr(%q).Tag() = %q, want %q", tc.in, got, tc.tag)
		}
		for name, want := range tc.paramChecks {
			if got, ok := a.Params.Get(name); !ok || got != want {
				t.Errorf("ParseAddr(%q).Params.Get(%q) = %q, %v; want %q", tc.in, name, got, ok, want)
			}
		}
		want := tc.wantString
		if want == "" {
			want = tc.in
		}
		if got := a.String(); got != want {
			t.Errorf("ParseAddr(%q).String() = %q, want %q", tc.in, got, want)
		}
		// The written form parses back to the same address.
		b, err := ParseAddr(a.String())
		if err != nil {
			t.Errorf("ParseAddr(%q) (round trip of %q): %v", a.String(), tc.in, err)
		} else if b.Display != a.Display || !utURIEq(b.URI, a.URI) || b.Params != a.Params || b.Wildcard != a.Wildcard {
			t.Errorf("round trip of %q: %#v != %#v", tc.in, b, a)
		}
	}
}

func TestParseAddrInvalid(t *testing.T) {
	for _, in := range []string{
		``,
		`   `,
		`"unterminated <sip:a@example.org>`,
		`"Alice" sip:a@example.org`,
		`"Alice"`,
		`<sip:a@example.org`,
		`Alice sip:a@example.org>`,
		`Bad@Name <sip:a@example.org>`,
		`Bad"Name <sip:a@example.org>`,
		"\"a\x01b\" <sip:a@example.org>",
		"\"a\x7fb\" <sip:a@example.org>",
		`sip:a@example.org?subject=x`,
		`sip:a@example.org, sip:b@example.org`,
		`sip:a @example.org`,
		`sip:user@example.com?Route=%3Csip:sip.example.com%3E`,
		`<sip:a@example.org>;=x`,
		`<sip:a@example.org>;tag=`,
		`<sip:a@example.org>;tag=a b`,
		`<sip:a@example.org>;tag="open`,
		`<sip:a@example.org>;tag=x y`,
		`<sip:a@example.org> junk`,
		`<sip:a@example.org>;received=[192.0.2.1]`,
		`<sip:a@>`,
		`<>`,
		`<sip:a@example.org>` + strings.Repeat(";p", DefaultMaxParams+1),
	} {
		if a, err := ParseAddr(in); err == nil {
			t.Errorf("ParseAddr(%q) = %#v, want error", in, a)
		} else {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Status != 400 {
				t.Errorf("ParseAddr(%q) error %v, want a 400 ParseError", in, err)
			}
		}
	}
	// Escaped control characters in a quoted display name are allowed.
	a, err := ParseAddr("\"a\\\x01b\" <sip:a@example.org>")
	if err != nil {
		t.Fatalf("quoted-pair with a control character: %v", err)
	}
	utEq(t, "DisplayName", a.DisplayName(), "a\x01b")
}

func TestParseVia(t *testing.T) {
	type rp struct {
		port int
		ok   bool
	}
	tests := []struct {
		in                      string
		proto, ver, tr, host    string
		port                    int
		branch, received, maddr string
		ttl                     string
		rport                   rp
		sentBy                  string
		str                     string
	}{
		{in: "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds", proto: "SIP", ver: "2.0", tr: "UDP", host: "pc33.atlanta.com",
			branch: "z9hG4bK776asdhds", sentBy: "pc33.atlanta.com"},
		{in: "SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2", proto: "SIP", ver: "2.0", tr: "UDP",
			host: "bigbox3.site3.atlanta.com", branch: "z9hG4bK77ef4c2312983.1", received: "192.0.2.2", sentBy: "bigbox3.site3.atlanta.com"},
		{in: "SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKx", proto: "SIP", ver: "2.0", tr: "UDP", host: "192.0.2.1", port: 5060,
			branch: "z9hG4bKx", rport: rp{0, true}, sentBy: "192.0.2.1:5060"},
		{in: "SIP/2.0/UDP 192.0.2.1:5060;received=198.51.100.9;rport=40123;branch=z9hG4bKx", proto: "SIP", ver: "2.0", tr: "UDP", host: "192.0.2.1", port: 5060,
			branch: "z9hG4bKx", received: "198.51.100.9", rport: rp{40123, true}, sentBy: "192.0.2.1:5060"},
		{in: "SIP/2.0/UDP 224.2.0.1;maddr=224.2.0.1;ttl=16;branch=z9hG4bKm", proto: "SIP", ver: "2.0", tr: "UDP", host: "224.2.0.1",
			branch: "z9hG4bKm", maddr: "224.2.0.1", ttl: "16", sentBy: "224.2.0.1"},
		{in: "SIP/2.0/UDP h;ttl=0", proto: "SIP", ver: "2.0", tr: "UDP", host: "h", ttl: "0", sentBy: "h"},
		{in: "SIP/2.0/UDP h;ttl=255", proto: "SIP", ver: "2.0", tr: "UDP", host: "h", ttl: "255", sentBy: "h"},
		{in: "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK3719475;rport", proto: "SIP", ver: "2.0", tr: "WSS", host: "df7jal23ls0d.invalid",
			branch: "z9hG4bK3719475", rport: rp{0, true}, sentBy: "df7jal23ls0d.invalid"},
		{in: "SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bK6", proto: "SIP", ver: "2.0", tr: "TCP", host: "[2001:db8::1]", port: 5070,
			branch: "z9hG4bK6", sentBy: "[2001:db8::1]:5070"},
		{in: "SIP/2.0/TLS [2001:db8::1];received=[2001:db8::9]", proto: "SIP", ver: "2.0", tr: "TLS", host: "[2001:db8::1]",
			received: "[2001:db8::9]", sentBy: "[2001:db8::1]"},
		{in: "SIP / 2.0 / UDP first.example.com: 4000;ttl=16 ;maddr=224.2.0.1 ;branch=z9hG4bKa7c6a8dlze.1", proto: "SIP", ver: "2.0", tr: "UDP",
			host: "first.example.com", port: 4000, ttl: "16", maddr: "224.2.0.1", branch: "z9hG4bKa7c6a8dlze.1", sentBy: "first.example.com:4000",
			str: "SIP/2.0/UDP first.example.com:4000;ttl=16 ;maddr=224.2.0.1 ;branch=z9hG4bKa7c6a8dlze.1"},
		{in: "SIP/2.0/UDP host : 5060 ; branch = z9hG4bKsp", proto: "SIP", ver: "2.0", tr: "UDP", host: "host", port: 5060, branch: "z9hG4bKsp",
			sentBy: "host:5060", str: "SIP/2.0/UDP host:5060; branch = z9hG4bKsp"},
		// RFC 3261 §25.1: via-received = "received" EQUAL (IPv4address / IPv6address).
		{in: "SIP/2.0/UDP [2001:db8::9]:5060;received=2001:db8::1;rport=5060;branch=z9hG4bKv6", proto: "SIP", ver: "2.0", tr: "UDP",
			host: "[2001:db8::9]", port: 5060, received: "2001:db8::1", rport: rp{5060, true}, branch: "z9hG4bKv6", sentBy: "[2001:db8::9]:5060"},
		{in: "sip/2.0/udp host.example.com", proto: "sip", ver: "2.0", tr: "udp", host: "host.example.com", sentBy: "host.example.com"},
		{in: "SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en", proto: "SIP", ver: "2.0", tr: "UNKNOWN", host: "t4.example.com",
			branch: "z9hG4bKasd0f3en", sentBy: "t4.example.com"},
		{in: "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK;ext=\"quoted;value\"", proto: "SIP", ver: "2.0", tr: "UDP", host: "192.0.2.1",
			branch: "z9hG4bK", sentBy: "192.0.2.1"},
	}
	for _, tc := range tests {
		v, err := ParseVia(tc.in)
		if err != nil {
			t.Errorf("ParseVia(%q): %v", tc.in, err)
			continue
		}
		got := [5]string{v.Protocol, v.Version, v.Transport, v.Host, v.SentBy()}
		want := [5]string{tc.proto, tc.ver, tc.tr, tc.host, tc.sentBy}
		if got != want || v.Port != tc.port {
			t.Errorf("ParseVia(%q) = %q port %d, want %q port %d", tc.in, got, v.Port, want, tc.port)
		}
		if v.Branch() != tc.branch || v.Received() != tc.received || v.Maddr() != tc.maddr {
			t.Errorf("ParseVia(%q): branch %q received %q maddr %q", tc.in, v.Branch(), v.Received(), v.Maddr())
		}
		if ttl, _ := v.Params.Get("ttl"); ttl != tc.ttl {
			t.Errorf("ParseVia(%q): ttl %q, want %q", tc.in, ttl, tc.ttl)
		}
		if p, ok := v.RPort(); (rp{p, ok}) != tc.rport {
			t.Errorf("ParseVia(%q).RPort() = %d, %v; want %v", tc.in, p, ok, tc.rport)
		}
		str := tc.str
		if str == "" {
			str = tc.in
		}
		if s := v.String(); s != str {
			t.Errorf("ParseVia(%q).String() = %q, want %q", tc.in, s, str)
		}
		if v2, err := ParseVia(v.String()); err != nil || !utViaEq(v2, v) {
			t.Errorf("ParseVia(String()) of %q = %+v, %v; want %+v", tc.in, v2, err, v)
		}
	}
}

func TestParseViaInvalid(t *testing.T) {
	for _, in := range []string{
		"",
		"SIP/2.0/UDP",
		"SIP/2.0/UDP ",
		"SIP/2.0 UDP host",
		"SIP/2.0/ host",
		"SIP//UDP host",
		"/2.0/UDP host",
		"SIP/2.0/UDPhost",
		"SIP/2.0/UDP host:",
		"SIP/2.0/UDP host:99999",
		"SIP/2.0/UDP host:abc",
		"SIP/2.0/UDP host:-1",
		"SIP/2.0/UDP -host",
		"SIP/2.0/UDP ho_st",
		"SIP/2.0/UDP [2001:db8::1",
		"SIP/2.0/UDP [192.0.2.1]",
		"SIP/2.0/UDP []",
		"SIP/2.0/UDP host;ttl=256",
		"SIP/2.0/UDP host;ttl=x",
		"SIP/2.0/UDP host;ttl=",
		"SIP/2.0/UDP host;rport=70000",
		"SIP/2.0/UDP host;rport=x",
		"SIP/2.0/UDP host;branch=",
		"SIP/2.0/UDP host;branch=a b",
		"SIP/2.0/UDP host;=x",
		"SIP/2.0/UDP host;;branch=x",
		"SIP/2.0/UDP host junk",
		"SIP/2.0/UDP host;branch=\"open",
		"SIP/2.0/UDP host" + strings.Repeat(";p", DefaultMaxParams+1),
	} {
		if v, err := ParseVia(in); err == nil {
			t.Errorf("ParseVia(%q) = %+v, want error", in, v)
		} else {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Status != 400 {
				t.Errorf("ParseVia(%q) error %v, want a 400 ParseError", in, err)
			}
		}
	}
}

func TestViaStringDefaults(t *testing.T) {
	v := Via{Transport: "UDP", Host: "198.51.100.7", Port: 5060, Params: ";branch=z9hG4bK1"}
	utEq(t, "String", v.String(), "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK1")
	v = Via{Transport: "WSS", Host: "[2001:db8::1]"}
	utEq(t, "String", v.String(), "SIP/2.0/WSS [2001:db8::1]")
}

func TestParams(t *testing.T) {
	p := Params(`;transport=ws;lr;ob;q="0.5";gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6`)
	for _, c := range []struct {
		name, val string
		ok        bool
	}{
		{"transport", "ws", true},
		{"Transport", "ws", true},
		{"LR", "", true},
		{"ob", "", true},
		{"q", "0.5", true},
		{"gr", "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", true},
		{"missing", "", false},
		{"l", "", false},
		{"lrx", "", false},
		{"", "", false},
	} {
		v, ok := p.Get(c.name)
		if v != c.val || ok != c.ok {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", c.name, v, ok, c.val, c.ok)
		}
		if p.Has(c.name) != c.ok {
			t.Errorf("Has(%q) = %v", c.name, !c.ok)
		}
	}
	utEq(t, "Len", p.Len(), 5)
	utEq(t, "empty Len", Params("").Len(), 0)
	if _, ok := Params("").Get("x"); ok {
		t.Errorf("empty Params has x")
	}

	// White space around names, values and separators.
	sp := Params(" ; tag = 1918181833n ;  x ;y=\"a;b\" ; z=2")
	for name, want := range map[string]string{"tag": "1918181833n", "x": "", "y": "a;b", "z": "2"} {
		if v, ok := sp.Get(name); !ok || v != want {
			t.Errorf("Get(%q) on %q = %q, %v; want %q", name, sp, v, ok, want)
		}
	}
	utEq(t, "Len with spaces", sp.Len(), 4)
	// Escapes inside a quoted value stay as written.
	q := Params(`;a="x\"y";b=1`)
	if v, _ := q.Get("a"); v != `x\"y` {
		t.Errorf(`Get(a) = %q, want x\"y`, v)
	}
	if v, _ := q.Get("b"); v != "1" {
		t.Errorf("Get(b) after an escaped quote = %q, want 1", v)
	}

	withTests := []struct {
		p           Params
		name, value string
		want        Params
	}{
		{";transport=ws;lr", "transport", "udp", ";transport=udp;lr"},
		{";transport=ws;lr", "TRANSPORT", "udp", ";transport=udp;lr"},
		{";transport=ws;lr", "lr", "on", ";transport=ws;lr=on"},
		{";transport=ws;lr", "ob", "", ";transport=ws;lr;ob"},
		{";transport=ws;lr", "expires", "600", ";transport=ws;lr;expires=600"},
		{"", "tag", "x", ";tag=x"},
		{";a=1;a=2", "a", "3", ";a=3;a=2"},
		{`;q="0.5"`, "r", "1", `;q="0.5";r=1`},
	}
	for _, c := range withTests {
		if got := c.p.With(c.name, c.value); got != c.want {
			t.Errorf("%q.With(%q, %q) = %q, want %q", c.p, c.name, c.value, got, c.want)
		}
		if v, ok := c.p.With(c.name, c.value).Get(c.name); !ok || v != c.value {
			t.Errorf("%q.With(%q, %q).Get = %q, %v", c.p, c.name, c.value, v, ok)
		}
	}
	withoutTests := []struct {
		p    Params
		name string
		want Params
	}{
		{";transport=ws;lr;ob", "lr", ";transport=ws;ob"},
		{";transport=ws;lr;ob", "TRANSPORT", ";lr;ob"},
		{";transport=ws;lr;ob", "ob", ";transport=ws;lr"},
		{";transport=ws;lr;ob", "missing", ";transport=ws;lr;ob"},
		{";lr", "lr", ""},
		{";a=1;b=2;a=3", "a", ";b=2"},
		{`;x="a;b";y`, "y", `;x="a;b"`},
		{"", "x", ""},
	}
	for _, c := range withoutTests {
		got := c.p.Without(c.name)
		if got != c.want {
			t.Errorf("%q.Without(%q) = %q, want %q", c.p, c.name, got, c.want)
		}
		if got.Has(c.name) {
			t.Errorf("%q.Without(%q) still has it", c.p, c.name)
		}
	}
}

func TestParseAuth(t *testing.T) {
	type kv = [2]string
	tests := []struct {
		in     string
		scheme string
		digest bool
		params []kv
		absent []string
	}{
		{
			in: `Digest username="alice", realm="atlanta.com", nonce="84a4cc6f3082121f32b42a2187831a9e", uri="sip:alice@atlanta.com", ` +
				`response="7587245234b3434cc3412213e5f113a5432", algorithm=MD5, cnonce="0a4f113b", qop=auth, nc=00000001`,
			scheme: "Digest", digest: true,
			params: []kv{{"username", "alice"}, {"realm", "atlanta.com"}, {"nonce", "84a4cc6f3082121f32b42a2187831a9e"},
				{"uri", "sip:alice@atlanta.com"}, {"response", "7587245234b3434cc3412213e5f113a5432"}, {"algorithm", "MD5"},
				{"cnonce", "0a4f113b"}, {"qop", "auth"}, {"nc", "00000001"}, {"USERNAME", "alice"}},
			absent: []string{"opaque", "user"},
		},
		{
			in:     `Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth,auth-int", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5`,
			scheme: "Digest", digest: true,
			params: []kv{{"realm", "atlanta.com"}, {"domain", "sip:boxesbybob.com"}, {"qop", "auth,auth-int"},
				{"nonce", "f84f1cec41e6cbe5aea9c8e88d359"}, {"opaque", ""}, {"stale", "FALSE"}, {"algorithm", "MD5"}},
		},
		{
			in:     "digest  realm = \"a \\\"b\\\" c\" ,\tnonce=\"n\"",
			scheme: "digest", digest: true,
			params: []kv{{"realm", `a "b" c`}, {"nonce", "n"}},
		},
		{
			in:     `Digest realm="example.org", nonce="x", algorithm=SHA-256, userhash=true`,
			scheme: "Digest", digest: true,
			params: []kv{{"algorithm", "SHA-256"}, {"userhash", "true"}},
		},
		{in: "NoOneKnowsThisScheme opaque-data=here", scheme: "NoOneKnowsThisScheme", params: []kv{{"opaque-data", "here"}}},
		{in: "Bearer", scheme: "Bearer"},
		{in: "  Digest  ", scheme: "Digest", digest: true, absent: []string{"realm"}},
	}
	for _, tc := range tests {
		a, err := ParseAuth(tc.in)
		if err != nil {
			t.Errorf("ParseAuth(%q): %v", tc.in, err)
			continue
		}
		if a.Scheme != tc.scheme || a.IsDigest() != tc.digest {
			t.Errorf("ParseAuth(%q): scheme %q digest %v", tc.in, a.Scheme, a.IsDigest())
		}
		for _, p := range tc.params {
			if v, ok := a.Param(p[0]); !ok || v != p[1] {
				t.Errorf("ParseAuth(%q).Param(%q) = %q, %v; want %q", tc.in, p[0], v, ok, p[1])
			}
		}
		for _, n := range tc.absent {
			if v, ok := a.Param(n); ok {
				t.Errorf("ParseAuth(%q).Param(%q) = %q, want absent", tc.in, n, v)
			}
		}
	}
}

func TestParseAuthInvalid(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		`Digest realm="unterminated`,
		`Digest realm=`,
		`Digest =x`,
		`Digest realm=a b`,
		`Digest realm="a" nonce="b"`,
		`"Digest" realm="a"`,
		`Digest, realm="a"`,
		`Digest realm="a"x`,
		`Di/gest realm="a"`,
		`Digest re alm="a"`,
	} {
		if a, err := ParseAuth(in); err == nil {
			t.Errorf("ParseAuth(%q) = %+v, want error", in, a)
		}
	}
}

// utURIEq compares the exported fields of two URIs.
func utURIEq(a, b URI) bool {
	return a.Scheme == b.Scheme && a.User == b.User && a.Password == b.Password && a.Host == b.Host &&
		a.Port == b.Port && a.Params == b.Params && a.Headers == b.Headers && a.Opaque == b.Opaque
}

// utViaEq compares the exported fields of two Via values.
func utViaEq(a, b Via) bool {
	return a.Protocol == b.Protocol && a.Version == b.Version && a.Transport == b.Transport &&
		a.Host == b.Host && a.Port == b.Port && a.Params == b.Params
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		"alice": "alice", "a%41b": "aAb", "ab%41": "abA", "%4": "%4", "%zz": "%zz",
		"%%41": "%A", "urn%3Auuid%3A1": "urn:uuid:1", "": "",
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
