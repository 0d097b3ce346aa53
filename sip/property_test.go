package sip_test

// Property tests for the sip package, written against its exported API only
// so that they keep holding while the internals change.
//
// drawMessage builds valid SIP requests and responses from parts and keeps,
// next to the wire bytes, what a correct parser must read from them (the
// header fields in order with their unfolded values, and the typed values).
// The properties check the parser against that model, the serializer
// against the parser (parse(serialize(m)) == m, idempotence), the stream
// framer against the datagram parser, the edit methods against a line model,
// and URI parsing, printing and comparison. TestRegressions keeps the
// smallest reproductions of the bugs they and the fuzz targets found, all
// fixed.

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sipedge/sipedge/sip"
)

// ---------------------------------------------------------------------------
// Small drawing helpers.

func pick[E any](t *rapid.T, label string, xs ...E) E {
	return rapid.SampledFrom(xs).Draw(t, label)
}

// chance draws true with probability pct percent.
func chance(t *rapid.T, label string, pct int) bool {
	return rapid.IntRange(0, 99).Draw(t, label) < pct
}

func intIn(t *rapid.T, label string, lo, hi int) int {
	return rapid.IntRange(lo, hi).Draw(t, label)
}

// strOf draws a string of min..max bytes from the ASCII alphabet.
func strOf(t *rapid.T, label, alphabet string, min, max int) string {
	return rapid.StringOfN(rapid.RuneFrom([]rune(alphabet)), min, max, -1).Draw(t, label)
}

const (
	alpha     = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits    = "0123456789"
	alnum     = alpha + digits
	hexDigits = "0123456789abcdefABCDEF"
	// RFC 3261 §25.1 character classes.
	tokenChars      = alnum + "-.!%*_+`'~"
	unreservedChars = alnum + "-_.!~*'()"
	userExtra       = "&=+$,;?/"
	passwordExtra   = "&=+$,"
	paramExtra      = "[]/:&+$"
	headerExtra     = "[]/?:+$"
	wordChars       = alnum + "-.!%*_+`'~()<>:\\\"/[]?{}"
)

// randCase changes the case of some letters of s.
func randCase(t *rapid.T, label, s string) string {
	if !chance(t, label+"?", 30) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if (c|0x20) >= 'a' && (c|0x20) <= 'z' && rapid.Bool().Draw(t, label) {
			b[i] = c ^ 0x20
		}
	}
	return string(b)
}

// escaped draws a string of chars from alphabet, some written as %HH.
func escaped(t *rapid.T, label, alphabet string, min, max int) string {
	n := intIn(t, label+".len", min, max)
	var b strings.Builder
	for i := 0; i < n; i++ {
		if chance(t, label+".esc", 15) {
			c := byte(intIn(t, label+".byte", 0, 255))
			h := fmt.Sprintf("%%%02x", c)
			if rapid.Bool().Draw(t, label+".upper") {
				h = strings.ToUpper(h)
			}
			b.WriteString(h)
			continue
		}
		b.WriteByte(alphabet[intIn(t, label+".char", 0, len(alphabet)-1)])
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// White space. A message draws whether it uses odd spacing and folding;
// lws and sws return white space for the places where the grammar allows
// LWS and SWS. The pieces they return are never put next to other white
// space, so the unfolded value of a piece does not depend on its neighbours.

type style struct {
	odd, fold bool
}

func (s style) lws(t *rapid.T) string {
	if !s.odd {
		return " "
	}
	opts := []string{" ", "  ", "\t", " \t "}
	if s.fold {
		opts = append(opts, "\r\n ", " \r\n\t", "\r\n  ", "\t\r\n ")
	}
	return pick(t, "lws", opts...)
}

func (s style) sws(t *rapid.T) string {
	if !s.odd || rapid.Bool().Draw(t, "sws?") {
		return ""
	}
	return s.lws(t)
}

// unfoldTrim is what a header value, or a piece of one, reads as: each line
// fold and the white space around it one SP (RFC 3261 §7.3.1), surrounding
// white space removed.
func unfoldTrim(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
				b = b[:len(b)-1]
			}
			b = append(b, ' ')
			i++
			for i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t') {
				i++
			}
			continue
		}
		b = append(b, s[i])
	}
	return strings.Trim(string(b), " \t\r\n")
}

// ---------------------------------------------------------------------------
// URIs.

type uriOpts struct {
	schemes   []string // "sip", "sips", "tel", "other"
	addrSpec  bool     // no ';', '?' or ',' anywhere (RFC 3261 §20.10)
	noHeaders bool
	noUser    bool
	dupParams bool // allow a parameter name twice
}

type genURI struct {
	text string
	want sip.URI
}

func drawHostname(t *rapid.T) string {
	n := intIn(t, "labels", 1, 3)
	labels := make([]string, n)
	for i := range labels {
		first := alnum
		if i == n-1 {
			first = alpha // toplabel starts with ALPHA
		}
		l := strOf(t, "label0", first, 1, 1)
		if mid := strOf(t, "label", alnum+"-", 0, 8); mid != "" {
			l += mid + strOf(t, "labelEnd", alnum, 1, 1)
		}
		labels[i] = l
	}
	h := randCase(t, "hostcase", strings.Join(labels, "."))
	if chance(t, "fqdn-dot", 5) {
		h += "."
	}
	return h
}

func drawIPv4(t *rapid.T) string {
	return fmt.Sprintf("%d.%d.%d.%d", intIn(t, "o", 0, 255), intIn(t, "o", 0, 255), intIn(t, "o", 0, 255), intIn(t, "o", 0, 255))
}

// drawIPv6 returns an IPv6address (no brackets).
func drawIPv6(t *rapid.T) string {
	var a [16]byte
	switch pick(t, "v6kind", "random", "sparse", "mapped", "loop") {
	case "random":
		for i := range a {
			a[i] = byte(intIn(t, "v6b", 0, 255))
		}
	case "sparse":
		a[0], a[1] = 0x20, 0x01
		a[2], a[3] = 0x0d, 0xb8
		a[15] = byte(intIn(t, "v6b", 0, 255))
	case "mapped":
		a[10], a[11] = 0xff, 0xff
		for i := 12; i < 16; i++ {
			a[i] = byte(intIn(t, "v6b", 0, 255))
		}
	case "loop":
		a[15] = 1
	}
	s := netip.AddrFrom16(a).String()
	if chance(t, "v6long", 20) {
		s = netip.AddrFrom16(a).StringExpanded()
	}
	return randCase(t, "v6case", s)
}

func drawHost(t *rapid.T) string {
	switch pick(t, "hostkind", "name", "name", "v4", "v6") {
	case "v4":
		return drawIPv4(t)
	case "v6":
		return "[" + drawIPv6(t) + "]"
	}
	return drawHostname(t)
}

// drawPort returns the port as written and its value; "" for none.
func drawPort(t *rapid.T) (string, int) {
	switch pick(t, "portkind", "none", "none", "std", "any", "zeros") {
	case "std":
		p := pick(t, "port", 5060, 5061, 80, 443, 8080)
		return strconv.Itoa(p), p
	case "any":
		p := intIn(t, "port", 1, 65535)
		return strconv.Itoa(p), p
	case "zeros":
		p := intIn(t, "port", 0, 9999)
		return fmt.Sprintf("%05d", p), p
	}
	return "", 0
}

// drawURIParams draws uri-parameters with distinct names (unless dup).
func drawURIParams(t *rapid.T, dup bool) string {
	n := intIn(t, "nparams", 0, 4)
	seen := map[string]bool{}
	var b strings.Builder
	for i := 0; i < n; i++ {
		var name, value string
		hasValue := true
		switch pick(t, "uparam", "transport", "lr", "user", "maddr", "ttl", "method", "ob", "gr", "other", "flag") {
		case "transport":
			name, value = "transport", randCase(t, "tv", pick(t, "transport", "udp", "tcp", "tls", "sctp", "ws", "wss", "x-quic"))
		case "lr":
			name, hasValue = "lr", false
		case "user":
			name, value = "user", pick(t, "userp", "phone", "ip", "dialstring")
		case "maddr":
			name, value = "maddr", drawHost(t)
		case "ttl":
			name, value = "ttl", strconv.Itoa(intIn(t, "ttl", 0, 255))
		case "method":
			name, value = "method", pick(t, "m", "INVITE", "REGISTER", "BYE")
		case "ob":
			name, hasValue = "ob", false
		case "gr":
			name, value = "gr", "urn:uuid:"+strOf(t, "uuid", "0123456789abcdef-", 8, 36)
		case "other":
			name = "x" + escaped(t, "pname", unreservedChars+paramExtra, 1, 8)
			value = escaped(t, "pvalue", unreservedChars+paramExtra, 1, 12)
		case "flag":
			name, hasValue = "f"+strOf(t, "flag", alnum, 1, 6), false
		}
		name = randCase(t, "pnamecase", name)
		key := strings.ToLower(name)
		if seen[key] && !dup {
			continue
		}
		seen[key] = true
		b.WriteByte(';')
		b.WriteString(name)
		if hasValue {
			b.WriteByte('=')
			b.WriteString(value)
		}
	}
	return b.String()
}

func drawURIHeaders(t *rapid.T) string {
	n := intIn(t, "nheaders", 1, 3)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = escaped(t, "hname", unreservedChars+headerExtra, 1, 8) + "=" +
			escaped(t, "hvalue", unreservedChars+headerExtra, 0, 12)
	}
	return strings.Join(parts, "&")
}

func drawURI(t *rapid.T, o uriOpts) genURI {
	schemes := o.schemes
	if len(schemes) == 0 {
		schemes = []string{"sip", "sip", "sip", "sips", "tel"}
	}
	scheme := pick(t, "scheme", schemes...)
	var u genURI
	switch scheme {
	case "tel":
		u.want.Scheme = randCase(t, "schemecase", "tel")
		num := ""
		if rapid.Bool().Draw(t, "global") {
			num = "+" + strOf(t, "digits", digits, 1, 3) + strOf(t, "telrest", digits+"-.()", 1, 14)
		} else {
			num = strOf(t, "telnum", digits+"-.()*#ABCDabcd", 1, 12)
		}
		params := ""
		if !o.addrSpec {
			if !strings.HasPrefix(num, "+") {
				params += ";phone-context=" + pick(t, "ctx", "example.com", "+1-212", "atlanta.example.com")
			}
			if chance(t, "ext", 30) {
				params += ";ext=" + strOf(t, "ext", digits, 1, 5)
			}
			if chance(t, "isub", 10) {
				params += ";isub=" + escaped(t, "isub", unreservedChars+paramExtra, 1, 6)
			}
		}
		u.want.User, u.want.Params = num, sip.Params(params)
		u.text = u.want.Scheme + ":" + num + params
		return u
	case "other":
		u.want.Scheme = pick(t, "oscheme", "urn", "mailto", "http", "im")
		u.want.Opaque = pick(t, "opaque", "service:sos", "uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "alice@example.com", "//example.com/a/b", "bob@example.org")
		u.text = u.want.Scheme + ":" + u.want.Opaque
		return u
	}
	u.want.Scheme = randCase(t, "schemecase", scheme)
	var b strings.Builder
	b.WriteString(u.want.Scheme)
	b.WriteByte(':')
	if !o.noUser && chance(t, "hasUser", 75) {
		ua := unreservedChars + userExtra
		if o.addrSpec {
			ua = unreservedChars + "&=+$/"
		}
		u.want.User = escaped(t, "user", ua, 1, 12)
		b.WriteString(u.want.User)
		if chance(t, "hasPassword", 10) {
			pa := unreservedChars + passwordExtra
			if o.addrSpec {
				pa = unreservedChars + "&=+$"
			}
			u.want.Password = escaped(t, "password", pa, 0, 8)
			b.WriteByte(':')
			b.WriteString(u.want.Password)
		}
		b.WriteByte('@')
	}
	u.want.Host = drawHost(t)
	b.WriteString(u.want.Host)
	if ps, p := drawPort(t); ps != "" {
		u.want.Port = p
		b.WriteByte(':')
		b.WriteString(ps)
	}
	if !o.addrSpec {
		u.want.Params = sip.Params(drawURIParams(t, o.dupParams))
		b.WriteString(string(u.want.Params))
		if !o.noHeaders && chance(t, "hasHeaders", 15) {
			u.want.Headers = drawURIHeaders(t)
			b.WriteByte('?')
			b.WriteString(u.want.Headers)
		}
	}
	u.text = b.String()
	return u
}

// ---------------------------------------------------------------------------
// Header values.

// drawQuoted draws a quoted-string (with quoted-pairs and UTF-8) and the
// text it stands for.
func drawQuoted(t *rapid.T, s style) (raw, unquoted string) {
	n := intIn(t, "qlen", 0, 12)
	var r, u strings.Builder
	r.WriteByte('"')
	for i := 0; i < n; i++ {
		switch pick(t, "qchar", "text", "text", "text", "space", "utf8", "pair", "ctlpair") {
		case "text":
			// qdtext: %x21 / %x23-5B / %x5D-7E
			c := byte(intIn(t, "qdtext", 0x21, 0x7e))
			if c == '"' || c == '\\' {
				c = 'q'
			}
			r.WriteByte(c)
			u.WriteByte(c)
		case "space":
			c := pick(t, "qsp", " ", "\t")
			r.WriteString(c)
			u.WriteString(c)
		case "utf8":
			c := pick(t, "qutf8", "é", "ß", "中文", "😀", "Ω")
			r.WriteString(c)
			u.WriteString(c)
		case "pair":
			c := pick(t, "qpair", `"`, `\`, "a", "<", ",")
			r.WriteString(`\` + c)
			u.WriteString(c)
		case "ctlpair":
			// quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
			c := byte(pick(t, "qctl", 0x00, 0x01, 0x09, 0x0b, 0x1f, 0x7f))
			r.WriteByte('\\')
			r.WriteByte(c)
			u.WriteByte(c)
		}
	}
	r.WriteByte('"')
	return r.String(), u.String()
}

// drawHeaderParams draws header parameters (generic-param and the well-known
// ones), as written, with optional odd spacing.
func drawHeaderParams(t *rapid.T, s style, names []string, n int) string {
	var b strings.Builder
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		name := pick(t, "hpname", names...)
		var value string
		hasValue := true
		switch name {
		case "tag":
			value = strOf(t, "tag", tokenChars, 1, 16)
		case "expires":
			value = strconv.Itoa(intIn(t, "expires", 0, 7200))
		case "q":
			value = pick(t, "q", "0", "1", "0.5", "1.0", "0.123")
		case "+sip.instance":
			value = `"<urn:uuid:` + strOf(t, "uuid", "0123456789abcdef-", 8, 36) + `>"`
		case "reg-id":
			value = strconv.Itoa(intIn(t, "regid", 1, 9))
		case "methods":
			value = `"INVITE,ACK,BYE"`
		case "+sip.ice", "lr", "ob":
			hasValue = false
		case "received":
			value = `"sip:` + drawIPv4(t) + `:5060"`
		case "x-host":
			value = drawHost(t)
		case "x-q":
			value, _ = drawQuoted(t, s)
		default:
			value = strOf(t, "pv", tokenChars, 1, 10)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		b.WriteString(s.sws(t))
		b.WriteByte(';')
		b.WriteString(s.sws(t))
		b.WriteString(randCase(t, "hpcase", name))
		if hasValue {
			b.WriteString(s.sws(t))
			b.WriteByte('=')
			b.WriteString(s.sws(t))
			b.WriteString(value)
		}
	}
	return b.String()
}

type addrForm int

const (
	formAny addrForm = iota
	formNameAddr
)

// drawAddr draws a name-addr or addr-spec with header parameters.
func drawAddr(t *rapid.T, s style, form addrForm, paramNames []string, maxParams int, uo uriOpts) (string, sip.Addr) {
	var want sip.Addr
	var b strings.Builder
	nameAddr := form == formNameAddr || chance(t, "nameaddr", 80)
	if nameAddr {
		switch pick(t, "display", "none", "token", "quoted") {
		case "token":
			n := intIn(t, "ntok", 1, 3)
			var d strings.Builder
			for i := 0; i < n; i++ {
				if i > 0 {
					d.WriteString(s.lws(t))
				}
				d.WriteString(strOf(t, "dtok", tokenChars, 1, 8))
			}
			want.Display = unfoldTrim(d.String())
			b.WriteString(d.String())
			b.WriteString(s.lws(t))
		case "quoted":
			raw, _ := drawQuoted(t, s)
			want.Display = raw
			b.WriteString(raw)
			b.WriteString(pick(t, "lwsdisp", "", " ", " ", "  "))
		}
		u := drawURI(t, uo)
		want.URI = u.want
		b.WriteByte('<')
		b.WriteString(u.text)
		b.WriteByte('>')
	} else {
		uo.addrSpec = true
		u := drawURI(t, uo)
		want.URI = u.want
		b.WriteString(u.text)
	}
	p := drawHeaderParams(t, s, paramNames, intIn(t, "nhparams", 0, maxParams))
	want.Params = sip.Params(unfoldTrim(p))
	b.WriteString(p)
	return b.String(), want
}

// drawVia draws one via-parm.
func drawVia(t *rapid.T, s style, v6Received bool) (string, sip.Via) {
	var want sip.Via
	want.Protocol = randCase(t, "proto", "SIP")
	want.Version = "2.0"
	want.Transport = pick(t, "vtransport", "UDP", "TCP", "TLS", "SCTP", "WS", "WSS", "udp", "ws", "X-NEW")
	var b strings.Builder
	b.WriteString(want.Protocol)
	b.WriteString(s.sws(t))
	b.WriteByte('/')
	b.WriteString(s.sws(t))
	b.WriteString(want.Version)
	b.WriteString(s.sws(t))
	b.WriteByte('/')
	b.WriteString(s.sws(t))
	b.WriteString(want.Transport)
	b.WriteString(s.lws(t))
	want.Host = drawHost(t)
	b.WriteString(want.Host)
	if ps, p := drawPort(t); ps != "" {
		want.Port = p
		b.WriteString(s.sws(t))
		b.WriteByte(':')
		b.WriteString(s.sws(t))
		b.WriteString(ps)
	}
	var pb strings.Builder
	addParam := func(name, value string, hasValue bool) {
		pb.WriteString(s.sws(t))
		pb.WriteByte(';')
		pb.WriteString(s.sws(t))
		pb.WriteString(randCase(t, "vpcase", name))
		if hasValue {
			pb.WriteString(s.sws(t))
			pb.WriteByte('=')
			pb.WriteString(s.sws(t))
			pb.WriteString(value)
		}
	}
	if chance(t, "hasBranch", 90) {
		addParam("branch", "z9hG4bK"+strOf(t, "branch", tokenChars, 1, 20), true)
	}
	if chance(t, "hasReceived", 30) {
		r := drawIPv4(t)
		if v6Received && rapid.Bool().Draw(t, "v6rcvd") {
			// RFC 3261 §25.1: via-received = "received" EQUAL
			// (IPv4address / IPv6address).
			r = drawIPv6(t)
		}
		addParam("received", r, true)
	}
	if chance(t, "hasRport", 40) {
		if rapid.Bool().Draw(t, "rportValue") {
			addParam("rport", strconv.Itoa(intIn(t, "rport", 1, 65535)), true)
		} else {
			addParam("rport", "", false)
		}
	}
	if chance(t, "hasMaddr", 10) {
		addParam("maddr", drawHost(t), true)
	}
	if chance(t, "hasTTL", 10) {
		addParam("ttl", strconv.Itoa(intIn(t, "vttl", 0, 255)), true)
	}
	if chance(t, "hasAlias", 10) {
		addParam("alias", "", false)
	}
	if chance(t, "hasVQuoted", 5) {
		q, _ := drawQuoted(t, s)
		addParam("x-v", q, true)
	}
	b.WriteString(pb.String())
	want.Params = sip.Params(unfoldTrim(pb.String()))
	return b.String(), want
}

// drawText draws TEXT-UTF8 words separated by LWS (an extension header's
// value, a Subject, a reason phrase when lws is plain).
func drawText(t *rapid.T, s style, min, max int) string {
	n := intIn(t, "nwords", min, max)
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(s.lws(t))
		}
		m := intIn(t, "wordlen", 1, 6)
		for j := 0; j < m; j++ {
			if chance(t, "utf8word", 15) {
				b.WriteString(pick(t, "utf8", "é", "ü", "日本", "€", "🙂", "Ж"))
			} else {
				b.WriteByte(byte(intIn(t, "textchar", 0x21, 0x7e)))
			}
		}
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// Messages.

type genField struct {
	name  string // as written
	value string // as written, possibly folded
	want  string // the value a parser reads
	key   sip.Header
}

type genMessage struct {
	request bool
	method  string
	ruri    sip.URI
	status  int
	reason  string

	fields []genField
	body   string
	hasCL  bool

	callID   string
	cseq     sip.CSeq
	maxFwd   int // -1 when absent
	vias     []sip.Via
	from, to sip.Addr
	contacts []sip.Addr
	routes   []sip.Addr
	rroutes  []sip.Addr
	paths    []sip.Addr
	tokens   map[sip.Header][]string
	auths    map[sip.Header][]map[string]string

	wire []byte
}

var requestMethods = []string{"INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "UPDATE", "PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH"}

// fieldName returns the name of h as this test writes it: the full name in
// some case, or the compact form.
func fieldName(t *rapid.T, h sip.Header) string {
	compact := map[sip.Header]string{
		sip.HeaderVia: "v", sip.HeaderFrom: "f", sip.HeaderTo: "t", sip.HeaderCallID: "i",
		sip.HeaderContact: "m", sip.HeaderContentLength: "l", sip.HeaderContentType: "c",
		sip.HeaderContentEncoding: "e", sip.HeaderSupported: "k", sip.HeaderSubject: "s",
		sip.HeaderEvent: "o", sip.HeaderAllowEvents: "u", sip.HeaderReferTo: "r",
		sip.HeaderReferredBy: "b", sip.HeaderSessionExpires: "x", sip.HeaderAcceptContact: "a",
		sip.HeaderRejectContact: "j", sip.HeaderRequestDisposition: "d", sip.HeaderIdentity: "y",
	}
	if c, ok := compact[h]; ok && chance(t, "compact", 25) {
		return randCase(t, "compactcase", c)
	}
	return randCase(t, "namecase", h.String())
}

func drawMessage(t *rapid.T) *genMessage {
	g := &genMessage{maxFwd: -1, tokens: map[sip.Header][]string{}, auths: map[sip.Header][]map[string]string{}}
	s := style{odd: chance(t, "odd", 40)}
	s.fold = s.odd && chance(t, "fold", 50)

	var fields [][]genField // groups: fields of one header keep their order
	add := func(h sip.Header, name, value string) {
		f := genField{name: name, value: value, want: unfoldTrim(value), key: h}
		if h == sip.HeaderOther {
			f.key = sip.HeaderOf(name)
		}
		for i := range fields {
			if fields[i][0].key == f.key && (f.key != sip.HeaderOther || strings.EqualFold(fields[i][0].name, name)) {
				fields[i] = append(fields[i], f)
				return
			}
		}
		fields = append(fields, []genField{f})
	}

	// Start line.
	g.request = chance(t, "request", 65)
	var start string
	if g.request {
		g.method = pick(t, "method", requestMethods...)
		if chance(t, "extmethod", 10) {
			g.method = strOf(t, "extmethod", tokenChars, 1, 12)
		}
		u := drawURI(t, uriOpts{})
		g.ruri = u.want
		version := "SIP/2.0"
		if chance(t, "lcversion", 5) {
			version = "sip/2.0"
		}
		start = g.method + " " + u.text + " " + version
	} else {
		g.status = pick(t, "status", 100, 180, 183, 200, 202, 301, 302, 401, 407, 404, 486, 487, 500, 503, 603, intIn(t, "anystatus", 100, 699))
		g.reason = drawText(t, style{odd: s.odd}, 0, 4)
		if g.reason == "" && chance(t, "nosp", 30) {
			start = fmt.Sprintf("SIP/2.0 %03d", g.status)
		} else {
			start = fmt.Sprintf("SIP/2.0 %03d %s", g.status, g.reason)
		}
	}

	// Via: 1-3 values on 1-3 fields.
	nv := intIn(t, "nvia", 1, 3)
	var vals []string
	for i := 0; i < nv; i++ {
		txt, v := drawVia(t, s, true)
		vals = append(vals, txt)
		g.vias = append(g.vias, v)
	}
	for len(vals) > 0 {
		n := intIn(t, "viasPerLine", 1, len(vals))
		var line strings.Builder
		for i := 0; i < n; i++ {
			if i > 0 {
				line.WriteString(s.sws(t))
				line.WriteByte(',')
				line.WriteString(s.sws(t))
			}
			line.WriteString(vals[i])
		}
		vals = vals[n:]
		add(sip.HeaderVia, fieldName(t, sip.HeaderVia), line.String())
	}

	// From, To.
	addrURI := uriOpts{schemes: []string{"sip", "sip", "sips", "tel", "other"}}
	ft, fa := drawAddr(t, s, formAny, []string{"tag", "x-p", "x-q"}, 2, addrURI)
	if !fa.Params.Has("tag") {
		tag := ";tag=f" + strOf(t, "ftag", tokenChars, 1, 10)
		ft += tag
		fa.Params = sip.Params(unfoldTrim(string(fa.Params) + tag))
	}
	g.from = fa
	add(sip.HeaderFrom, fieldName(t, sip.HeaderFrom), ft)
	tt, ta := drawAddr(t, s, formAny, []string{"tag", "x-p"}, 1, addrURI)
	g.to = ta
	add(sip.HeaderTo, fieldName(t, sip.HeaderTo), tt)

	// Call-ID, CSeq, Max-Forwards.
	g.callID = strOf(t, "callid", wordChars, 1, 24)
	if chance(t, "callidhost", 50) {
		g.callID += "@" + strOf(t, "callidhost", wordChars, 1, 12)
	}
	add(sip.HeaderCallID, fieldName(t, sip.HeaderCallID), g.callID)
	g.cseq.Seq = uint32(pick(t, "cseq", 0, 1, 4711, 1<<31-1, intIn(t, "anycseq", 0, 1<<31-1)))
	g.cseq.Method = g.method
	if !g.request {
		g.cseq.Method = pick(t, "cseqmethod", requestMethods...)
	}
	cseqText := strconv.FormatUint(uint64(g.cseq.Seq), 10)
	if chance(t, "cseqzeros", 5) {
		cseqText = "00" + cseqText
	}
	cseqText += s.lws(t) + g.cseq.Method
	add(sip.HeaderCSeq, fieldName(t, sip.HeaderCSeq), cseqText)
	if g.request || chance(t, "respmf", 10) {
		g.maxFwd = intIn(t, "maxfwd", 0, 255)
		mf := strconv.Itoa(g.maxFwd)
		if chance(t, "mfzeros", 5) {
			mf = "0" + mf
		}
		add(sip.HeaderMaxForwards, fieldName(t, sip.HeaderMaxForwards), mf)
		if chance(t, "dupmf", 10) {
			add(sip.HeaderMaxForwards, fieldName(t, sip.HeaderMaxForwards), mf)
		}
	}
	if chance(t, "dupcallid", 5) {
		add(sip.HeaderCallID, fieldName(t, sip.HeaderCallID), g.callID)
	}

	// Contact: a list, or "*".
	if chance(t, "hasContact", 70) {
		if g.request && g.method == "REGISTER" && chance(t, "wildcard", 20) {
			add(sip.HeaderContact, fieldName(t, sip.HeaderContact), "*")
			add(sip.HeaderExpires, fieldName(t, sip.HeaderExpires), "0")
			g.contacts = append(g.contacts, sip.Addr{Wildcard: true})
		} else {
			nf := intIn(t, "ncontactfields", 1, 2)
			for i := 0; i < nf; i++ {
				n := intIn(t, "ncontacts", 1, 3)
				var line strings.Builder
				for j := 0; j < n; j++ {
					if j > 0 {
						line.WriteString(s.sws(t))
						line.WriteByte(',')
						line.WriteString(s.sws(t))
					}
					txt, a := drawAddr(t, s, formAny, []string{"expires", "q", "+sip.instance", "reg-id", "methods", "+sip.ice", "received", "x-host", "x-q"}, 3, uriOpts{schemes: []string{"sip", "sips", "tel", "other"}})
					line.WriteString(txt)
					g.contacts = append(g.contacts, a)
				}
				add(sip.HeaderContact, fieldName(t, sip.HeaderContact), line.String())
			}
		}
	}

	// Route, Record-Route, Path: name-addr lists.
	routeList := func(h sip.Header, dst *[]sip.Addr, pct int) {
		if !chance(t, "hasRoute"+h.String(), pct) {
			return
		}
		nf := intIn(t, "nroutefields", 1, 2)
		for i := 0; i < nf; i++ {
			n := intIn(t, "nroutes", 1, 3)
			var line strings.Builder
			for j := 0; j < n; j++ {
				if j > 0 {
					line.WriteString(s.sws(t))
					line.WriteByte(',')
					line.WriteString(s.sws(t))
				}
				txt, a := drawAddr(t, s, formNameAddr, []string{"x-rr", "ftag"}, 1, uriOpts{schemes: []string{"sip", "sips"}, noHeaders: true})
				line.WriteString(txt)
				*dst = append(*dst, a)
			}
			add(h, fieldName(t, h), line.String())
		}
	}
	routeList(sip.HeaderRoute, &g.routes, 40)
	routeList(sip.HeaderRecordRoute, &g.rroutes, 30)
	if g.request && g.method == "REGISTER" || !g.request {
		routeList(sip.HeaderPath, &g.paths, 30)
	}

	// Option tags and other token lists.
	tokenList := func(h sip.Header, pool []string, pct int, allowEmpty bool) {
		if !chance(t, "has"+h.String(), pct) {
			return
		}
		n := intIn(t, "ntokens", 0, 4)
		if n == 0 && !allowEmpty {
			n = 1
		}
		var line strings.Builder
		for i := 0; i < n; i++ {
			if i > 0 {
				line.WriteString(s.sws(t))
				line.WriteByte(',')
				line.WriteString(s.sws(t))
			}
			tok := pick(t, "tok", pool...)
			line.WriteString(tok)
			g.tokens[h] = append(g.tokens[h], tok)
		}
		add(h, fieldName(t, h), line.String())
	}
	optionTags := []string{"100rel", "timer", "path", "outbound", "gruu", "replaces", "norefersub", "x-" + strOf(t, "opttag", tokenChars, 1, 6)}
	tokenList(sip.HeaderSupported, optionTags, 40, true)
	tokenList(sip.HeaderRequire, optionTags, 15, false)
	tokenList(sip.HeaderProxyRequire, optionTags, 10, false)
	tokenList(sip.HeaderUnsupported, optionTags, 5, false)
	tokenList(sip.HeaderAllow, requestMethods, 30, false)
	tokenList(sip.HeaderAllowEvents, []string{"presence", "dialog", "message-summary", "reg", "refer"}, 10, false)

	// Numbers.
	if _, dup := findGroup(fields, sip.HeaderExpires); !dup && chance(t, "hasExpires", 15) {
		add(sip.HeaderExpires, fieldName(t, sip.HeaderExpires), strconv.FormatUint(uint64(rapid.Uint32().Draw(t, "expires")), 10))
	}
	if chance(t, "hasMinExpires", 5) {
		add(sip.HeaderMinExpires, fieldName(t, sip.HeaderMinExpires), strconv.Itoa(intIn(t, "minexp", 0, 3600)))
	}
	if chance(t, "hasFlowTimer", 5) {
		add(sip.HeaderFlowTimer, fieldName(t, sip.HeaderFlowTimer), strconv.Itoa(intIn(t, "flowtimer", 0, 300)))
	}

	// Authentication.
	authHeader := func(h sip.Header, names []string) {
		if !chance(t, "has"+h.String(), 10) {
			return
		}
		params := map[string]string{}
		var line strings.Builder
		line.WriteString(pick(t, "authscheme", "Digest", "digest", "DIGEST"))
		line.WriteString(s.lws(t))
		for i, n := range names {
			var raw, val string
			switch n {
			case "algorithm":
				raw = pick(t, "alg", "MD5", "SHA-256", "MD5-sess")
				val = raw
			case "nc":
				raw = fmt.Sprintf("%08x", intIn(t, "nc", 1, 1000))
				val = raw
			case "stale":
				raw = pick(t, "stale", "FALSE", "true")
				val = raw
			case "qop":
				if h == sip.HeaderAuthorization || h == sip.HeaderProxyAuthorization {
					raw = "auth"
				} else {
					raw = `"auth,auth-int"`
				}
				val = strings.Trim(raw, `"`)
			case "uri":
				u := drawURI(t, uriOpts{schemes: []string{"sip", "sips"}, noHeaders: true})
				raw, val = `"`+u.text+`"`, u.text
			default:
				raw, val = drawQuoted(t, style{})
			}
			if i > 0 {
				line.WriteString(s.sws(t))
				line.WriteByte(',')
				line.WriteString(s.sws(t))
			}
			line.WriteString(randCase(t, "authpcase", n))
			line.WriteString(s.sws(t))
			line.WriteByte('=')
			line.WriteString(s.sws(t))
			line.WriteString(raw)
			params[n] = val
		}
		g.auths[h] = append(g.auths[h], params)
		add(h, fieldName(t, h), line.String())
	}
	challenge := []string{"realm", "nonce", "opaque", "algorithm", "qop", "stale"}
	creds := []string{"username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "qop", "nc"}
	authHeader(sip.HeaderWWWAuthenticate, challenge)
	authHeader(sip.HeaderProxyAuthenticate, challenge)
	authHeader(sip.HeaderAuthorization, creds)
	authHeader(sip.HeaderProxyAuthorization, creds)

	// Other known headers kept as text, and unknown extension headers.
	if chance(t, "hasSubject", 15) {
		add(sip.HeaderSubject, fieldName(t, sip.HeaderSubject), drawText(t, s, 0, 5))
	}
	if chance(t, "hasUA", 30) {
		h := pick(t, "uaheader", sip.HeaderUserAgent, sip.HeaderServer)
		add(h, fieldName(t, h), drawText(t, s, 1, 4))
	}
	if chance(t, "hasEvent", 10) {
		add(sip.HeaderEvent, fieldName(t, sip.HeaderEvent), pick(t, "event", "presence", "dialog;id=1", "refer"))
	}
	if chance(t, "hasReferTo", 10) {
		txt, _ := drawAddr(t, s, formNameAddr, []string{"x-p"}, 1, uriOpts{schemes: []string{"sip"}})
		add(sip.HeaderReferTo, fieldName(t, sip.HeaderReferTo), txt)
	}
	if chance(t, "hasSessionExpires", 10) {
		add(sip.HeaderSessionExpires, fieldName(t, sip.HeaderSessionExpires), strconv.Itoa(intIn(t, "se", 90, 7200))+";refresher=uac")
	}
	if chance(t, "hasAcceptContact", 5) {
		add(sip.HeaderAcceptContact, fieldName(t, sip.HeaderAcceptContact), "*;+sip.audio;explicit")
	}
	nx := intIn(t, "nextension", 0, 4)
	for i := 0; i < nx; i++ {
		name := "X-" + strOf(t, "xname", tokenChars, 1, 12)
		if chance(t, "xlower", 20) {
			name = strings.ToLower(name)
		}
		add(sip.HeaderOther, name, drawText(t, s, 0, 5))
	}

	// Body.
	switch pick(t, "bodykind", "none", "none", "text", "binary", "crlf") {
	case "text":
		g.body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=" + drawText(t, style{}, 1, 3) + "\r\n"
	case "binary":
		g.body = string(rapid.SliceOfN(rapid.Byte(), 1, 200).Draw(t, "binary"))
	case "crlf":
		g.body = "part one\r\n\r\nINVITE sip:x@y SIP/2.0\r\n\r\n" + string(rapid.SliceOfN(rapid.Byte(), 0, 20).Draw(t, "tail"))
	}
	if g.body != "" {
		add(sip.HeaderContentType, fieldName(t, sip.HeaderContentType), pick(t, "ctype", "application/sdp", "text/plain;charset=utf-8", `multipart/mixed;boundary="b 1"`, "application/octet-stream"))
	}
	g.hasCL = chance(t, "hasCL", 75)
	if g.hasCL {
		cl := strconv.Itoa(len(g.body))
		if chance(t, "clzeros", 5) {
			cl = "00" + cl
		}
		add(sip.HeaderContentLength, fieldName(t, sip.HeaderContentLength), cl)
		if chance(t, "dupcl", 5) {
			add(sip.HeaderContentLength, fieldName(t, sip.HeaderContentLength), strconv.Itoa(len(g.body)))
		}
	}

	// Interleave the groups, keeping each header's fields in order.
	for len(fields) > 0 {
		i := 0
		if chance(t, "shuffle", 30) {
			i = intIn(t, "group", 0, len(fields)-1)
		}
		g.fields = append(g.fields, fields[i][0])
		fields[i] = fields[i][1:]
		if len(fields[i]) == 0 {
			fields = append(fields[:i], fields[i+1:]...)
		}
	}

	// Wire form.
	var w bytes.Buffer
	if chance(t, "leadingCRLF", 5) {
		w.WriteString("\r\n")
	}
	w.WriteString(start)
	w.WriteString("\r\n")
	for _, f := range g.fields {
		w.WriteString(f.name)
		if s.odd {
			w.WriteString(pick(t, "beforecolon", "", "", " ", "\t"))
		}
		w.WriteByte(':')
		switch {
		case f.value == "":
			if s.odd {
				w.WriteString(pick(t, "emptyws", "", " "))
			}
		case s.fold && chance(t, "foldaftercolon", 10):
			w.WriteString("\r\n ")
		case s.odd:
			w.WriteString(pick(t, "aftercolon", "", " ", "  ", "\t"))
		default:
			w.WriteByte(' ')
		}
		w.WriteString(f.value)
		if s.odd && f.value != "" && chance(t, "trailingws", 10) {
			w.WriteString(pick(t, "trailing", " ", "\t"))
		}
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.WriteString(g.body)
	if g.hasCL && chance(t, "trailingjunk", 10) {
		// RFC 3261 §18.3: octets past Content-Length in a datagram are
		// discarded.
		w.WriteString("INVITE sip:extra@example.com SIP/2.0\r\n")
	}
	g.wire = w.Bytes()
	return g
}

func findGroup(groups [][]genField, h sip.Header) (int, bool) {
	for i := range groups {
		if groups[i][0].key == h {
			return i, true
		}
	}
	return -1, false
}

// ---------------------------------------------------------------------------
// Mirrors of the exported fields of the package's structs: the package may
// add unexported fields (caches, flags), which the properties must not see.

type uriX struct {
	Scheme, User, Password, Host string
	Port                         int
	Params                       sip.Params
	Headers, Opaque              string
}

func ux(u sip.URI) uriX {
	return uriX{u.Scheme, u.User, u.Password, u.Host, u.Port, u.Params, u.Headers, u.Opaque}
}

type viaX struct {
	Protocol, Version, Transport, Host string
	Port                               int
	Params                             sip.Params
}

func vx(v sip.Via) viaX {
	return viaX{v.Protocol, v.Version, v.Transport, v.Host, v.Port, v.Params}
}

func vxs(vs []sip.Via) []viaX {
	var out []viaX
	for _, v := range vs {
		out = append(out, vx(v))
	}
	return out
}

type addrX struct {
	Display  string
	URI      uriX
	Params   sip.Params
	Wildcard bool
}

func ax(a sip.Addr) addrX { return addrX{a.Display, ux(a.URI), a.Params, a.Wildcard} }

func axs(as []sip.Addr) []addrX {
	var out []addrX
	for _, a := range as {
		out = append(out, ax(a))
	}
	return out
}

type cseqX struct {
	Seq    uint32
	Method string
}

func cx(c sip.CSeq) cseqX { return cseqX{c.Seq, c.Method} }

// ---------------------------------------------------------------------------
// A comparable view of everything the exported API reads from a message.

type addrResult struct {
	Addr addrX
	Err  string
}

type viaResult struct {
	Via viaX
	Err string
}

type fieldView struct {
	Name, Value string
	Key         sip.Header
}

type msgView struct {
	Request             bool
	Method              string
	RequestURI          uriX
	StatusCode          int
	Reason, Version     string
	Fields              []fieldView // without Content-Length
	TopVia              viaX
	From, To            addrX
	FromName, ToName    string
	FromTag, ToTag      string
	CallID              string
	CSeq                cseqX
	MaxForwards         int
	HasMaxForwards      bool
	Expires, MinExpires uint32
	HasExp, HasMinExp   bool
	FlowTimer           uint32
	HasFlowTimer        bool
	ContentType         string
	Vias                []viaResult
	Contacts, Routes    []addrResult
	RecordRoutes, Paths []addrResult
	FirstContact        addrResult
	FirstRoute          addrResult
	Values              map[sip.Header][]string
	Auths               map[sip.Header][]string
	Body                string
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func collectAddrs(seq func(func(sip.Addr, error) bool)) []addrResult {
	var out []addrResult
	n := 0
	for a, err := range seq {
		out = append(out, addrResult{ax(a), errString(err)})
		if n++; n > 1000 {
			break
		}
	}
	return out
}

var listHeaders = []sip.Header{
	sip.HeaderVia, sip.HeaderContact, sip.HeaderRoute, sip.HeaderRecordRoute, sip.HeaderPath,
	sip.HeaderSupported, sip.HeaderRequire, sip.HeaderProxyRequire, sip.HeaderUnsupported,
	sip.HeaderAllow, sip.HeaderAllowEvents, sip.HeaderAcceptContact, sip.HeaderRejectContact,
	sip.HeaderSubject, sip.HeaderUserAgent, sip.HeaderOther,
}

var authHeaders = []sip.Header{sip.HeaderWWWAuthenticate, sip.HeaderProxyAuthenticate, sip.HeaderAuthorization, sip.HeaderProxyAuthorization}

// viewOf reads m through every accessor and iterator. The iterators are
// cut off after 1000 values so that a looping one shows up as a difference
// rather than a hang.
func viewOf(m *sip.Message) msgView {
	v := msgView{
		Request: m.IsRequest(), Method: m.Method, RequestURI: ux(m.RequestURI),
		StatusCode: m.StatusCode, Reason: m.Reason, Version: m.Version,
		TopVia: vx(m.TopVia()), From: ax(m.From()), To: ax(m.To()), CallID: m.CallID(), CSeq: cx(m.CSeq()),
		ContentType: m.ContentType(), Body: m.Body,
		Values: map[sip.Header][]string{}, Auths: map[sip.Header][]string{},
	}
	from, to := m.From(), m.To()
	v.FromName, v.ToName = from.DisplayName(), to.DisplayName()
	v.FromTag, v.ToTag = m.FromTag(), m.ToTag()
	v.MaxForwards, v.HasMaxForwards = m.MaxForwards()
	v.Expires, v.HasExp = m.Expires()
	v.MinExpires, v.HasMinExp = m.MinExpires()
	v.FlowTimer, v.HasFlowTimer = m.FlowTimer()
	for _, f := range m.Fields() {
		if f.Key == sip.HeaderContentLength {
			continue
		}
		v.Fields = append(v.Fields, fieldView{f.Name, f.Value, f.Key})
	}
	n := 0
	for via, err := range m.Vias() {
		v.Vias = append(v.Vias, viaResult{vx(via), errString(err)})
		if n++; n > 1000 {
			break
		}
	}
	v.Contacts = collectAddrs(m.Contacts())
	v.Routes = collectAddrs(m.Routes())
	v.RecordRoutes = collectAddrs(m.RecordRoutes())
	v.Paths = collectAddrs(m.Paths())
	a, ok, err := m.FirstAddr(sip.HeaderContact)
	v.FirstContact = addrResult{ax(a), fmt.Sprint(ok, errString(err))}
	a, ok, err = m.FirstAddr(sip.HeaderRoute)
	v.FirstRoute = addrResult{ax(a), fmt.Sprint(ok, errString(err))}
	for _, h := range listHeaders {
		n := 0
		for s, err := range m.Values(h) {
			v.Values[h] = append(v.Values[h], s+"|"+errString(err))
			if n++; n > 1000 {
				break
			}
		}
	}
	for _, h := range authHeaders {
		for au, err := range m.Auths(h) {
			realm, _ := au.Param("realm")
			v.Auths[h] = append(v.Auths[h], fmt.Sprintf("%s|%s|%s|%v|%s", au.Scheme, au.Params, realm, au.IsDigest(), errString(err)))
		}
	}
	return v
}

// diffViews returns "" when a and b read the same, or what differs.
func diffViews(a, b msgView) string {
	if reflect.DeepEqual(a, b) {
		return ""
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out strings.Builder
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			fmt.Fprintf(&out, "%s:\n  %#v\n  %#v\n", va.Type().Field(i).Name, va.Field(i).Interface(), vb.Field(i).Interface())
		}
	}
	return out.String()
}

// checkContentLength checks that the serialized form of m carries exactly
// one Content-Length, equal to len(Body).
func checkSerializedCL(t interface{ Fatalf(string, ...any) }, m2 *sip.Message) {
	n := 0
	for _, f := range m2.Fields() {
		if f.Key == sip.HeaderContentLength {
			n++
			if n, err := strconv.Atoi(f.Value); err != nil || n != len(m2.Body) {
				t.Fatalf("serialized Content-Length %q, body is %d bytes", f.Value, len(m2.Body))
			}
		}
	}
	if n != 1 {
		t.Fatalf("serialized message has %d Content-Length fields, want 1", n)
	}
	if cl, ok := m2.ContentLength(); !ok || cl != len(m2.Body) {
		t.Fatalf("serialized ContentLength() = %d, %v; body is %d bytes", cl, ok, len(m2.Body))
	}
}

// ---------------------------------------------------------------------------
// Model checks: the parser reads what the generator wrote.

func checkAgainstModel(t *rapid.T, g *genMessage, m *sip.Message) {
	if m.IsRequest() != g.request {
		t.Fatalf("IsRequest = %v, want %v", m.IsRequest(), g.request)
	}
	if g.request {
		if m.Method != g.method {
			t.Fatalf("Method = %q, want %q", m.Method, g.method)
		}
		if ux(m.RequestURI) != ux(g.ruri) {
			t.Fatalf("RequestURI = %#v\nwant %#v", m.RequestURI, g.ruri)
		}
	} else if m.StatusCode != g.status || m.Reason != g.reason {
		t.Fatalf("status = %d %q, want %d %q", m.StatusCode, m.Reason, g.status, g.reason)
	}
	fs := m.Fields()
	if len(fs) != len(g.fields) {
		t.Fatalf("%d fields, want %d", len(fs), len(g.fields))
	}
	for i, f := range fs {
		w := g.fields[i]
		if f.Name != w.name || f.Value != w.want || f.Key != w.key {
			t.Fatalf("field %d = %q %q %v, want %q %q %v", i, f.Name, f.Value, f.Key, w.name, w.want, w.key)
		}
	}
	if m.CallID() != g.callID {
		t.Fatalf("CallID = %q, want %q", m.CallID(), g.callID)
	}
	if cx(m.CSeq()) != cx(g.cseq) {
		t.Fatalf("CSeq = %+v, want %+v", m.CSeq(), g.cseq)
	}
	if mf, ok := m.MaxForwards(); ok != (g.maxFwd >= 0) || ok && mf != g.maxFwd {
		t.Fatalf("MaxForwards = %d %v, want %d", mf, ok, g.maxFwd)
	}
	if vx(m.TopVia()) != vx(g.vias[0]) {
		t.Fatalf("TopVia = %#v\nwant %#v", m.TopVia(), g.vias[0])
	}
	var vias []sip.Via
	for v, err := range m.Vias() {
		if err != nil {
			t.Fatalf("Vias: %v", err)
		}
		vias = append(vias, v)
	}
	if !reflect.DeepEqual(vxs(vias), vxs(g.vias)) {
		t.Fatalf("Vias = %#v\nwant %#v", vias, g.vias)
	}
	if ax(m.From()) != ax(g.from) {
		t.Fatalf("From = %#v\nwant %#v", m.From(), g.from)
	}
	if m.FromTag() != g.from.Tag() || m.ToTag() != g.to.Tag() {
		t.Fatalf("FromTag, ToTag = %q, %q; want %q, %q", m.FromTag(), m.ToTag(), g.from.Tag(), g.to.Tag())
	}
	if ax(m.To()) != ax(g.to) {
		t.Fatalf("To = %#v\nwant %#v", m.To(), g.to)
	}
	addrs := func(name string, seq func(func(sip.Addr, error) bool), want []sip.Addr) {
		var got []sip.Addr
		for a, err := range seq {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got = append(got, a)
		}
		if !reflect.DeepEqual(axs(got), axs(want)) {
			t.Fatalf("%s = %#v\nwant %#v", name, got, want)
		}
	}
	addrs("Contacts", m.Contacts(), g.contacts)
	addrs("Routes", m.Routes(), g.routes)
	addrs("RecordRoutes", m.RecordRoutes(), g.rroutes)
	addrs("Paths", m.Paths(), g.paths)
	for h, toks := range g.tokens {
		var got []string
		for v, err := range m.Values(h) {
			if err != nil {
				t.Fatalf("Values(%v): %v", h, err)
			}
			got = append(got, v)
		}
		if !reflect.DeepEqual(got, toks) {
			t.Fatalf("Values(%v) = %q, want %q", h, got, toks)
		}
		for _, tok := range toks {
			if !m.HasToken(h, strings.ToUpper(tok)) {
				t.Fatalf("HasToken(%v, %q) = false", h, tok)
			}
		}
	}
	if m.HasToken(sip.HeaderSupported, "no-such-tag") {
		t.Fatalf("HasToken(Supported, no-such-tag) = true")
	}
	for h, want := range g.auths {
		i := 0
		for a, err := range m.Auths(h) {
			if err != nil {
				t.Fatalf("Auths(%v): %v", h, err)
			}
			if !a.IsDigest() {
				t.Fatalf("Auths(%v) scheme %q", h, a.Scheme)
			}
			for name, val := range want[i] {
				if got, ok := a.Param(strings.ToUpper(name)); !ok || got != val {
					t.Fatalf("Auths(%v).Param(%q) = %q %v, want %q", h, name, got, ok, val)
				}
			}
			i++
		}
		if i != len(want) {
			t.Fatalf("Auths(%v) yielded %d, want %d", h, i, len(want))
		}
	}
	if m.Body != g.body {
		t.Fatalf("Body = %q, want %q", m.Body, g.body)
	}
	if cl, ok := m.ContentLength(); ok != g.hasCL || ok && cl != len(g.body) {
		t.Fatalf("ContentLength = %d %v, want %v", cl, ok, g.hasCL)
	}
}

// ---------------------------------------------------------------------------
// Properties.

// TestPropertyRoundTrip: a generated message parses to what it says;
// parse(serialize(m)) reads the same as m; serialize is idempotent after one
// round; Parse, ParseOwned and a Parser with zero Limits agree.
func TestPropertyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := drawMessage(t)
		m1, err := sip.Parse(g.wire)
		if err != nil {
			t.Fatalf("Parse(%q): %v", g.wire, err)
		}
		checkAgainstModel(t, g, m1)

		owned := append([]byte(nil), g.wire...)
		mo, err := sip.NewParser(sip.Limits{}).ParseOwned(owned)
		if err != nil {
			t.Fatalf("ParseOwned: %v", err)
		}
		if d := diffViews(viewOf(m1), viewOf(mo)); d != "" {
			t.Fatalf("ParseOwned differs from Parse:\n%s", d)
		}

		s1 := m1.AppendTo(nil)
		if !bytes.Equal(s1, []byte(m1.String())) {
			t.Fatalf("String() differs from AppendTo")
		}
		// AppendTo appends: a prefix is kept.
		if pre := m1.AppendTo([]byte("prefix")); !bytes.Equal(pre, append([]byte("prefix"), s1...)) {
			t.Fatalf("AppendTo(prefix) does not append")
		}
		m2, err := sip.Parse(s1)
		if err != nil {
			t.Fatalf("re-Parse of serialized message: %v\n%q\nfrom %q", err, s1, g.wire)
		}
		if d := diffViews(viewOf(m1), viewOf(m2)); d != "" {
			t.Fatalf("parse(serialize(m)) != m:\n%s\nwire %q\nserialized %q", d, g.wire, s1)
		}
		checkSerializedCL(t, m2)
		s2 := m2.AppendTo(nil)
		if !bytes.Equal(s1, s2) {
			t.Fatalf("AppendTo not idempotent:\n%q\n%q", s1, s2)
		}
		// Serializing does not change the message.
		if s3 := m1.AppendTo(nil); !bytes.Equal(s1, s3) {
			t.Fatalf("second AppendTo of the same message differs")
		}
	})
}

// streamInput is one stream: messages with keep-alives between them.
type streamInput struct {
	data  []byte
	msgs  [][]byte // each message's bytes, datagram-parsed for reference
	crlfs int      // CRLF pairs sent as keep-alives
}

// feedStream writes data in chunks of the given sizes (cycled), draining
// Next after every write, and returns what came out.
func feedStream(t *rapid.T, p *sip.StreamParser, data []byte, sizes []int) (msgs []*sip.Message, pings, pongs int) {
	for i, off := 0, 0; off < len(data); i++ {
		n := sizes[i%len(sizes)]
		if n > len(data)-off {
			n = len(data) - off
		}
		if _, err := p.Write(data[off : off+n]); err != nil {
			t.Fatalf("Write at %d: %v", off, err)
		}
		if p.Buffered() > sip.DefaultMaxMessageSize+4 {
			t.Fatalf("Buffered() = %d", p.Buffered())
		}
		off += n
		for guard := 0; ; guard++ {
			if guard > len(data)+10 {
				t.Fatalf("Next does not make progress")
			}
			m, ka, err := p.Next()
			if err == sip.ErrIncomplete {
				break
			}
			if err != nil {
				t.Fatalf("Next after %d bytes: %v", off, err)
			}
			switch {
			case m != nil:
				msgs = append(msgs, m)
			case ka == sip.Ping:
				pings++
			case ka == sip.Pong:
				pongs++
			default:
				t.Fatalf("Next returned nothing and no error")
			}
		}
	}
	return msgs, pings, pongs
}

func drawChunkSizes(t *rapid.T) []int {
	switch pick(t, "chunking", "bytes", "small", "mixed", "whole") {
	case "bytes":
		return []int{1}
	case "small":
		return rapid.SliceOfN(rapid.IntRange(1, 16), 1, 8).Draw(t, "sizes")
	case "whole":
		return []int{1 << 20}
	}
	return rapid.SliceOfN(rapid.IntRange(1, 3000), 1, 8).Draw(t, "sizes")
}

func drawKeepAlives(t *rapid.T) (string, int) {
	var b strings.Builder
	crlfs := 0
	for n := intIn(t, "nka", 0, 3); n > 0; n-- {
		if rapid.Bool().Draw(t, "ping") {
			b.WriteString("\r\n\r\n")
			crlfs += 2
		} else {
			b.WriteString("\r\n")
			crlfs++
		}
	}
	return b.String(), crlfs
}

// TestPropertyStream: the StreamParser fed serialized messages in random
// chunks, with keep-alives between them, yields the datagram parse of each
// message and every keep-alive.
func TestPropertyStream(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var in streamInput
		var buf bytes.Buffer
		n := intIn(t, "nmsgs", 1, 4)
		for i := 0; i < n; i++ {
			if i > 0 || chance(t, "leadingKA", 20) {
				ka, c := drawKeepAlives(t)
				buf.WriteString(ka)
				in.crlfs += c
			}
			g := drawMessage(t)
			m, err := sip.Parse(g.wire)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			s := m.AppendTo(nil)
			in.msgs = append(in.msgs, s)
			buf.Write(s)
		}
		if chance(t, "trailingPing", 20) {
			buf.WriteString("\r\n\r\n")
			in.crlfs += 2
		}
		in.data = buf.Bytes()

		p := sip.NewStreamParser(sip.Limits{})
		msgs, pings, pongs := feedStream(t, p, in.data, drawChunkSizes(t))
		if len(msgs) != len(in.msgs) {
			t.Fatalf("stream gave %d messages, want %d\n%q", len(msgs), len(in.msgs), in.data)
		}
		for i, m := range msgs {
			want, err := sip.Parse(in.msgs[i])
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := diffViews(viewOf(want), viewOf(m)); d != "" {
				t.Fatalf("stream message %d differs from datagram parse:\n%s", i, d)
			}
			if !bytes.Equal(m.AppendTo(nil), in.msgs[i]) {
				t.Fatalf("stream message %d serializes differently", i)
			}
		}
		if 2*pings+pongs != in.crlfs {
			t.Fatalf("keep-alives: %d pings, %d pongs; sent %d CRLFs", pings, pongs, in.crlfs)
		}
		if p.Buffered() != 0 {
			t.Fatalf("%d bytes left buffered", p.Buffered())
		}
	})
}

// TestPropertyStreamRaw: generated messages that carry a correct
// Content-Length, fed to the StreamParser as generated (folding, compact
// forms, odd spacing and all), read the same as their datagram parse.
func TestPropertyStreamRaw(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := drawMessage(t)
		if !g.hasCL || !bytes.HasSuffix(g.wire, []byte(g.body)) || bytes.HasPrefix(g.wire, []byte("\r\n")) {
			t.Skip("needs an exact Content-Length")
		}
		want, err := sip.Parse(g.wire)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		p := sip.NewStreamParser(sip.Limits{})
		msgs, _, _ := feedStream(t, p, g.wire, drawChunkSizes(t))
		if len(msgs) != 1 {
			t.Fatalf("stream gave %d messages\n%q", len(msgs), g.wire)
		}
		if d := diffViews(viewOf(want), viewOf(msgs[0])); d != "" {
			t.Fatalf("stream differs from datagram parse:\n%s", d)
		}
	})
}

// ---------------------------------------------------------------------------
// Edits.

// splitList splits a header value at its first top-level comma (outside
// quoted strings and angle brackets), as RFC 3261 §7.3.1 lists are split.
func splitList(v string) (first, rest string) {
	inQuote, inAngle := false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"' && !inAngle:
			inQuote = !inQuote
		case inQuote:
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case c == ',' && !inAngle:
			return strings.Trim(v[:i], " \t"), strings.Trim(v[i+1:], " \t")
		}
	}
	return strings.Trim(v, " \t"), ""
}

type modelLine struct {
	text        string // exact expected bytes; "" with wild set
	wild        string // prefix the line must have when its bytes are not known
	key         sip.Header
	name        string
	value       string
	syntheticCL bool
}

func headerLines(b []byte) ([]string, []byte) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	lines := strings.Split(string(b[:end]), "\r\n")
	return lines[1:], b[end+4:]
}

// TestPropertyEdits: the proxy edits change only the header fields they
// are about; every other line keeps its bytes, and the result re-parses
// with the typed view the edits promise.
func TestPropertyEdits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := drawMessage(t)
		m, err := sip.Parse(g.wire)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		before := m.AppendTo(nil)
		lines, body := headerLines(before)
		var model []modelLine
		for _, l := range lines {
			name, value, _ := strings.Cut(l, ":")
			name = strings.TrimRight(name, " \t")
			model = append(model, modelLine{text: l, key: sip.HeaderOf(name), name: name, value: strings.Trim(value, " \t")})
		}
		if _, ok := m.ContentLength(); !ok {
			model[len(model)-1].syntheticCL = true
		}
		firstOf := func(h sip.Header) int {
			for i, l := range model {
				if l.key == h && !l.syntheticCL {
					return i
				}
			}
			return -1
		}
		insert := func(i int, l modelLine) {
			model = append(model[:i], append([]modelLine{l}, model[i:]...)...)
		}
		appendField := func(l modelLine) {
			if n := len(model); n > 0 && model[n-1].syntheticCL {
				insert(n-1, l)
				return
			}
			model = append(model, l)
		}

		// Typed expectations, checked after the edits.
		wantTop := m.TopVia()
		var receivedWant string
		var rportWant int
		mf, hasMF := m.MaxForwards()
		routes := collectAddrs(m.Routes())
		var rrFirst string
		viaCount := len(g.vias)
		var ops []string

		for n := intIn(t, "nedits", 1, 5); n > 0; n-- {
			op := pick(t, "edit", "PrependVia", "SetTopViaReceived", "DecrementMaxForwards", "RemoveFirstRoute", "PrependRecordRoute", "RemoveTopVia")
			ops = append(ops, op)
			switch op {
			case "PrependVia":
				v := sip.Via{Transport: pick(t, "ptransport", "UDP", "TCP", "WSS"), Host: drawHost(t), Params: sip.Params(";branch=z9hG4bK" + strOf(t, "pbranch", tokenChars, 1, 12))}
				if rapid.Bool().Draw(t, "pport") {
					v.Port = intIn(t, "pportv", 1, 65535)
				}
				m.PrependVia(v)
				insert(0, modelLine{text: "Via: " + v.String(), key: sip.HeaderVia, name: "Via", value: v.String()})
				wantTop, receivedWant, rportWant = v, "", 0
				viaCount++
			case "SetTopViaReceived":
				host := ""
				switch pick(t, "rhost", "", "v4", "v6") {
				case "v4":
					host = drawIPv4(t)
				case "v6":
					host = drawIPv6(t)
				}
				port := 0
				if host == "" || rapid.Bool().Draw(t, "rport") {
					port = intIn(t, "rportv", 1, 65535)
				}
				m.SetTopViaReceived(host, port)
				i := firstOf(sip.HeaderVia)
				l := model[i]
				if _, rest := splitList(l.value); rest != "" {
					model[i] = modelLine{text: l.name + ": " + rest, key: sip.HeaderVia, name: l.name, value: rest}
					insert(i, modelLine{wild: "Via: ", key: sip.HeaderVia, name: "Via"})
				} else {
					model[i] = modelLine{wild: l.name + ": ", key: sip.HeaderVia, name: l.name}
				}
				if host != "" {
					receivedWant = host
				}
				if port != 0 {
					rportWant = port
				}
			case "DecrementMaxForwards":
				got := m.DecrementMaxForwards()
				want := 70
				if hasMF {
					want = max(mf-1, 0)
				}
				if got != want {
					t.Fatalf("DecrementMaxForwards() = %d, want %d", got, want)
				}
				if i := firstOf(sip.HeaderMaxForwards); i >= 0 {
					// Identical copies of Max-Forwards change together.
					for j := range model {
						if model[j].key == sip.HeaderMaxForwards {
							model[j].text = model[j].name + ": " + strconv.Itoa(want)
							model[j].value = strconv.Itoa(want)
						}
					}
				} else {
					appendField(modelLine{text: "Max-Forwards: 70", key: sip.HeaderMaxForwards, name: "Max-Forwards", value: "70"})
				}
				mf, hasMF = want, true
			case "RemoveFirstRoute":
				v, ok := m.RemoveFirst(sip.HeaderRoute)
				i := firstOf(sip.HeaderRoute)
				if ok != (i >= 0) {
					t.Fatalf("RemoveFirst(Route) = %v, model has route at %d", ok, i)
				}
				if i < 0 {
					break
				}
				l := model[i]
				first, rest := splitList(l.value)
				if v != first && v != l.value {
					t.Fatalf("RemoveFirst(Route) = %q, want %q", v, first)
				}
				if rest == "" {
					model = append(model[:i], model[i+1:]...)
				} else {
					model[i] = modelLine{text: l.name + ": " + rest, key: sip.HeaderRoute, name: l.name, value: rest}
				}
				routes = routes[1:]
			case "PrependRecordRoute":
				rr := "<sip:" + drawHost(t) + ";lr>"
				if err := m.Prepend(sip.HeaderRecordRoute, rr); err != nil {
					t.Fatalf("Prepend(Record-Route, %q): %v", rr, err)
				}
				l := modelLine{text: "Record-Route: " + rr, key: sip.HeaderRecordRoute, name: "Record-Route", value: rr}
				if i := firstOf(sip.HeaderRecordRoute); i >= 0 {
					insert(i, l)
				} else {
					appendField(l)
				}
				rrFirst = rr
			case "RemoveTopVia":
				if viaCount < 2 {
					break
				}
				m.RemoveTopVia()
				i := firstOf(sip.HeaderVia)
				l := model[i]
				_, rest := splitList(l.value)
				if rest == "" {
					model = append(model[:i], model[i+1:]...)
				} else {
					model[i] = modelLine{text: l.name + ": " + rest, key: sip.HeaderVia, name: l.name, value: rest}
				}
				viaCount--
				var vs []sip.Via
				for v, err := range m.Vias() {
					if err != nil {
						t.Fatalf("Vias after RemoveTopVia: %v", err)
					}
					vs = append(vs, v)
				}
				if len(vs) == 0 {
					t.Fatalf("no Via left")
				}
				wantTop, receivedWant, rportWant = vs[0], "", 0
			}
		}

		after := m.AppendTo(nil)
		gotLines, gotBody := headerLines(after)
		if !bytes.Equal(gotBody, body) {
			t.Fatalf("body changed by %v", ops)
		}
		if len(gotLines) != len(model) {
			t.Fatalf("after %v: %d header lines, model has %d\nbefore:\n%s\nafter:\n%s", ops, len(gotLines), len(model), before, after)
		}
		for i, l := range model {
			if l.wild != "" {
				if !strings.HasPrefix(gotLines[i], l.wild) {
					t.Fatalf("after %v: line %d = %q, want prefix %q", ops, i, gotLines[i], l.wild)
				}
				continue
			}
			if gotLines[i] != l.text {
				t.Fatalf("after %v: line %d = %q, want %q\nbefore:\n%s\nafter:\n%s", ops, i, gotLines[i], l.text, before, after)
			}
		}

		m2, err := sip.Parse(after)
		if err != nil {
			t.Fatalf("after %v: re-Parse: %v\n%s", ops, err, after)
		}
		if d := diffViews(viewOf(m), viewOf(m2)); d != "" {
			t.Fatalf("after %v: edited message and its re-parse differ:\n%s", ops, d)
		}
		top := m2.TopVia()
		if top.Transport != wantTop.Transport || top.Host != wantTop.Host || top.Port != wantTop.Port || top.Branch() != wantTop.Branch() {
			t.Fatalf("after %v: TopVia = %#v, want %#v", ops, top, wantTop)
		}
		if receivedWant != "" && top.Received() != receivedWant {
			t.Fatalf("after %v: received = %q, want %q (%q)", ops, top.Received(), receivedWant, top.Params)
		}
		if rportWant != 0 {
			if p, ok := top.RPort(); !ok || p != rportWant {
				t.Fatalf("after %v: rport = %d %v, want %d (%q)", ops, p, ok, rportWant, top.Params)
			}
		}
		if got, ok := m2.MaxForwards(); ok != hasMF || got != mf && hasMF {
			t.Fatalf("after %v: Max-Forwards %d %v, want %d %v", ops, got, ok, mf, hasMF)
		}
		if got := collectAddrs(m2.Routes()); !reflect.DeepEqual(got, routes) && len(got)+len(routes) > 0 {
			t.Fatalf("after %v: routes %#v\nwant %#v", ops, got, routes)
		}
		if rrFirst != "" {
			a, ok, err := m2.FirstAddr(sip.HeaderRecordRoute)
			if !ok || err != nil || "<"+a.URI.String()+">" != rrFirst {
				t.Fatalf("after %v: first Record-Route %v %v %v, want %s", ops, a, ok, err, rrFirst)
			}
		}
		if !bytes.Equal(m2.AppendTo(nil), after) {
			t.Fatalf("after %v: AppendTo of the re-parse differs", ops)
		}
	})
}

// ---------------------------------------------------------------------------
// URIs.

// TestPropertyURIRoundTrip: a generated URI parses to its parts;
// ParseURI(u.String()) equals u field by field; Equal holds both ways.
func TestPropertyURIRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := drawURI(t, uriOpts{schemes: []string{"sip", "sips", "tel", "other"}})
		u, err := sip.ParseURI(g.text)
		if err != nil {
			t.Fatalf("ParseURI(%q): %v", g.text, err)
		}
		if ux(u) != ux(g.want) {
			t.Fatalf("ParseURI(%q) = %#v\nwant %#v", g.text, u, g.want)
		}
		s := u.String()
		if string(u.AppendTo([]byte("x"))) != "x"+s {
			t.Fatalf("AppendTo does not append")
		}
		u2, err := sip.ParseURI(s)
		if err != nil {
			t.Fatalf("ParseURI(String() = %q): %v", s, err)
		}
		if ux(u2) != ux(u) {
			t.Fatalf("ParseURI(%q) = %#v\nwant %#v", s, u2, u)
		}
		if !u.Equal(&u2) || !u2.Equal(&u) || !u.Equal(&u) {
			t.Fatalf("Equal(%q, %q) is false", g.text, s)
		}
		if u.IsSIP() {
			hp := u.Host
			if u.Port != 0 {
				hp += ":" + strconv.Itoa(u.Port)
			}
			if u.HostPort() != hp {
				t.Fatalf("HostPort() = %q, want %q", u.HostPort(), hp)
			}
		}
	})
}

// flipCase flips the case of letters in s for which pickFlip says so,
// outside %HH escapes; it returns whether it changed a letter.
func flipCase(t *rapid.T, s string) (string, bool) {
	b := []byte(s)
	changed := false
	for i := 0; i < len(b); i++ {
		if b[i] == '%' && i+2 < len(b) {
			i += 2
			continue
		}
		if c := b[i]; (c|0x20) >= 'a' && (c|0x20) <= 'z' && rapid.Bool().Draw(t, "flip") {
			b[i] ^= 0x20
			changed = true
		}
	}
	return string(b), changed
}

// flipParamNames flips the case of the names of p.
func flipParamNames(t *rapid.T, p string) string {
	parts := strings.Split(p, ";")
	for i := 1; i < len(parts); i++ {
		name, value, hasV := strings.Cut(parts[i], "=")
		name, _ = flipCase(t, name)
		parts[i] = name
		if hasV {
			parts[i] += "=" + value
		}
	}
	return strings.Join(parts, ";")
}

// TestPropertyURIEqual: Equal is reflexive and symmetric; changing the case
// of the scheme, the host or parameter names keeps it true, changing the
// case of the user part makes it false; escaping an unreserved character of
// the user part keeps it true (RFC 3261 §19.1.4).
func TestPropertyURIEqual(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := drawURI(t, uriOpts{schemes: []string{"sip", "sips"}, dupParams: true})
		u, err := sip.ParseURI(g.text)
		if err != nil {
			t.Fatalf("ParseURI(%q): %v", g.text, err)
		}
		if !u.Equal(&u) {
			t.Fatalf("Equal not reflexive for %q", g.text)
		}
		// An unrelated URI: the answer does not matter, symmetry does.
		h := drawURI(t, uriOpts{schemes: []string{"sip", "sips"}, dupParams: true})
		w, err := sip.ParseURI(h.text)
		if err != nil {
			t.Fatalf("ParseURI(%q): %v", h.text, err)
		}
		if u.Equal(&w) != w.Equal(&u) {
			t.Fatalf("Equal not symmetric for %q and %q", g.text, h.text)
		}

		v := u
		v.Scheme, _ = flipCase(t, v.Scheme)
		v.Host, _ = flipCase(t, v.Host)
		v.Params = sip.Params(flipParamNames(t, string(v.Params)))
		vs := v.String()
		v2, err := sip.ParseURI(vs)
		if err != nil {
			t.Fatalf("ParseURI(%q): %v", vs, err)
		}
		if !u.Equal(&v2) || !v2.Equal(&u) {
			t.Fatalf("Equal(%q, %q) = false after case change of scheme/host/param names", g.text, vs)
		}

		if u.User != "" {
			x := u
			var changed bool
			x.User, changed = flipCase(t, x.User)
			if changed {
				xs := x.String()
				x2, err := sip.ParseURI(xs)
				if err != nil {
					t.Fatalf("ParseURI(%q): %v", xs, err)
				}
				if u.Equal(&x2) || x2.Equal(&u) {
					t.Fatalf("Equal(%q, %q) = true after case change of the user part", g.text, xs)
				}
			}
			// Escaping an unreserved character gives an equal URI.
			for i := 0; i < len(u.User); i++ {
				c := u.User[i]
				if c == '%' {
					i += 2
					continue
				}
				if strings.IndexByte(alnum+"-_.!~*'()", c) >= 0 && rapid.Bool().Draw(t, "escape") {
					y := u
					y.User = u.User[:i] + fmt.Sprintf("%%%02X", c) + u.User[i+1:]
					y2, err := sip.ParseURI(y.String())
					if err != nil {
						t.Fatalf("ParseURI(%q): %v", y.String(), err)
					}
					if !u.Equal(&y2) || !y2.Equal(&u) {
						t.Fatalf("Equal(%q, %q) = false after escaping %q", g.text, y.String(), c)
					}
					break
				}
			}
		}

		// A different port, or a transport on one side only, is unequal.
		z := u
		z.Port = u.Port%65535 + 1
		if u.Equal(&z) || z.Equal(&u) {
			t.Fatalf("Equal(%q, %q) = true with another port", g.text, z.String())
		}
		if !u.Params.Has("transport") {
			z = u
			z.Params += ";transport=tcp"
			if u.Equal(&z) || z.Equal(&u) {
				t.Fatalf("Equal(%q, %q) = true with transport on one side", g.text, z.String())
			}
		}
	})
}

// TestPropertyAddrViaRoundTrip: ParseAddr and ParseVia read what their
// String methods write.
func TestPropertyAddrViaRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := style{odd: rapid.Bool().Draw(t, "odd")}
		txt, want := drawAddr(t, s, formAny, []string{"tag", "expires", "q", "+sip.instance", "x-host", "x-q"}, 3, uriOpts{schemes: []string{"sip", "sips", "tel", "other"}})
		a, err := sip.ParseAddr(txt)
		if err != nil {
			t.Fatalf("ParseAddr(%q): %v", txt, err)
		}
		if ax(a) != ax(want) {
			t.Fatalf("ParseAddr(%q) = %#v\nwant %#v", txt, a, want)
		}
		a2, err := sip.ParseAddr(a.String())
		if err != nil {
			t.Fatalf("ParseAddr(%q): %v", a.String(), err)
		}
		if ax(a2) != ax(a) {
			t.Fatalf("ParseAddr(%q) = %#v\nwant %#v", a.String(), a2, a)
		}

		vt, vwant := drawVia(t, s, true)
		v, err := sip.ParseVia(vt)
		if err != nil {
			t.Fatalf("ParseVia(%q): %v", vt, err)
		}
		if vx(v) != vx(vwant) {
			t.Fatalf("ParseVia(%q) = %#v\nwant %#v", vt, v, vwant)
		}
		v2, err := sip.ParseVia(v.String())
		if err != nil {
			t.Fatalf("ParseVia(%q): %v", v.String(), err)
		}
		if v2.Transport != v.Transport || v2.Host != v.Host || v2.Port != v.Port || v2.Branch() != v.Branch() ||
			v2.Received() != v.Received() || v2.Maddr() != v.Maddr() {
			t.Fatalf("ParseVia(%q) = %#v\nwant %#v", v.String(), v2, v)
		}
	})
}

// ---------------------------------------------------------------------------
// Regressions: the smallest reproductions of the bugs the properties and
// fuzz targets found, all fixed; each subtest guards against its bug coming
// back.

func TestRegressions(t *testing.T) {
	const base = "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n" +
		"From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n" +
		"Call-ID: kb@example.com\r\n"
	mustParse := func(t *testing.T, s string) *sip.Message {
		t.Helper()
		m, err := sip.Parse([]byte(s))
		if err != nil {
			t.Fatalf("Parse: %v\n%q", err, s)
		}
		return m
	}
	reparse := func(t *testing.T, m *sip.Message) *sip.Message {
		t.Helper()
		out := m.AppendTo(nil)
		m2, err := sip.Parse(out)
		if err != nil {
			t.Fatalf("serialized message does not re-parse: %v\n%s", err, out)
		}
		return m2
	}
	noPanic := func(t *testing.T, what string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s panics: %v", what, r)
			}
		}()
		f()
	}

	t.Run("ParseURI panics on an empty host before a colon", func(t *testing.T) {
		for _, s := range []string{"sip::", "sip:alice@:5060", "sips::5061;lr"} {
			noPanic(t, fmt.Sprintf("ParseURI(%q)", s), func() { sip.ParseURI(s) }) //nolint:errcheck
		}
		msg := "OPTIONS sip::5060 SIP/2.0\r\n" + base + "CSeq: 1 OPTIONS\r\n\r\n"
		noPanic(t, "Parse of a Request-URI sip::5060", func() { sip.Parse([]byte(msg)) }) //nolint:errcheck
	})

	t.Run("StreamParser rescans the whole header block on every write", func(t *testing.T) {
		if testing.Short() {
			t.Skip("timing")
		}
		// 32 KB of short lines that never end the header block, one byte
		// per Write, as a peer sending one-byte TCP segments would.
		data := []byte("OPTIONS sip:b@example.com SIP/2.0\r\n" + strings.Repeat("a\n", 16000))
		p := sip.NewStreamParser(sip.Limits{})
		start := time.Now()
		for i := range data {
			if _, err := p.Write(data[i : i+1]); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if _, _, err := p.Next(); err != sip.ErrIncomplete {
				t.Fatalf("Next: %v", err)
			}
		}
		if d := time.Since(start); d > 400*time.Millisecond {
			t.Errorf("framing %d bytes written one at a time took %v: the work is quadratic in the header size", len(data), d)
		}
	})

	t.Run("400 response to a message with conflicting CSeq does not parse", func(t *testing.T) {
		// RFC 4475 §3.3.8 (multi01): the element answers 400.
		_, err := sip.Parse([]byte("INVITE sip:bob@example.com SIP/2.0\r\n" + base + "CSeq: 1 INVITE\r\nCSeq: 2 INVITE\r\n\r\n"))
		pe, ok := err.(*sip.ParseError)
		if !ok || pe.Msg == nil {
			t.Fatalf("Parse: %v, want a ParseError with Msg", err)
		}
		r := sip.NewResponse(pe.Msg, 400, "")
		if _, err := sip.Parse(r.AppendTo(nil)); err != nil {
			t.Errorf("NewResponse(Msg, 400) does not re-parse: %v\n%s", err, r.AppendTo(nil))
		}
	})

	t.Run("ParseError.Msg set though the top Via is malformed", func(t *testing.T) {
		// RFC 4475 §3.1.2.1 (badinv01).
		msg := "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n" +
			"From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: kb\r\nCSeq: 1 INVITE\r\n\r\n"
		_, err := sip.Parse([]byte(msg))
		pe, ok := err.(*sip.ParseError)
		if !ok {
			t.Fatalf("Parse: %v, want a ParseError", err)
		}
		if pe.Msg != nil {
			r := sip.NewResponse(pe.Msg, 400, "")
			if _, err := sip.Parse(r.AppendTo(nil)); err != nil {
				t.Errorf("Msg is set (TopVia %#v) and its 400 response does not re-parse: %v", pe.Msg.TopVia(), err)
			}
		}
	})

	t.Run("StreamParser refuses a folded Content-Length the datagram parser accepts", func(t *testing.T) {
		msg := "MESSAGE sip:bob@example.com SIP/2.0\r\n" + base + "CSeq: 1 MESSAGE\r\nContent-Length:\r\n 4\r\n\r\nbody"
		mustParse(t, msg)
		p := sip.NewStreamParser(sip.Limits{})
		p.Write([]byte(msg)) //nolint:errcheck
		if m, _, err := p.Next(); err != nil || m == nil || m.Body != "body" {
			t.Errorf("stream: %v", err)
		}
	})

	t.Run("PrependVia keeps the old top Via's port", func(t *testing.T) {
		m := mustParse(t, "OPTIONS sip:bob@example.com SIP/2.0\r\n"+base+"CSeq: 1 OPTIONS\r\n\r\n")
		v := sip.Via{Transport: "UDP", Host: "proxy.example.com", Params: ";branch=z9hG4bK2"}
		m.PrependVia(v)
		if got := m.TopVia(); got.Port != 0 {
			t.Errorf("TopVia after PrependVia(%q) = %q (port %d); the serialized Via has no port", v.String(), got.String(), got.Port)
		}
	})

	t.Run("edits change only the first of duplicate single-valued fields", func(t *testing.T) {
		// The parser accepts repeated Max-Forwards and To fields that agree.
		m := mustParse(t, "OPTIONS sip:bob@example.com SIP/2.0\r\n"+base+"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nMax-Forwards: 70\r\n\r\n")
		m.DecrementMaxForwards()
		if _, err := sip.Parse(m.AppendTo(nil)); err != nil {
			t.Errorf("after DecrementMaxForwards: %v", err)
		}
		m = mustParse(t, "OPTIONS sip:bob@example.com SIP/2.0\r\n"+base+"CSeq: 1 OPTIONS\r\nTo: <sip:bob@example.com>\r\n\r\n")
		m.SetToTag("x")
		if _, err := sip.Parse(m.AppendTo(nil)); err != nil {
			t.Errorf("after SetToTag: %v", err)
		}
	})

	t.Run("URI Equal is not reflexive with a repeated parameter", func(t *testing.T) {
		u, err := sip.ParseURI("sip:example.com;foo=1;foo=2")
		if err != nil {
			t.Fatalf("ParseURI: %v", err)
		}
		if !u.Equal(&u) {
			t.Errorf("%q is not Equal to itself", u.String())
		}
		v, _ := sip.ParseURI("sip:example.com;foo=1")
		if u.Equal(&v) != v.Equal(&u) {
			t.Errorf("Equal(%q, %q) is not symmetric", u.String(), v.String())
		}
	})

	t.Run("SetToTag over a valueless tag parameter", func(t *testing.T) {
		// RFC 3261 §25.1: tag-param = "tag" EQUAL token. The parser
		// accepted ";tag" without a value, which SetToTag then missed; it
		// refuses it now. Should it accept it again, SetToTag must work.
		m, err := sip.Parse([]byte("OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n" +
			"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag\r\nCall-ID: kb\r\nCSeq: 1 OPTIONS\r\n\r\n"))
		if err != nil {
			if _, ok := err.(*sip.ParseError); !ok {
				t.Fatalf("Parse: %T %v, want a *ParseError", err, err)
			}
			return
		}
		t.Errorf("Parse accepts a To tag parameter without a value")
		m.SetToTag("x")
		if m.ToTag() != "x" {
			t.Errorf("after SetToTag(x): ToTag() = %q, To = %q", m.ToTag(), m.To().String())
		}
	})

	t.Run("RemoveTopVia onto an empty Via field", func(t *testing.T) {
		// The parser let an empty Via field pass below the top Via, and
		// RemoveTopVia then left it on top; it refuses it now. Should it
		// accept it again, RemoveTopVia must skip it.
		m, err := sip.Parse([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia:\r\nVia: SIP/2.0/UDP b;branch=z9hG4bK2\r\n" +
			"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: kb\r\nCSeq: 1 OPTIONS\r\n\r\n"))
		if err != nil {
			if _, ok := err.(*sip.ParseError); !ok {
				t.Fatalf("Parse: %T %v, want a *ParseError", err, err)
			}
			return
		}
		t.Errorf("Parse accepts an empty Via field")
		m.RemoveTopVia()
		if m.TopVia().Host != "b" {
			t.Errorf("after RemoveTopVia: TopVia %#v; Vias() yields b next", m.TopVia())
		}
		reparse(t, m)
	})
}
