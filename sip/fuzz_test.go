package sip_test

// Fuzz targets for the sip package's parsers: datagrams, stream framing,
// URIs, and the proxy edits on parsed messages. Their seeds are the RFC 4475
// torture messages, the RFC 3261 §24 examples, the benchmark fixture, and
// the inputs under testdata/fuzz/<FuzzName>/ (hand-made ones with readable
// names, and the failing inputs fuzzing found, named by hash). The bugs
// they found are fixed, and TestRegressions keeps their smallest
// reproductions. To fuzz one target:
//
//	go test -run '^$' -fuzz '^FuzzStream$' -fuzztime 60s ./sip

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/sip"
)

// addFileSeeds adds every fixture message as a seed.
func addFileSeeds(f *testing.F, add func([]byte)) {
	f.Helper()
	var files []string
	for _, pattern := range []string{"testdata/rfc4475/*.dat", "testdata/rfc3261/*.sip", "testdata/bench/webrtc-invite.sip"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		f.Fatal("no seed files found")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// reparser re-reads serialized messages. Serializing may add one
// Content-Length field (and its bytes) to a message that had none, so it
// allows one field and a few bytes more than the defaults.
var reparser = sip.NewParser(sip.Limits{
	MaxMessageSize: sip.DefaultMaxMessageSize + 64,
	MaxHeaders:     sip.DefaultMaxHeaders + 1,
})

// checkParseError checks what a refused message reports.
func checkParseError(t *testing.T, err error) {
	t.Helper()
	var pe *sip.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %v is not a *ParseError", err, err)
	}
	if _, ok := err.(*sip.ParseError); !ok {
		t.Fatalf("error %T wraps a *ParseError instead of being one", err)
	}
	switch pe.Status {
	case 400, 414, 505, 513:
	default:
		t.Fatalf("ParseError status %d (%q)", pe.Status, pe.Reason)
	}
	if pe.Reason == "" {
		t.Fatalf("ParseError %d without a reason", pe.Status)
	}
	_ = pe.Error()
	if sl := pe.StatusLine(); sl == "" || strings.ContainsAny(sl, "\r\n") {
		t.Fatalf("StatusLine() = %q", sl)
	}
	if pe.Msg == nil {
		return
	}
	touchAll(t, pe.Msg)
	r := sip.NewResponse(pe.Msg, 400, "")
	touchAll(t, r)
	b := r.AppendTo(nil)
	r2, err := reparser.Parse(b)
	if err != nil {
		t.Fatalf("400 response to a refused message (%v) does not re-parse: %v\n%q", pe, err, b)
	}
	if r2.StatusCode != 400 || r2.CallID() != pe.Msg.CallID() || cx(r2.CSeq()) != cx(pe.Msg.CSeq()) {
		t.Fatalf("400 response reads %d %q %+v; request had %q %+v", r2.StatusCode, r2.CallID(), r2.CSeq(), pe.Msg.CallID(), pe.Msg.CSeq())
	}
}

// catchPanics is deferred by the fuzz functions: it turns a panic into a
// test failure with its stack, so that one crashing input does not stop the
// other tests of the binary.
func catchPanics(t *testing.T) {
	if r := recover(); r != nil {
		t.Fatalf("panic: %v\n%s", r, debug.Stack())
	}
}

// checkViaNotes compares Branch and RPort, which use what the parser
// noted, with a search of the parameters.
func checkViaNotes(t *testing.T, v sip.Via) {
	t.Helper()
	branch, _ := v.Params.Get("branch")
	rport, hasRport := v.Params.Get("rport")
	port, _ := strconv.Atoi(rport)
	if got := v.Branch(); got != branch {
		t.Fatalf("Via %q: Branch() = %q, the parameters say %q", v.String(), got, branch)
	}
	if got, ok := v.RPort(); ok != hasRport || got != port {
		t.Fatalf("Via %q: RPort() = %d, %v, the parameters say %d, %v", v.String(), got, ok, port, hasRport)
	}
	v.Params += ";x"
	if got := v.Branch(); got != branch {
		t.Fatalf("Via %q: Branch() after an edit = %q, want %q", v.String(), got, branch)
	}
}

// touchAll calls every accessor and walks every iterator of m (a bounded
// number of steps each); none may panic.
func touchAll(t *testing.T, m *sip.Message) {
	t.Helper()
	const maxSteps = 1 << 12
	_ = m.IsRequest()
	_ = m.String()
	u := m.RequestURI
	_, _, _, _, _ = u.IsSIP(), u.IsSIPS(), u.IsTel(), u.Transport(), u.HostPort()
	_ = u.String()
	_ = u.Equal(&u)
	for _, f := range m.Fields() {
		if f.Value != strings.Trim(f.Value, " \t") || strings.ContainsAny(f.Value, "\r\n") {
			t.Fatalf("field %q value %q has surrounding white space or a line end", f.Name, f.Value)
		}
		if f.Name == "" || strings.ContainsAny(f.Name, " \t\r\n:") {
			t.Fatalf("field name %q", f.Name)
		}
		if f.Key != sip.HeaderOf(f.Name) {
			t.Fatalf("field %q has Key %v, HeaderOf says %v", f.Name, f.Key, sip.HeaderOf(f.Name))
		}
		if _, ok := m.Get(f.Name); !ok {
			t.Fatalf("Get(%q) finds nothing, though Fields has it", f.Name)
		}
		_ = f.Is(f.Name)
		_ = f.Key.String()
	}
	for _, name := range []string{"Via", "v", "From", "To", "Call-ID", "i", "CSeq", "Content-Length", "l", "Contact", "X-Unknown", "", "Max-Forwards"} {
		_, _ = m.Get(name)
	}
	via := m.TopVia()
	_, _, _, _ = via.Branch(), via.Received(), via.Maddr(), via.SentBy()
	checkViaNotes(t, via)
	_ = via.String()
	n := 0
	for v, err := range m.Vias() {
		if err == nil {
			_ = v.String()
			checkViaNotes(t, v)
		}
		if n++; n > maxSteps {
			t.Fatalf("Vias does not end")
		}
	}
	for _, a := range []sip.Addr{m.From(), m.To()} {
		_, _, _ = a.DisplayName(), a.Tag(), a.String()
		_ = a.URI.Equal(&a.URI)
	}
	_, _ = m.CallID(), m.CSeq()
	if from, to := m.From(), m.To(); m.FromTag() != from.Tag() || m.ToTag() != to.Tag() {
		t.Fatalf("FromTag/ToTag %q %q, From().Tag()/To().Tag() %q %q", m.FromTag(), m.ToTag(), from.Tag(), to.Tag())
	}
	_, _ = m.MaxForwards()
	_, _ = m.ContentLength()
	_ = m.ContentType()
	_, _ = m.Expires()
	_, _ = m.MinExpires()
	_, _ = m.FlowTimer()
	for h := sip.HeaderOther; h <= sip.HeaderServer+1; h++ {
		n := 0
		for range m.Values(h) {
			if n++; n > maxSteps {
				t.Fatalf("Values(%v) does not end", h)
			}
		}
		_ = m.HasToken(h, "timer")
		n = 0
		for a, err := range m.Addrs(h) {
			if err == nil {
				_, _, _ = a.DisplayName(), a.Tag(), a.String()
			}
			if n++; n > maxSteps {
				t.Fatalf("Addrs(%v) does not end", h)
			}
		}
		_, _, _ = m.FirstAddr(h)
	}
	for _, seq := range []func(func(sip.Addr, error) bool){m.Contacts(), m.Routes(), m.RecordRoutes(), m.Paths()} {
		n := 0
		for a, err := range seq {
			if err == nil {
				_, _ = a.DisplayName(), a.String()
			}
			if n++; n > maxSteps {
				t.Fatalf("address iterator does not end")
			}
		}
	}
	for _, h := range authHeaders {
		n := 0
		for a, err := range m.Auths(h) {
			if err == nil {
				_ = a.IsDigest()
				_, _ = a.Param("realm")
				_, _ = a.Param("nonce")
			}
			if n++; n > maxSteps {
				t.Fatalf("Auths(%v) does not end", h)
			}
		}
	}
}

// checkMessage checks a parsed message: accessors, and that its serialized
// form re-parses to the same message, byte-stable from then on.
func checkMessage(t *testing.T, m *sip.Message, what string) {
	t.Helper()
	touchAll(t, m)
	s := m.AppendTo(nil)
	m2, err := reparser.Parse(s)
	if err != nil {
		t.Fatalf("%s: serialized message does not re-parse: %v\n%q", what, err, s)
	}
	if m2.Method != m.Method || ux(m2.RequestURI) != ux(m.RequestURI) || m2.StatusCode != m.StatusCode || m2.Reason != m.Reason {
		t.Fatalf("%s: start line changed: %q %q %d %q -> %q %q %d %q", what,
			m.Method, m.RequestURI.String(), m.StatusCode, m.Reason, m2.Method, m2.RequestURI.String(), m2.StatusCode, m2.Reason)
	}
	if d := diffViews(viewOf(m), viewOf(m2)); d != "" {
		t.Fatalf("%s: re-parse of serialized message differs:\n%s\nserialized %q", what, d, s)
	}
	if cl, ok := m2.ContentLength(); !ok || cl != len(m2.Body) {
		t.Fatalf("%s: serialized Content-Length %d %v, body %d bytes", what, cl, ok, len(m2.Body))
	}
	if s2 := m2.AppendTo(nil); !bytes.Equal(s, s2) {
		t.Fatalf("%s: serialization not stable:\n%q\n%q", what, s, s2)
	}
}

func FuzzParseDatagram(f *testing.F) {
	addFileSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, input []byte) {
		defer catchPanics(t)
		// Work on a copy: the engine keeps the input for reporting.
		data := append([]byte(nil), input...)
		m, err := sip.Parse(data)
		if err != nil {
			if m != nil {
				t.Fatalf("Parse returned a message and an error")
			}
			checkParseError(t, err)
			return
		}
		checkMessage(t, m, "datagram")

		// ParseOwned reads the same; it takes the buffer over.
		owned := append([]byte(nil), data...)
		mo, err := sip.NewParser(sip.Limits{}).ParseOwned(owned)
		if err != nil {
			t.Fatalf("ParseOwned refuses what Parse accepts: %v", err)
		}
		if d := diffViews(viewOf(m), viewOf(mo)); d != "" {
			t.Fatalf("ParseOwned differs from Parse:\n%s", d)
		}
		// Parse copied its input: changing it changes nothing.
		before := m.AppendTo(nil)
		for i := range data {
			data[i] ^= 0xff
		}
		if after := m.AppendTo(nil); !bytes.Equal(before, after) {
			t.Fatalf("message shares the caller's buffer")
		}
	})
}

// chunkSizes derives bounded write sizes from split: 0 writes everything at
// once; otherwise the sizes cycle through a few values from 1 to 256.
func chunkSizes(split uint8) []int {
	if split == 0 {
		return []int{1 << 30}
	}
	s := int(split)
	return []int{s%16 + 1, s + 1, s>>4 + 1, 1, (s*7)%61 + 1}
}

// runStream writes data to a StreamParser in chunks of the given sizes,
// calling Next until ErrIncomplete after every write, and checks every
// result on the way. It returns what came out, one string per event, so
// that two chunkings of the same bytes can be compared.
func runStream(t *testing.T, data []byte, sizes []int, limits sip.Limits) []string {
	t.Helper()
	maxBuf := sip.DefaultMaxMessageSize + 4
	if limits.MaxMessageSize > 0 {
		maxBuf = limits.MaxMessageSize + 4
	}
	datagram := sip.NewParser(limits)
	p := sip.NewStreamParser(limits)
	var events []string
	steps := 0
	for i, off := 0, 0; off < len(data); i++ {
		n := min(sizes[i%len(sizes)], len(data)-off)
		before := p.Buffered()
		w, err := p.Write(data[off : off+n])
		if err != nil {
			if !errors.Is(err, sip.ErrBufferFull) {
				t.Fatalf("Write: %v", err)
			}
			if before+n <= maxBuf {
				t.Fatalf("Write refused %d bytes with %d buffered (limit %d)", n, before, maxBuf)
			}
			// The connection is closed: message too large.
			return append(events, "buffer full")
		}
		if w != n {
			t.Fatalf("Write = %d, want %d", w, n)
		}
		if p.Buffered() > maxBuf {
			t.Fatalf("Buffered() = %d > %d", p.Buffered(), maxBuf)
		}
		off += n
		for {
			if steps++; steps > 4*len(data)+16 {
				t.Fatalf("Next does not make progress")
			}
			bufBefore := p.Buffered()
			m, ka, err := p.Next()
			if errors.Is(err, sip.ErrIncomplete) {
				if m != nil || ka != sip.NoKeepAlive {
					t.Fatalf("ErrIncomplete with a result")
				}
				break
			}
			if err != nil {
				checkParseError(t, err)
				// Framing is lost: the connection is closed.
				return append(events, "error "+err.(*sip.ParseError).StatusLine())
			}
			consumed := bufBefore - p.Buffered()
			if consumed <= 0 {
				t.Fatalf("Next returned a result without consuming bytes")
			}
			switch {
			case m != nil:
				if ka != sip.NoKeepAlive {
					t.Fatalf("Next returned a message and a keep-alive")
				}
				if _, ok := m.ContentLength(); !ok {
					t.Fatalf("stream message without Content-Length")
				}
				checkMessage(t, m, "stream")
				// The bytes the message came from read the same as a
				// datagram.
				start := off - bufBefore
				seg := data[start : start+consumed]
				dm, err := datagram.Parse(seg)
				if err != nil {
					t.Fatalf("stream accepted %q, datagram parse refuses it: %v", seg, err)
				}
				if d := diffViews(viewOf(dm), viewOf(m)); d != "" {
					t.Fatalf("stream and datagram parse of %q differ:\n%s", seg, d)
				}
				events = append(events, "message "+m.String())
			case ka == sip.Ping:
				events = append(events, "ping")
			case ka == sip.Pong:
				events = append(events, "pong")
			default:
				t.Fatalf("Next returned neither message, keep-alive nor error")
			}
		}
	}
	return append(events, "end", "buffered "+strconv.Itoa(p.Buffered()))
}

func FuzzStream(f *testing.F) {
	addFileSeeds(f, func(b []byte) {
		f.Add(b, uint8(0))
		f.Add(b, uint8(3))
		// The same message twice with keep-alives around it.
		two := append(append(append([]byte("\r\n\r\n"), b...), "\r\n"...), b...)
		f.Add(two, uint8(200))
	})
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		defer catchPanics(t)
		limits := sip.Limits{}
		if split&0x80 != 0 {
			// A small limit, so that the size checks are reached.
			limits.MaxMessageSize = 512
		}
		events := runStream(t, data, chunkSizes(split), limits)
		// How the bytes were cut must not change what comes out, as long
		// as they fit in the buffer whole.
		if max := sip.DefaultLimits().MaxMessageSize; len(data) <= max && (limits.MaxMessageSize == 0 || len(data) <= limits.MaxMessageSize) {
			whole := runStream(t, data, []int{len(data) + 1}, limits)
			if !reflect.DeepEqual(events, whole) {
				t.Fatalf("chunks %v and one write give different results:\n%q\n%q", chunkSizes(split), events, whole)
			}
		}
	})
}

// FuzzEdits applies the edits a proxy makes to a parsed message; the
// result must serialize and re-parse to the same message.
func FuzzEdits(f *testing.F) {
	addFileSeeds(f, func(b []byte) {
		f.Add(b, uint16(0))
		f.Add(b, uint16(0x1234))
		f.Add(b, uint16(0xfedc))
	})
	f.Fuzz(func(t *testing.T, data []byte, ops uint16) {
		defer catchPanics(t)
		m, err := sip.Parse(data)
		if err != nil {
			return
		}
		for i := 0; i < 5; i++ {
			switch op := ops >> (3 * i) & 7; op {
			case 0:
				m.SetTopViaReceived("192.0.2.1", 0)
				if top := m.TopVia(); top.Received() != "192.0.2.1" {
					t.Fatalf("after SetTopViaReceived: received %q in %q", top.Received(), top.String())
				}
			case 1:
				m.SetTopViaReceived("198.51.100.2", 5062)
				top := m.TopVia()
				if p, ok := top.RPort(); top.Received() != "198.51.100.2" || !ok || p != 5062 {
					t.Fatalf("after SetTopViaReceived: %q", top.String())
				}
			case 2:
				v := sip.Via{Transport: "UDP", Host: "198.51.100.7", Port: 5060, Params: ";branch=z9hG4bKfuzz"}
				m.PrependVia(v)
				if vx(m.TopVia()) != vx(v) && m.TopVia().String() != v.String() {
					t.Fatalf("after PrependVia: TopVia %#v", m.TopVia())
				}
			case 3:
				before, had := m.MaxForwards()
				n := m.DecrementMaxForwards()
				if had && n != max(before-1, 0) || !had && n != 70 {
					t.Fatalf("DecrementMaxForwards from %d %v = %d", before, had, n)
				}
			case 4:
				m.RemoveFirst(sip.HeaderRoute)
			case 5:
				if err := m.Prepend(sip.HeaderRecordRoute, "<sip:198.51.100.7;lr>"); err != nil {
					t.Fatalf("Prepend(Record-Route): %v", err)
				}
			case 6:
				// A proxy removes its Via from a response, then reads the
				// next; do it only when that one is well formed.
				var vias []viaResult
				for v, err := range m.Vias() {
					vias = append(vias, viaResult{vx(v), errString(err)})
					if len(vias) == 2 {
						break
					}
				}
				if len(vias) == 2 && vias[1].Err == "" {
					m.RemoveTopVia()
					if vx(m.TopVia()) != vias[1].Via {
						t.Fatalf("after RemoveTopVia: TopVia %#v, want %#v", m.TopVia(), vias[1].Via)
					}
				}
			case 7:
				m.SetToTag("fuzz")
				if to := m.To(); m.ToTag() == "" || to.Tag() != m.ToTag() {
					t.Fatalf("after SetToTag: ToTag %q, To().Tag() %q", m.ToTag(), to.Tag())
				}
			}
		}
		checkMessage(t, m, "edited")
	})
}

func FuzzURI(f *testing.F) {
	for _, s := range []string{
		"sip:alice@atlanta.com",
		"sips:bob:secret@[2001:db8::1]:5061;transport=tls;lr?subject=hi&priority=urgent",
		"tel:+1-201-555-0123;ext=12",
		"urn:service:sos",
	} {
		f.Add(s)
	}
	addFileSeeds(f, func(b []byte) {
		// The Request-URI of each fixture.
		line, _, _ := bytes.Cut(b, []byte("\r\n"))
		if parts := strings.Fields(string(line)); len(parts) == 3 && !strings.HasPrefix(parts[0], "SIP/") {
			f.Add(parts[1])
		}
	})
	f.Fuzz(func(t *testing.T, s string) {
		defer catchPanics(t)
		u, err := sip.ParseURI(s)
		if err != nil {
			return
		}
		if !u.Equal(&u) {
			t.Fatalf("Equal not reflexive for %q", s)
		}
		_, _, _, _, _ = u.IsSIP(), u.IsSIPS(), u.IsTel(), u.Transport(), u.HostPort()
		str := u.String()
		u2, err := sip.ParseURI(str)
		if err != nil {
			t.Fatalf("ParseURI(%q) ok, but its String() %q does not parse: %v", s, str, err)
		}
		if !u.Equal(&u2) || !u2.Equal(&u) {
			t.Fatalf("ParseURI(%q).String() = %q is not Equal to it", s, str)
		}
		if ux(u2) != ux(u) {
			t.Fatalf("ParseURI(%q) = %#v\nre-parse of %q = %#v", s, u, str, u2)
		}
		if str2 := u2.String(); str2 != str {
			t.Fatalf("String not stable: %q -> %q", str, str2)
		}
	})
}
