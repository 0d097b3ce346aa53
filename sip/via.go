package sip

import (
	"strconv"
	"strings"
	"unsafe"
)

// Via is one Via header value (RFC 3261 §20.42).
type Via struct {
	// Protocol and Version of the sent-protocol, normally "SIP" and "2.0".
	Protocol string
	Version  string
	// Transport as written: UDP, TCP, TLS, SCTP, WS, WSS...
	Transport string
	Host      string
	// Port is 0 when the sent-by carries none.
	Port   int
	Params Params

	// parsed and parsedLen locate Params as parseVia read it; while Params
	// is still that string, branch and rport hold what it found there (see
	// paramNotes) and Branch and RPort need no search.
	parsed    *byte
	parsedLen int32
	rport     int32
	branch    string
}

// notesValid reports whether branch and rport describe Params.
func (v *Via) notesValid() bool {
	return v.parsed != nil && unsafe.StringData(string(v.Params)) == v.parsed && len(v.Params) == int(v.parsedLen)
}

// Branch returns the branch parameter.
func (v *Via) Branch() string {
	if v.notesValid() {
		return v.branch
	}
	s, _ := v.Params.Get("branch")
	return s
}

// Received returns the received parameter.
func (v *Via) Received() string { s, _ := v.Params.Get("received"); return s }

// Maddr returns the maddr parameter.
func (v *Via) Maddr() string { s, _ := v.Params.Get("maddr"); return s }

// RPort returns the rport parameter's port (0 when it has no value yet)
// and whether the parameter is present (RFC 3581).
func (v *Via) RPort() (int, bool) {
	if v.notesValid() {
		return int(max(v.rport, 0)), v.rport >= 0
	}
	s, ok := v.Params.Get("rport")
	if !ok || s == "" {
		return 0, ok
	}
	p, _ := strconv.Atoi(s)
	return p, true
}

// SentBy returns "host" or "host:port".
func (v *Via) SentBy() string {
	if v.Port == 0 {
		return v.Host
	}
	return v.Host + ":" + strconv.Itoa(v.Port)
}

// ParseVia parses one Via value with the default limits.
func ParseVia(s string) (Via, error) {
	var v Via
	if err := parseVia(s, &v, &defaultLimits); err != nil {
		return Via{}, err
	}
	return v, nil
}

// parseVia parses sent-protocol LWS sent-by *( SEMI via-params ) into v,
// which must be the zero Via (every caller passes a fresh one).
func parseVia(s string, v *Via, l *Limits) *ParseError {
	s = trimLWS(s)
	var tok [3]string
	i, k0 := 0, 0
	if strings.HasPrefix(s, "SIP/2.0/") {
		// The usual sent-protocol, without a scan.
		tok[0], tok[1], i, k0 = s[:3], s[4:7], skipLWS(s, 8), 2
	}
	for k := k0; k < len(tok); k++ {
		if k > k0 {
			i = skipLWS(s, i)
			if i >= len(s) || s[i] != '/' {
				return errBad("malformed Via protocol")
			}
			i = skipLWS(s, i+1)
		}
		j := i
		for j < len(s) && isToken(s[j]) {
			j++
		}
		if j == i {
			return errBad("malformed Via protocol")
		}
		tok[k] = s[i:j]
		i = j
	}
	v.Protocol, v.Version, v.Transport = tok[0], tok[1], tok[2]
	if i >= len(s) || !isLWSByte(s[i]) {
		return errBad("malformed Via sent-by")
	}
	i = skipLWS(s, i)
	// sent-by = host [ COLON port ], with optional LWS around the colon.
	j := i
	if j < len(s) && s[j] == '[' {
		rb := strings.IndexByte(s[j:], ']')
		if rb < 0 {
			return errBad("malformed Via host")
		}
		j += rb + 1
		if !validIPv6(s[i+1 : j-1]) {
			return errBad("malformed Via host")
		}
	} else {
		n, ok := scanHostname(s[i:])
		if !ok {
			return errBad("malformed Via host")
		}
		j += n
	}
	host := s[i:j]
	v.Host = host
	i = skipLWS(s, j)
	if i < len(s) && s[i] == ':' {
		i = skipLWS(s, i+1)
		j = i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		p, ok := parseUint(s[i:j], 65535)
		if !ok {
			return errBad("malformed Via port")
		}
		v.Port = int(p)
		i = skipLWS(s, j)
	}
	p := s[i:]
	v.Params = Params(p)
	notes := paramNotes{via: true}
	if err := checkParams(p, l.MaxParams, &notes); err != nil {
		return err
	}
	if p != "" && len(p) <= 1<<31-1 {
		v.parsed, v.parsedLen = unsafe.StringData(p), int32(len(p))
		v.branch, v.rport = notes.branch, notes.rport
	}
	return nil
}

// String returns the Via value in its text form.
func (v Via) String() string {
	var buf [160]byte
	return string(v.AppendTo(buf[:0]))
}

// AppendTo appends the text form of the Via value to b.
func (v *Via) AppendTo(b []byte) []byte {
	proto, ver := v.Protocol, v.Version
	if proto == "" {
		proto, ver = "SIP", "2.0"
	}
	b = append(b, proto...)
	b = append(b, '/')
	b = append(b, ver...)
	b = append(b, '/')
	b = append(b, v.Transport...)
	b = append(b, ' ')
	b = append(b, v.Host...)
	if v.Port != 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(v.Port), 10)
	}
	return append(b, v.Params...)
}

// CSeq is the CSeq header value.
type CSeq struct {
	Seq    uint32
	Method string
}

func parseCSeq(s string) (CSeq, *ParseError) {
	s = trimLWS(s)
	// RFC 3261 §8.1.1.5: the sequence number is below 2**31; its digits
	// are read and added up in one pass.
	i := 0
	var n uint64
	for ; i < len(s) && isDigit(s[i]); i++ {
		if n = n*10 + uint64(s[i]-'0'); n > 1<<31-1 {
			return CSeq{}, errBad("malformed CSeq")
		}
	}
	if i == 0 || i > 20 || i == len(s) || !isLWSByte(s[i]) {
		return CSeq{}, errBad("malformed CSeq")
	}
	m := trimLWS(s[i:])
	if !allToken(m) {
		return CSeq{}, errBad("malformed CSeq method")
	}
	return CSeq{Seq: uint32(n), Method: m}, nil
}
