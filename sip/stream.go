package sip

import (
	"bytes"
	"errors"
)

// KeepAlive is a keep-alive found between messages (RFC 5626 §4.4.1).
type KeepAlive uint8

// Keep-alive kinds.
const (
	// NoKeepAlive: the bytes were not a keep-alive.
	NoKeepAlive KeepAlive = iota
	// Ping is a double CRLF; the receiver answers with a single CRLF.
	Ping
	// Pong is a single CRLF, the answer to a ping.
	Pong
)

// KeepAliveOf classifies a whole datagram or WebSocket message: "\r\n\r\n"
// is a Ping, "\r\n" a Pong, anything else NoKeepAlive.
func KeepAliveOf(b []byte) KeepAlive {
	switch string(b) {
	case "\r\n\r\n":
		return Ping
	case "\r\n":
		return Pong
	}
	return NoKeepAlive
}

// ErrBufferFull is returned by StreamParser.Write when the bytes waiting
// to be parsed would exceed the message size limit; call Next first.
var ErrBufferFull = errors.New("sip: stream buffer full")

// StreamParser frames messages on a stream transport (TCP, TLS): it
// buffers at most one message's worth of bytes, requires Content-Length
// (RFC 3261 §18.3), and reports CRLF keep-alives between messages instead
// of mistaking them for a message. After an error the stream has lost its
// framing; the connection must be closed. Not safe for concurrent use.
type StreamParser struct {
	limits Limits
	buf    []byte
	off    int
	// need is the length of the message at buf[off:] once its header
	// fields are complete, 0 before.
	need int
	// The header scan resumes where it stopped, so that a message arriving
	// in many small reads costs linear time: lineStart is the start of the
	// line being read (relative to off), checked whether that line was
	// found not to be the empty line, searchFrom where to look for its end.
	lineStart, searchFrom int
	checked               bool
}

// NewStreamParser returns a stream parser with limits l (zero fields take
// the defaults).
func NewStreamParser(l Limits) *StreamParser {
	return &StreamParser{limits: l.withDefaults(), checked: true}
}

// Buffered returns the number of bytes waiting to be parsed.
func (p *StreamParser) Buffered() int { return len(p.buf) - p.off }

// Write adds bytes read from the connection. It takes what fits under the
// message size limit; when that is not all of b it returns ErrBufferFull
// with the count taken, and the caller calls Next before writing the rest.
func (p *StreamParser) Write(b []byte) (int, error) {
	if p.off > 0 && p.off == len(p.buf) {
		p.buf, p.off = p.buf[:0], 0
	} else if p.off > 0 && len(p.buf)+len(b) > cap(p.buf) {
		n := copy(p.buf, p.buf[p.off:])
		p.buf, p.off = p.buf[:n], 0
	}
	room := p.limits.MaxMessageSize + 4 - p.Buffered()
	if room <= 0 {
		return 0, ErrBufferFull
	}
	if len(b) > room {
		p.buf = append(p.buf, b[:room]...)
		return room, ErrBufferFull
	}
	p.buf = append(p.buf, b...)
	return len(b), nil
}

// Next returns the next message or keep-alive in the buffer, or
// ErrIncomplete when more bytes are needed. A lone CRLF at the end of the
// buffer waits for the next byte, which tells a Pong from half a Ping.
func (p *StreamParser) Next() (*Message, KeepAlive, error) {
	b := p.buf[p.off:]
	if p.need == 0 {
		if p.searchFrom == 0 && len(b) >= 1 && (b[0] == '\r' || b[0] == '\n') {
			return p.keepAlive(b)
		}
		end := p.headerEnd(b)
		if end < 0 {
			if len(b) > p.limits.MaxMessageSize {
				return nil, NoKeepAlive, &ParseError{Status: 513, Reason: "message too large"}
			}
			return nil, NoKeepAlive, ErrIncomplete
		}
		cl, err := scanContentLength(b[:end])
		if err != nil {
			// Parse the header fields anyway so that the caller can answer
			// 400 before it closes the connection.
			m, perr := parseMessage(string(b[:end]), false, &p.limits)
			if perr != nil {
				m = perr.Msg
			}
			err.Msg = m
			return nil, NoKeepAlive, err
		}
		if end+cl > p.limits.MaxMessageSize {
			return nil, NoKeepAlive, &ParseError{Status: 513, Reason: "message too large"}
		}
		p.need = end + cl
	}
	if len(b) < p.need {
		return nil, NoKeepAlive, ErrIncomplete
	}
	n := p.need
	p.need = 0
	p.lineStart, p.searchFrom, p.checked = 0, 0, true
	p.off += n
	m, err := parseMessage(string(b[:n]), true, &p.limits)
	if err != nil {
		return nil, NoKeepAlive, err
	}
	return m, NoKeepAlive, nil
}

// keepAlive consumes CRLFs before a start line: "\r\n\r\n" is a Ping, a
// single "\r\n" a Pong; bare LFs are skipped (RFC 3261 §7.5).
func (p *StreamParser) keepAlive(b []byte) (*Message, KeepAlive, error) {
	switch {
	case bytes.HasPrefix(b, []byte("\r\n\r\n")):
		p.off += 4
		return nil, Ping, nil
	case len(b) < 4 && bytes.HasPrefix([]byte("\r\n\r\n"), b):
		return nil, NoKeepAlive, ErrIncomplete
	case bytes.HasPrefix(b, []byte("\r\n")):
		p.off += 2
		return nil, Pong, nil
	case b[0] == '\n':
		p.off++
		return p.Next()
	}
	return nil, NoKeepAlive, &ParseError{Status: 400, Reason: "malformed line end"}
}

// headerEnd returns the length of the start line and header fields
// including the empty line, or -1 when the empty line has not arrived. It
// resumes where the previous call stopped.
func (p *StreamParser) headerEnd(b []byte) int {
	for {
		if !p.checked {
			i := p.lineStart
			switch {
			case i < len(b) && b[i] == '\n':
				return i + 1
			case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
				return i + 2
			case i >= len(b) || i+1 == len(b) && b[i] == '\r':
				return -1
			}
			p.checked, p.searchFrom = true, i
		}
		j := bytes.IndexByte(b[p.searchFrom:], '\n')
		if j < 0 {
			p.searchFrom = len(b)
			return -1
		}
		p.lineStart = p.searchFrom + j + 1
		p.checked = false
	}
}

// scanContentLength finds the Content-Length of a header block without
// parsing it whole: the stream needs it to frame the body. Two fields
// that disagree are an error, as is none at all.
func scanContentLength(h []byte) (int, *ParseError) {
	cl := -1
	for len(h) > 0 {
		j := bytes.IndexByte(h, '\n')
		if j < 0 {
			j = len(h) - 1
		}
		line := h[:j+1]
		h = h[j+1:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if HeaderOf(string(name)) != HeaderContentLength {
			continue
		}
		v := string(line[colon+1:])
		// A folded value goes on in lines that start with white space.
		for len(h) > 0 && (h[0] == ' ' || h[0] == '\t') {
			k := bytes.IndexByte(h, '\n')
			if k < 0 {
				k = len(h) - 1
			}
			v += " " + string(h[:k+1])
			h = h[k+1:]
		}
		n, ok := parseUint(trimLWS(v), 1<<31-1)
		if !ok {
			return 0, errBad("malformed Content-Length")
		}
		if cl >= 0 && cl != int(n) {
			return 0, errBad("conflicting Content-Length")
		}
		cl = int(n)
	}
	if cl < 0 {
		return 0, errBad("missing Content-Length")
	}
	return cl, nil
}
