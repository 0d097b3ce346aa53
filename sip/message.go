package sip

import (
	"iter"
	"strconv"
	"strings"
)

// inlineFields is how many header fields a Message holds without a second
// allocation; a typical WebRTC INVITE has 15 to 20. inlineExt is how many
// changed or added values it holds so: a proxy forwarding a request makes
// about five.
const (
	inlineFields = 18
	inlineExt    = 6
)

// Message is a SIP request (Method != "") or response. Parse and the
// stream parser fill it; the typed accessors read the header fields a
// proxy, registrar and edge need without allocating, and the edit methods
// keep the typed view and the header fields in step.
type Message struct {
	// Method is the request method; "" for a response.
	Method     string
	RequestURI URI
	// StatusCode and Reason are set for a response.
	StatusCode int
	Reason     string
	// Version is the SIP-Version of the start line, "SIP/2.0".
	Version string
	// Body is the message body, cut to Content-Length when the message
	// carried one.
	Body string

	fields []field
	inline [inlineFields]field
	// ext holds the names and values that are not in src: changed, added
	// and unfolded ones (see field).
	ext       []string
	extInline [inlineExt]string
	// present has bit h set when a field with Key h was added (mark); a
	// clear bit lets Get and first skip the walk over the fields (mayHave).
	// Removals leave it set. (Every Header is below 64; shifting by h&63
	// spares the compiler's check for a wider shift.)
	present uint64

	// startLine is the start line as received; "" once it was changed.
	startLine string
	src       string
	lim       *Limits

	// The typed view of the singleton fields and the top Via; -1 marks an
	// absent number.
	via                         Via
	fromVal, toVal              string
	fromTag, toTag              string
	callID                      string
	cseq                        CSeq
	maxForwards, contentLength  int
	expires, minExpires, flowTm int64
}

// mark records that a field with key h was added.
func (m *Message) mark(h Header) { m.present |= 1 << (h & 63) }

// mayHave reports whether a field with key h may be there: false means
// surely not.
func (m *Message) mayHave(h Header) bool { return m.present&(1<<(h&63)) != 0 }

func (m *Message) limits() *Limits {
	if m.lim == nil {
		return &defaultLimits
	}
	return m.lim
}

// IsRequest reports whether m is a request.
func (m *Message) IsRequest() bool { return m.Method != "" }

// Fields returns a copy of the header fields in order; changing it does
// not change m (use the edit methods).
func (m *Message) Fields() []Field {
	fs := make([]Field, len(m.fields))
	for i := range m.fields {
		f := &m.fields[i]
		fs[i] = Field{Name: m.fieldName(f), Value: m.fieldValue(f), Key: f.key}
	}
	return fs
}

// field is how a Message keeps a header field. It holds no pointer, so
// that filling one costs no write barrier and the collector skips them:
// a parsed field is offsets into src, and what is not in src (a changed or
// added value or name, an unfolded value) sits in ext.
type field struct {
	// off is where the line and the name start in src, or the name's index
	// in ext (fNameExt).
	off uint32
	// lineLen is the length of the untouched line src[off:off+lineLen]; 0
	// once the field is to be written as Name ": " Value.
	lineLen uint32
	// valOff and valLen locate the value in src, or valOff is its index in
	// ext (fValueExt).
	valOff, valLen uint32
	nameLen        uint16
	key            Header
	flags          uint8
}

const (
	fNameExt   = 1 << iota // the name is ext[off]
	fNameCanon             // the name is headerNames[key]
	fValueExt              // the value is ext[valOff]
)

func (m *Message) fieldName(f *field) string {
	switch {
	case f.flags&fNameExt != 0:
		return m.ext[f.off]
	case f.flags&fNameCanon != 0:
		return headerNames[f.key]
	}
	return m.src[f.off : f.off+uint32(f.nameLen)]
}

func (m *Message) fieldValue(f *field) string {
	if f.flags&fValueExt != 0 {
		return m.ext[f.valOff]
	}
	return m.src[f.valOff : f.valOff+f.valLen]
}

// fieldIs reports whether f has the given name (any case, compact forms
// matching their full names).
func (m *Message) fieldIs(f *field, name string) bool {
	if f.key != HeaderOther {
		return HeaderOf(name) == f.key
	}
	return strings.EqualFold(m.fieldName(f), name)
}

// setValue gives f the value v, to be written as Name ": " v.
func (m *Message) setValue(f *field, v string) {
	if f.flags&fValueExt != 0 {
		m.ext[f.valOff] = v
	} else {
		f.valOff = uint32(len(m.ext))
		m.ext = append(m.ext, v)
		f.flags |= fValueExt
	}
	f.lineLen = 0
}

// newField returns a field named name holding value, for header key.
func (m *Message) newField(name, value string, key Header) field {
	f := field{key: key, flags: fValueExt, valOff: uint32(len(m.ext))}
	m.ext = append(m.ext, value)
	if key != HeaderOther && name == headerNames[key] {
		f.flags |= fNameCanon
	} else {
		f.off = uint32(len(m.ext))
		f.flags |= fNameExt
		m.ext = append(m.ext, name)
	}
	return f
}

// push appends a zero field and returns it.
func (m *Message) push() *field {
	n := len(m.fields)
	if n < cap(m.fields) {
		m.fields = m.fields[:n+1]
		m.fields[n] = field{}
	} else {
		m.fields = append(m.fields, field{})
	}
	return &m.fields[n]
}

// Get returns the value of the first header field called name (full or
// compact form, any case).
func (m *Message) Get(name string) (string, bool) {
	h := HeaderOf(name)
	if !m.mayHave(h) {
		return "", false
	}
	for i := range m.fields {
		f := &m.fields[i]
		if f.key == h && (h != HeaderOther || strings.EqualFold(m.fieldName(f), name)) {
			return m.fieldValue(f), true
		}
	}
	return "", false
}

// Values yields each value of header h, splitting comma-separated lists
// of the headers that are lists (Via, Contact, Route, Supported...). An
// open quote or bracket ends the sequence with an error.
func (m *Message) Values(h Header) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for i := range m.fields {
			f := &m.fields[i]
			if f.key != h {
				continue
			}
			if !h.multiValue() {
				if !yield(m.fieldValue(f), nil) {
					return
				}
				continue
			}
			rest := m.fieldValue(f)
			for rest != "" {
				first, r, ok := splitFirst(rest)
				if !ok {
					yield("", errBad("unterminated list element in "+h.String()))
					return
				}
				rest = r
				if first == "" {
					continue
				}
				if !yield(first, nil) {
					return
				}
			}
		}
	}
}

// HasToken reports whether the list header h (Supported, Require,
// Proxy-Require, Unsupported, Allow...) holds token t, case-insensitively.
func (m *Message) HasToken(h Header, t string) bool {
	for v, err := range m.Values(h) {
		if err == nil && strings.EqualFold(v, t) {
			return true
		}
	}
	return false
}

// TopVia returns the first Via value.
func (m *Message) TopVia() Via { return m.via }

// Vias yields every Via value, top first.
func (m *Message) Vias() iter.Seq2[Via, error] { return parsedValues(m, HeaderVia, parseVia) }

// parsedValues yields each value of list header h parsed by parse; the
// first error ends the sequence.
func parsedValues[T any](m *Message, h Header, parse func(string, *T, *Limits) *ParseError) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for v, err := range m.Values(h) {
			var t T
			if err == nil {
				if perr := parse(v, &t, m.limits()); perr != nil {
					err = perr
				}
			}
			if !yield(t, err) || err != nil {
				return
			}
		}
	}
}

// From returns the From header value.
func (m *Message) From() Addr { return m.addrOf(m.fromVal) }

// To returns the To header value.
func (m *Message) To() Addr { return m.addrOf(m.toVal) }

// FromTag returns the From tag ("" when absent) without parsing the
// address again.
func (m *Message) FromTag() string { return m.fromTag }

// ToTag returns the To tag ("" when absent).
func (m *Message) ToTag() string { return m.toTag }

// addrOf parses a From or To value that index already checked.
func (m *Message) addrOf(v string) Addr {
	var a Addr
	if v != "" {
		_ = parseAddr(v, &a, m.limits()) // checked when indexed
	}
	return a
}

// CallID returns the Call-ID.
func (m *Message) CallID() string { return m.callID }

// CSeq returns the CSeq.
func (m *Message) CSeq() CSeq { return m.cseq }

// MaxForwards returns Max-Forwards and whether the message carries it.
func (m *Message) MaxForwards() (int, bool) { return m.maxForwards, m.maxForwards >= 0 }

// ContentLength returns the Content-Length field's value and whether the
// message carries one; the serializer always writes len(Body).
func (m *Message) ContentLength() (int, bool) { return m.contentLength, m.contentLength >= 0 }

// ContentType returns the Content-Type value ("" when absent).
func (m *Message) ContentType() string { v, _ := m.Get("Content-Type"); return v }

// Expires returns the Expires header's delta-seconds and whether present.
func (m *Message) Expires() (uint32, bool) { return uint32(m.expires), m.expires >= 0 }

// MinExpires returns the Min-Expires value and whether present.
func (m *Message) MinExpires() (uint32, bool) { return uint32(m.minExpires), m.minExpires >= 0 }

// FlowTimer returns the Flow-Timer value (RFC 5626) and whether present.
func (m *Message) FlowTimer() (uint32, bool) { return uint32(m.flowTm), m.flowTm >= 0 }

// Addrs yields each address of header h (Contact, Route, Record-Route,
// Path, or any name-addr list), in order.
func (m *Message) Addrs(h Header) iter.Seq2[Addr, error] { return parsedValues(m, h, parseAddr) }

// Contacts yields the Contact addresses ("*" as a Wildcard address).
func (m *Message) Contacts() iter.Seq2[Addr, error] { return m.Addrs(HeaderContact) }

// Routes yields the Route set.
func (m *Message) Routes() iter.Seq2[Addr, error] { return m.Addrs(HeaderRoute) }

// RecordRoutes yields the Record-Route entries.
func (m *Message) RecordRoutes() iter.Seq2[Addr, error] { return m.Addrs(HeaderRecordRoute) }

// Paths yields the Path entries (RFC 3327).
func (m *Message) Paths() iter.Seq2[Addr, error] { return m.Addrs(HeaderPath) }

// FirstAddr returns the first address of header h and whether there is one.
func (m *Message) FirstAddr(h Header) (a Addr, ok bool, err error) {
	i := m.first(h)
	if i < 0 {
		return Addr{}, false, nil
	}
	v := m.fieldValue(&m.fields[i])
	if h.multiValue() {
		first, ok := firstElement(v)
		if !ok {
			return Addr{}, false, errBad("unterminated list element in " + h.String())
		}
		v = first
	}
	// Parsed in place: a local returned as a copy would be read back wide
	// right after its narrow stores, which stalls.
	if err := parseAddr(v, &a, m.limits()); err != nil {
		return Addr{}, false, err
	}
	return a, true, nil
}

// index parses value as header h into the typed view (typedHeaders lists
// the headers it reads). Duplicates of the
// single-value fields must agree (RFC 3261 §7.3.1: a conflicting second
// Content-Length is a framing ambiguity).
func (m *Message) index(h Header, value string) *ParseError {
	l := m.limits()
	switch h {
	case HeaderVia:
		// Only the top Via is read on every message; the others are checked
		// when a proxy reaches them (Vias, RemoveTopVia).
		first, rest, ok := splitFirst(value)
		if !ok || first == "" {
			return errBad("malformed Via")
		}
		// Every element must be there ("a,,b" and "a," are not Via lists),
		// so that removing the top one leaves a valid field.
		for r := rest; r != "" || strings.HasSuffix(value, ","); {
			var e string
			if e, r, ok = splitFirst(r); !ok || e == "" {
				return errBad("malformed Via")
			}
		}
		if m.via.Transport != "" {
			return nil
		}
		// Straight into m.via (a local copied in would be read back wide
		// right after its narrow stores, which stalls); a half-parsed top
		// Via must not look valid, so a failure clears it.
		if err := parseVia(first, &m.via, l); err != nil {
			m.via = Via{}
			return err
		}
		return nil
	case HeaderFrom, HeaderTo:
		tag, prev := &m.fromTag, &m.fromVal
		if h == HeaderTo {
			tag, prev = &m.toTag, &m.toVal
		}
		if *prev != "" {
			if *prev != value {
				return errConflict(h.String())
			}
			return nil
		}
		var a Addr
		var notes paramNotes
		if err := parseAddrNotes(value, &a, l, &notes); err != nil {
			err.Reason = "malformed " + h.String() + ": " + err.Reason
			return err
		}
		if a.Wildcard {
			return errBad("malformed " + h.String())
		}
		t := notes.tag
		if notes.hasTag && !allToken(t) {
			return errBad("malformed " + h.String() + " tag")
		}
		*tag, *prev = t, value
	case HeaderCallID:
		if !validCallID(value) {
			return errBad("malformed Call-ID")
		}
		if m.callID != "" && m.callID != value {
			return errConflict("Call-ID")
		}
		m.callID = value
	case HeaderCSeq:
		c, err := parseCSeq(value)
		if err != nil {
			return err
		}
		if m.cseq.Method != "" && m.cseq != c {
			return errConflict("CSeq")
		}
		m.cseq = c
	case HeaderMaxForwards:
		return setNumber(&m.maxForwards, value, 255, h)
	case HeaderContentLength:
		return setNumber(&m.contentLength, value, 1<<31-1, h)
	case HeaderExpires:
		return setNumber64(&m.expires, value, h)
	case HeaderMinExpires:
		return setNumber64(&m.minExpires, value, h)
	case HeaderFlowTimer:
		return setNumber64(&m.flowTm, value, h)
	}
	return nil
}

func setNumber(dst *int, value string, max uint64, h Header) *ParseError {
	n, ok := parseUint(value, max)
	if !ok {
		return errBad("malformed " + h.String())
	}
	if *dst >= 0 && *dst != int(n) {
		return errConflict(h.String())
	}
	*dst = int(n)
	return nil
}

// setNumber64 stores delta-seconds (up to 2**32-1, RFC 3261 §25.1); a
// second field must agree with the first.
func setNumber64(dst *int64, value string, h Header) *ParseError {
	n, ok := parseUint(value, 1<<32-1)
	if !ok {
		return errBad("malformed " + h.String())
	}
	if *dst >= 0 && *dst != int64(n) {
		return errConflict(h.String())
	}
	*dst = int64(n)
	return nil
}

// validCallID checks callid = word [ "@" word ].
func validCallID(s string) bool {
	// word [ "@" word ], in one pass.
	at := -1
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&cWord == 0 {
			if s[i] != '@' || at >= 0 {
				return false
			}
			at = i
		}
	}
	return s != "" && at != 0 && at != len(s)-1
}

// refresh rebuilds the typed view of header h from the fields.
func (m *Message) refresh(h Header) error {
	switch h {
	case HeaderVia:
		m.via = Via{}
	case HeaderFrom:
		m.fromTag, m.fromVal = "", ""
	case HeaderTo:
		m.toTag, m.toVal = "", ""
	case HeaderCallID:
		m.callID = ""
	case HeaderCSeq:
		m.cseq = CSeq{}
	case HeaderMaxForwards:
		m.maxForwards = -1
	case HeaderContentLength:
		m.contentLength = -1
	case HeaderExpires:
		m.expires = -1
	case HeaderMinExpires:
		m.minExpires = -1
	case HeaderFlowTimer:
		m.flowTm = -1
	default:
		return nil
	}
	for i := range m.fields {
		if f := &m.fields[i]; f.key == h {
			if err := m.index(h, m.fieldValue(f)); err != nil {
				return err
			}
		}
	}
	return nil
}

// The edits below are the ones a proxy, registrar and edge make. Each one
// touches only the fields it changes; every other field keeps its bytes.

// insert puts f at index i.
func (m *Message) insert(i int, f field) {
	m.mark(f.key)
	m.fields = append(m.fields, field{})
	copy(m.fields[i+1:], m.fields[i:])
	m.fields[i] = f
}

func (m *Message) remove(i int) {
	copy(m.fields[i:], m.fields[i+1:])
	m.fields = m.fields[:len(m.fields)-1]
}

func (m *Message) first(h Header) int {
	if !m.mayHave(h) {
		return -1
	}
	for i := range m.fields {
		if m.fields[i].key == h {
			return i
		}
	}
	return -1
}

// Prepend adds value as the first value of list header h: a new field
// before the first existing one, or at the end of the header fields when
// there is none (Via at the top).
func (m *Message) Prepend(h Header, value string) error {
	i := m.first(h)
	if i < 0 {
		i = len(m.fields)
		if h == HeaderVia {
			i = 0
		}
	}
	m.insert(i, m.newField(h.String(), value, h))
	return m.refresh(h)
}

// PrependVia adds v as the top Via.
func (m *Message) PrependVia(v Via) {
	value := v.String()
	m.insert(0, m.newField("Via", value, HeaderVia))
	m.setVia(v, value)
}

// setVia makes the typed top Via what parsing its text gives, so that a
// message and its re-parse agree.
func (m *Message) setVia(v Via, value string) {
	var parsed Via
	if err := parseVia(value, &parsed, m.limits()); err != nil {
		m.via = v
		return
	}
	m.via = parsed
}

// RemoveFirst removes the first value of list header h and returns it:
// the whole first field, or its first element when the field holds a
// comma-separated list.
func (m *Message) RemoveFirst(h Header) (string, bool) {
	i := m.first(h)
	if i < 0 {
		return "", false
	}
	f := &m.fields[i]
	v := m.fieldValue(f)
	first, rest, ok := splitFirst(v)
	if !ok || rest == "" {
		m.remove(i)
		_ = m.refresh(h) // the remaining fields parsed before
		return v, true
	}
	m.setValue(f, rest)
	_ = m.refresh(h) // the remaining fields parsed before
	return first, true
}

// RemoveTopVia removes the top Via, as a proxy does with a response.
func (m *Message) RemoveTopVia() (string, bool) { return m.RemoveFirst(HeaderVia) }

// SetTopVia replaces the top Via value with v, splitting it from a
// comma-separated line if needed.
func (m *Message) SetTopVia(v Via) {
	i := m.first(HeaderVia)
	if i < 0 {
		m.PrependVia(v)
		return
	}
	f := &m.fields[i]
	value := v.String()
	if _, rest, ok := splitFirst(m.fieldValue(f)); ok && rest != "" {
		m.setValue(f, rest)
		m.insert(i, m.newField("Via", value, HeaderVia))
	} else {
		m.setValue(f, value)
	}
	m.setVia(v, value)
}

// SetTopViaReceived records where the request came from in the top Via
// (RFC 3261 §18.2.1, RFC 3581): received when host is not "", rport's
// value when port is not 0. It rewrites only the top Via value.
func (m *Message) SetTopViaReceived(host string, port int) {
	i := m.first(HeaderVia)
	if i < 0 || (host == "" && port == 0) {
		return
	}
	f := &m.fields[i]
	first, rest, _ := splitFirst(m.fieldValue(f))
	// The parameters end the top Via's text.
	p := m.via.Params
	prefix := first[:len(first)-len(p)]
	if host != "" {
		p = p.Without("received")
	}
	if port != 0 {
		p = p.Without("rport")
	}
	var b strings.Builder
	b.Grow(len(prefix) + len(p) + len(host) + 22)
	b.WriteString(prefix)
	b.WriteString(string(p))
	if host != "" {
		b.WriteString(";received=")
		b.WriteString(host)
	}
	if port != 0 {
		b.WriteString(";rport=")
		b.WriteString(strconv.Itoa(port))
	}
	value := b.String()
	if rest != "" {
		m.setValue(f, rest)
		m.insert(i, m.newField("Via", value, HeaderVia))
	} else {
		m.setValue(f, value)
	}
	m.setVia(m.via, value)
}

// DecrementMaxForwards lowers Max-Forwards by one and returns the new
// value; a message without one gets Max-Forwards: 70 (RFC 3261 §16.6). The
// caller answers 483 before calling it on 0.
func (m *Message) DecrementMaxForwards() int {
	i := m.first(HeaderMaxForwards)
	if i < 0 {
		m.mark(HeaderMaxForwards)
		*m.push() = m.newField("Max-Forwards", "70", HeaderMaxForwards)
		m.maxForwards = 70
		return 70
	}
	n := m.maxForwards - 1
	if n < 0 {
		n = 0
	}
	// Identical copies of the field were accepted; they change together.
	for ; i < len(m.fields); i++ {
		if f := &m.fields[i]; f.key == HeaderMaxForwards {
			m.setValue(f, smallInt(n))
		}
	}
	m.maxForwards = n
	return n
}

// smallInt formats 0..255 without allocating.
func smallInt(n int) string {
	const digits = "0123456789"
	switch {
	case n < 10:
		return digits[n : n+1]
	default:
		return strconv.Itoa(n)
	}
}

// Add appends a header field.
func (m *Message) Add(name, value string) error {
	h := HeaderOf(name)
	if h != HeaderOther && len(name) == 1 {
		name = h.String()
	}
	m.mark(h)
	*m.push() = m.newField(name, value, h)
	return m.refresh(h)
}

// Set replaces every field called name with one holding value, at the
// place of the first.
func (m *Message) Set(name, value string) error {
	h := HeaderOf(name)
	at := -1
	for i := 0; i < len(m.fields); i++ {
		if m.fieldIs(&m.fields[i], name) {
			if at < 0 {
				at = i
				m.setValue(&m.fields[i], value)
				continue
			}
			m.remove(i)
			i--
		}
	}
	if at < 0 {
		return m.Add(name, value)
	}
	return m.refresh(h)
}

// Del removes every field called name.
func (m *Message) Del(name string) {
	h := HeaderOf(name)
	for i := 0; i < len(m.fields); i++ {
		if m.fieldIs(&m.fields[i], name) {
			m.remove(i)
			i--
		}
	}
	_ = m.refresh(h) // removing cannot make the rest invalid
}

// SetRequestURI replaces the Request-URI.
func (m *Message) SetRequestURI(u URI) {
	m.RequestURI = u
	m.startLine = ""
}

// SetBody replaces the body and its Content-Type ("" removes it); a
// Content-Length field, when there is one, follows the new length.
func (m *Message) SetBody(contentType, body string) {
	m.Body = body
	if i := m.first(HeaderContentLength); i >= 0 {
		f := &m.fields[i]
		if m.contentLength != len(body) || f.lineLen == 0 {
			m.setValue(f, strconv.Itoa(len(body)))
		}
		// Later duplicates agreed with the first; they go with it.
		for j := len(m.fields) - 1; j > i; j-- {
			if m.fields[j].key == HeaderContentLength {
				m.remove(j)
			}
		}
		m.contentLength = len(body)
	}
	if contentType == "" {
		m.Del("Content-Type")
		return
	}
	_ = m.Set("Content-Type", contentType) // not a typed field
}

// NewRequest returns a request with the given method and Request-URI and
// no header fields; the caller adds Via, From, To, Call-ID, CSeq and
// Max-Forwards.
func NewRequest(method string, ruri URI) *Message {
	m := &Message{Method: method, RequestURI: ruri, Version: "SIP/2.0"}
	m.reset()
	return m
}

func (m *Message) reset() {
	m.fields, m.ext, m.present = m.inline[:0], m.extInline[:0], 0
	m.maxForwards, m.contentLength, m.expires, m.minExpires, m.flowTm = -1, -1, -1, -1, -1
}

// NewResponse returns a response to req with the header fields RFC 3261
// §8.2.6.2 copies (Via, From, To, Call-ID, CSeq) as their bytes; reason ""
// takes the standard phrase.
func NewResponse(req *Message, code int, reason string) *Message {
	if reason == "" {
		reason = StatusText(code)
	}
	r := &Message{StatusCode: code, Reason: reason, Version: "SIP/2.0"}
	r.reset()
	var seen [numHeaders]bool
	for i := range req.fields {
		f := &req.fields[i]
		switch k := f.key; k {
		case HeaderFrom, HeaderTo, HeaderCallID, HeaderCSeq:
			// The first only: a request refused for a conflicting second
			// value still gets a response that parses.
			if seen[k] {
				continue
			}
			seen[k] = true
			fallthrough
		case HeaderVia:
			r.mark(k)
			g := r.push()
			*g = *f
			// What is not in the shared source moves to the response's ext.
			if f.flags&fNameExt != 0 {
				g.off = uint32(len(r.ext))
				r.ext = append(r.ext, req.ext[f.off])
			}
			if f.flags&fValueExt != 0 {
				g.valOff = uint32(len(r.ext))
				r.ext = append(r.ext, req.ext[f.valOff])
			}
		}
	}
	// The copied fields' bytes live in the request's source.
	r.src, r.lim = req.src, req.lim
	r.via, r.fromVal, r.toVal, r.fromTag, r.toTag = req.via, req.fromVal, req.toVal, req.fromTag, req.toTag
	r.callID, r.cseq = req.callID, req.cseq
	return r
}

// SetToTag adds a tag to the To header when it has none.
func (m *Message) SetToTag(tag string) {
	if m.toTag != "" {
		return
	}
	value := ""
	for i := range m.fields {
		if f := &m.fields[i]; f.key == HeaderTo {
			// Identical copies of the field were accepted; they change
			// together.
			if value == "" {
				value = m.fieldValue(f) + ";tag=" + tag
			}
			m.setValue(f, value)
		}
	}
	_ = m.refresh(HeaderTo) // a token tag keeps the field valid
}

// String returns the message as it would be sent.
func (m *Message) String() string { return string(m.AppendTo(nil)) }

// AppendTo appends the message in wire form to b: the start line and
// every untouched header field as their original bytes (with CRLF line
// ends), changed and new fields as "Name: value", and always a
// Content-Length equal to len(Body), also when the message arrived over a
// transport that did not need one (RFC 7118 §5.2, RFC 3261 §18.3).
func (m *Message) AppendTo(b []byte) []byte {
	if m.startLine != "" {
		b = append(b, m.startLine...)
	} else if m.Method != "" {
		b = append(b, m.Method...)
		b = append(b, ' ')
		b = m.RequestURI.AppendTo(b)
		b = append(b, ' ')
		b = append(b, m.version()...)
	} else {
		b = append(b, m.version()...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(m.StatusCode), 10)
		b = append(b, ' ')
		b = append(b, m.Reason...)
	}
	b = append(b, "\r\n"...)
	wroteCL := false
	for i := range m.fields {
		f := &m.fields[i]
		if f.key == HeaderContentLength {
			if wroteCL {
				continue
			}
			wroteCL = true
			if m.contentLength != len(m.Body) || f.lineLen == 0 {
				b = appendContentLength(b, len(m.Body))
				continue
			}
		}
		if f.lineLen != 0 {
			b = append(b, m.src[f.off:f.off+f.lineLen]...)
		} else {
			b = append(b, m.fieldName(f)...)
			b = append(b, ": "...)
			b = append(b, m.fieldValue(f)...)
		}
		b = append(b, "\r\n"...)
	}
	if !wroteCL {
		b = appendContentLength(b, len(m.Body))
	}
	b = append(b, "\r\n"...)
	return append(b, m.Body...)
}

func appendContentLength(b []byte, n int) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, "\r\n"...)
}

func (m *Message) version() string {
	if m.Version == "" {
		return "SIP/2.0"
	}
	return m.Version
}

// Clone returns a copy of m that can be edited without changing m: a
// forking proxy sends one copy per branch. The header bytes m was parsed
// from are shared, not copied; only the field tables are.
func (m *Message) Clone() *Message {
	c := new(Message)
	*c = *m
	c.fields = append(c.inline[:0], m.fields...)
	c.ext = append(c.extInline[:0], m.ext...)
	return c
}
