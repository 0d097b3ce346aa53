package sip

import (
	"strings"
	"unsafe"
)

// Parser parses datagram messages (UDP, and WebSocket where each message
// is one frame): one buffer holds exactly one message, Content-Length is
// optional and a longer body is truncated to it (RFC 3261 §18.3). A Parser
// holds only its limits and is safe for concurrent use.
type Parser struct {
	limits Limits
}

// NewParser returns a datagram parser with limits l (zero fields take the
// defaults).
func NewParser(l Limits) *Parser { return &Parser{limits: l.withDefaults()} }

// Parse parses one datagram message with the default limits.
func Parse(b []byte) (*Message, error) {
	return (&Parser{limits: defaultLimits}).Parse(b)
}

// Parse parses one message. The message keeps its own copy of b.
func (p *Parser) Parse(b []byte) (*Message, error) {
	if len(b) > p.limits.MaxMessageSize {
		return nil, &ParseError{Status: 513, Reason: "message too large"}
	}
	m, err := parseMessage(string(b), false, &p.limits)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ParseOwned parses one message held in b, which it takes over: the
// message's strings share b's memory, so the caller must not change b
// afterwards. It saves Parse's copy where the transport already gives each
// message a buffer of its own (a WebSocket frame, a datagram copied out of
// the read buffer).
func (p *Parser) ParseOwned(b []byte) (*Message, error) {
	if len(b) > p.limits.MaxMessageSize {
		return nil, &ParseError{Status: 513, Reason: "message too large"}
	}
	if len(b) == 0 {
		return nil, errBad("empty message")
	}
	m, err := parseMessage(unsafe.String(&b[0], len(b)), false, &p.limits)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// parseMessage parses s; stream means Content-Length is required and s
// ends exactly where the body does.
func parseMessage(s string, stream bool, l *Limits) (*Message, *ParseError) {
	m := &Message{src: s, lim: l, maxForwards: -1, contentLength: -1, expires: -1, minExpires: -1, flowTm: -1}
	m.fields, m.ext = m.inline[:0], m.extInline[:0]

	pos := 0
	for pos < len(s) && (s[pos] == '\r' || s[pos] == '\n') {
		pos++
	}
	if pos == len(s) {
		return nil, errBad("empty message")
	}
	line, next, err := readLine(s, pos, l)
	if err != nil {
		return nil, err
	}
	var firstErr *ParseError
	// unanswerable is set when a field that a response copies (Via, From,
	// To, Call-ID, CSeq) is malformed: no Msg goes with the error then.
	unanswerable := false
	if err := m.parseStartLine(line, l); err != nil {
		if err.Status != 505 {
			return nil, err
		}
		firstErr = err
	}
	m.startLine = line
	pos = next

	// fieldErr takes the error of a field just added: one that is fatal to
	// the whole message comes back; the others are kept (the first one is
	// reported) so that the message can still be answered.
	fieldErr := func(err *ParseError) *ParseError {
		if err.Status == 0 {
			return errBad(err.Reason)
		}
		unanswerable = unanswerable || m.copiedFieldBad(err)
		if firstErr == nil {
			firstErr = err
		}
		return nil
	}

	// Header fields: one per line, continuation lines start with WSP. The
	// usual lines are found by one scan for line ends and control
	// characters, each one plain field; a line that is not (the first of a
	// folded field, one with an odd byte, the last of a datagram without
	// an empty line) goes the general way, and the scan resumes after it.
	bodyStart := -1
	for bodyStart < 0 {
		var fatal *ParseError
		if pos, bodyStart, fatal = m.plainLines(pos, l, fieldErr); fatal != nil {
			return nil, fatal
		}
		if bodyStart >= 0 {
			break
		}

		// One field the general way: its first line at pos, then its
		// continuation lines.
		if pos >= len(s) {
			if stream {
				return nil, errBad("missing empty line after header fields")
			}
			// A datagram may end right after its last field: as if the
			// empty line came there.
			bodyStart = len(s)
			continue
		}
		lineEnd, next := lineAt(s, pos)
		if lineEnd == pos {
			// The empty line: the body follows.
			bodyStart = next
			continue
		}
		if isWSP(s[pos]) {
			return nil, errBad("continuation line before first header field")
		}
		if lineEnd-pos > l.MaxLineLength {
			return nil, errBad("header field too long")
		}
		fieldStart, fieldEnd, folded := pos, lineEnd, false
		for pos = next; pos < len(s); pos = next {
			if lineEnd, next = lineAt(s, pos); lineEnd == pos || !isWSP(s[pos]) {
				break
			}
			fieldEnd, folded = lineEnd, true
			if fieldEnd-fieldStart > l.MaxLineLength {
				return nil, errBad("header field too long")
			}
		}
		if err := m.addParsedField(fieldStart, fieldEnd, folded, l); err != nil {
			if fatal := fieldErr(err); fatal != nil {
				return nil, fatal
			}
		}
	}
	body := s[bodyStart:]

	if err := m.checkMandatory(); err != nil {
		// A malformed mandatory field is reported as itself, without a
		// message to answer from.
		if firstErr != nil {
			return nil, firstErr
		}
		return nil, err
	}
	if m.Method != "" && m.cseq.Method != m.Method && firstErr == nil {
		firstErr = errBad("CSeq method does not match request method")
	}
	switch cl := m.contentLength; {
	case cl < 0 && stream:
		if firstErr == nil {
			firstErr = errBad("missing Content-Length")
		}
	case cl < 0:
	case len(body) < cl:
		if firstErr == nil {
			firstErr = errBad("body shorter than Content-Length")
		}
	default:
		body = body[:cl]
	}
	m.Body = body
	if firstErr != nil {
		if !unanswerable {
			firstErr.Msg = m
		}
		return nil, firstErr
	}
	return m, nil
}

// readLine returns the line at pos without its line end, and where the
// next line starts.
func readLine(s string, pos int, l *Limits) (line string, next int, err *ParseError) {
	end, next := lineAt(s, pos)
	if end-pos > l.MaxLineLength {
		return "", 0, errBad("start line too long")
	}
	return s[pos:end], next, nil
}

// lineAt returns where the line at pos ends (before its CRLF or LF) and
// where the next one starts; a last line without LF ends with s.
func lineAt(s string, pos int) (lineEnd, next int) {
	lineEnd, next = len(s), len(s)
	if nl := strings.IndexByte(s[pos:], '\n'); nl >= 0 {
		lineEnd, next = pos+nl, pos+nl+1
	}
	if lineEnd > pos && s[lineEnd-1] == '\r' {
		lineEnd--
	}
	return lineEnd, next
}

func (m *Message) parseStartLine(line string, l *Limits) *ParseError {
	if hasPrefixFold(line, "SIP/") {
		// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
		sp := strings.IndexByte(line, ' ')
		if sp < 0 || !validVersion(line[:sp]) {
			return errBad("malformed status line")
		}
		m.Version = line[:sp]
		rest := line[sp+1:]
		if len(rest) < 3 || len(rest) > 3 && rest[3] != ' ' {
			return errBad("malformed status code")
		}
		code, ok := parseUint(rest[:3], 699)
		if !ok || code < 100 {
			return errBad("malformed status code")
		}
		m.StatusCode = int(code)
		if len(rest) > 3 {
			m.Reason = rest[4:]
		}
		if !validText(m.Reason) {
			return errBad("malformed reason phrase")
		}
		return nil
	}
	// Request-Line = Method SP Request-URI SP SIP-Version
	sp1 := strings.IndexByte(line, ' ')
	sp2 := strings.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 == sp1 {
		return errBad("malformed request line")
	}
	m.Method = line[:sp1]
	if !allToken(m.Method) {
		return errBad("malformed method")
	}
	uri := line[sp1+1 : sp2]
	if uri == "" || index3(uri, ' '*ones, '\t'*ones, '\t'*ones) >= 0 {
		return errBad("malformed Request-URI")
	}
	if err := parseURI(uri, &m.RequestURI, l); err != nil {
		if err.Status == 400 {
			err.Reason = "malformed Request-URI"
		}
		return err
	}
	m.Version = line[sp2+1:]
	if !validVersion(m.Version) {
		return errBad("malformed SIP version")
	}
	if m.Version != "SIP/2.0" && !strings.EqualFold(m.Version, "SIP/2.0") {
		return &ParseError{Status: 505, Reason: "unsupported SIP version " + m.Version}
	}
	return nil
}

// validVersion checks "SIP" "/" 1*DIGIT "." 1*DIGIT.
func validVersion(v string) bool {
	if v == "SIP/2.0" {
		return true
	}
	if !hasPrefixFold(v, "SIP/") {
		return false
	}
	major, minor, ok := strings.Cut(v[4:], ".")
	_, ok1 := parseUint(major, 1<<16)
	_, ok2 := parseUint(minor, 1<<16)
	return ok && ok1 && ok2
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validText accepts TEXT-UTF8 and white space: no control characters but
// HTAB.
func validText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// plainLines adds the plain header field lines from src[pos:], found by
// one scan for line ends and control characters, and returns where it
// stopped: at the body (bodyStart >= 0) or at a line for the general way
// (the first of a folded field, one with an odd byte, the last of a
// datagram without an empty line). fieldErr takes each field's error as
// parseMessage's does; a fatal one ends the message.
func (m *Message) plainLines(pos int, l *Limits, fieldErr func(*ParseError) *ParseError) (next, bodyStart int, fatal *ParseError) {
	s := m.src
	for {
		var ends [maxLineEnds]uint32
		n, stop, kind := lineEnds(s[pos:], &ends)
		base := pos
		for _, e := range ends[:n] {
			nl := base + int(e)
			if nl+1 < len(s) && isWSP(s[nl+1]) {
				return pos, -1, nil // the next line continues this field
			}
			lineEnd := nl
			if s[lineEnd-1] == '\r' {
				lineEnd--
			}
			// A known name matched whole holds no LF, so its colon is on
			// this line; any other name is read the long way.
			key, n := knownName(s, pos)
			nameEnd, valStart := pos+n, pos+n+1
			if n == 0 {
				var ok bool
				if key, nameEnd, valStart, ok = plainName(s, pos, lineEnd); !ok {
					return pos, -1, nil
				}
			}
			valStart = skipWSP(s, valStart, lineEnd)
			if lineEnd-pos > l.MaxLineLength {
				return pos, -1, errBad("header field too long")
			}
			valEnd := lineEnd
			for valEnd > valStart && isWSP(s[valEnd-1]) {
				valEnd--
			}
			// addField's steps, without the call for an untyped field.
			err := m.checkFieldCount(key, nameEnd-pos, l)
			if err == nil {
				m.storeField(key, pos, lineEnd, nameEnd, valStart, valEnd)
				if typedHeaders&(1<<(key&63)) != 0 {
					err = m.index(key, s[valStart:valEnd])
				}
			}
			if err != nil {
				if fatal := fieldErr(err); fatal != nil {
					return pos, -1, fatal
				}
			}
			pos = nl + 1
		}
		switch kind {
		case lineEndsFull:
			continue
		case lineEndsEmpty:
			return pos, base + stop + 1, nil
		}
		return pos, -1, nil
	}
}

// plainName reads the name and colon of the header field line
// src[pos:lineEnd], which holds no control character but HTAB: a token,
// optional WSP and the colon; valStart is just after the colon. ok is false
// for anything else.
func plainName(s string, pos, lineEnd int) (key Header, nameEnd, valStart int, ok bool) {
	i := pos
	for i < lineEnd && isToken(s[i]) {
		i++
	}
	if i == pos {
		return
	}
	nameEnd = i
	if i = skipWSP(s, i, lineEnd); i == lineEnd || s[i] != ':' {
		return
	}
	return HeaderOf(s[pos:nameEnd]), nameEnd, i + 1, true
}

// skipWSP returns the index of the first byte at or after i, before end,
// that is not SP or HTAB.
func skipWSP(s string, i, end int) int {
	for i < end && isWSP(s[i]) {
		i++
	}
	return i
}

// addParsedField records one header field (raw holds its lines without the
// final line end) and parses the fields the package keeps typed. An error
// with Status 0 is fatal to the whole message; others are recorded so that
// the message can still be answered.
func (m *Message) addParsedField(start, end int, folded bool, l *Limits) *ParseError {
	raw := m.src[start:end]
	// field-name = token, then optional white space and the colon.
	n := 0
	for n < len(raw) && isToken(raw[n]) {
		n++
	}
	colon := n
	for colon < len(raw) && isWSP(raw[colon]) {
		colon++
	}
	if colon >= len(raw) || raw[colon] != ':' {
		if n == 0 || colon < len(raw) && n == colon {
			return &ParseError{Reason: "malformed header field name"}
		}
		return &ParseError{Reason: "malformed header field"}
	}
	if n == 0 {
		return &ParseError{Reason: "malformed header field"}
	}
	name := raw[:n]
	vs, ve := lwsBounds(raw, colon+1, len(raw))
	value := raw[vs:ve]
	if folded {
		value = unfold(value)
	}
	if !validFieldValue(value) {
		return errBad("invalid character in " + name)
	}
	key := HeaderOf(name)
	if !folded {
		return m.addField(key, start, end, start+n, start+vs, start+ve, l)
	}
	// Written back as Name ": " Value, the value from ext.
	if err := m.checkFieldCount(key, n, l); err != nil {
		return err
	}
	f := m.push()
	f.off, f.nameLen, f.key = uint32(start), uint16(n), key
	m.setValue(f, value)
	return m.index(key, value)
}

// checkFieldCount refuses a field past MaxHeaders, or with a name too long
// to be kept, and marks header key present.
func (m *Message) checkFieldCount(key Header, nameLen int, l *Limits) *ParseError {
	if len(m.fields) >= l.MaxHeaders {
		return &ParseError{Reason: "too many header fields"}
	}
	if nameLen > 0xffff {
		return &ParseError{Reason: "header field name too long"}
	}
	m.mark(key)
	return nil
}

// addField appends the field key whose line is src[start:end], its name
// src[start:nameEnd] and its value src[valStart:valEnd], and indexes it.
func (m *Message) addField(key Header, start, end, nameEnd, valStart, valEnd int, l *Limits) *ParseError {
	if err := m.checkFieldCount(key, nameEnd-start, l); err != nil {
		return err
	}
	m.storeField(key, start, end, nameEnd, valStart, valEnd)
	if typedHeaders&(1<<(key&63)) == 0 {
		return nil
	}
	return m.index(key, m.src[valStart:valEnd])
}

// storeField appends the record of a field addField describes.
func (m *Message) storeField(key Header, start, end, nameEnd, valStart, valEnd int) {
	// Member by member into the slot: a record built aside and copied
	// whole is read back with one wide load from several narrow stores,
	// which the processor cannot forward. (Not push: every member is
	// written here, and the zeroing push does first costs on every line.)
	n := len(m.fields)
	if n < cap(m.fields) {
		m.fields = m.fields[:n+1]
	} else {
		m.fields = append(m.fields, field{})
	}
	f := &m.fields[n]
	f.off, f.lineLen, f.valOff, f.valLen = uint32(start), uint32(end-start), uint32(valStart), uint32(valEnd-valStart)
	f.nameLen, f.key, f.flags = uint16(nameEnd-start), key, 0
}

// typedHeaders has a bit set for each header that index reads.
const typedHeaders = 1<<HeaderVia | 1<<HeaderFrom | 1<<HeaderTo | 1<<HeaderCallID | 1<<HeaderCSeq |
	1<<HeaderMaxForwards | 1<<HeaderContentLength | 1<<HeaderExpires | 1<<HeaderMinExpires | 1<<HeaderFlowTimer

// copiedFieldBad reports whether err, from the field just added, is about
// a field that NewResponse copies and is not merely a disagreeing second
// copy of a valid first one.
func (m *Message) copiedFieldBad(err *ParseError) bool {
	if err.conflict || len(m.fields) == 0 {
		return false
	}
	switch m.fields[len(m.fields)-1].key {
	case HeaderVia, HeaderFrom, HeaderTo, HeaderCallID, HeaderCSeq:
		return true
	}
	return false
}

// validFieldValue refuses control characters other than HTAB, except as
// quoted-pairs inside a quoted-string (RFC 3261 §25.1).
func validFieldValue(v string) bool {
	if !hasCtl(v) {
		return true
	}
	quoted := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == '\\' && quoted:
			i++
			if i < len(v) && (v[i] == '\r' || v[i] == '\n') {
				return false
			}
		case c < 0x20 && c != '\t' || c == 0x7f:
			return false
		}
	}
	return true
}

// hasCtl reports whether s holds a byte below 0x20 or 0x7f.
func hasCtl(s string) bool { return indexCtl(s) >= 0 }

// unfold replaces each line end and the white space around it with one
// space (RFC 3261 §7.3.1).
func unfold(v string) string {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\r' && c != '\n' {
			b = append(b, c)
			continue
		}
		for len(b) > 0 && isWSP(b[len(b)-1]) {
			b = b[:len(b)-1]
		}
		b = append(b, ' ')
		for i+1 < len(v) && isLWSByte(v[i+1]) {
			i++
		}
	}
	return string(b)
}

// checkMandatory checks the header fields every request and response
// carries (RFC 3261 §8.1.1) and what must agree with the start line.
func (m *Message) checkMandatory() *ParseError {
	switch {
	case m.via.Transport == "":
		return errBad("missing Via")
	case m.fromVal == "":
		return errBad("missing From")
	case m.toVal == "":
		return errBad("missing To")
	case m.callID == "":
		return errBad("missing Call-ID")
	case m.cseq.Method == "":
		return errBad("missing CSeq")
	}
	return nil
}
