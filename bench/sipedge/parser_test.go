// Package sipedgebench holds the parser benchmarks of package sip. They do
// the same work as bench/sipgo on the same fixture, so that bench/parser.sh
// can put the two side by side; like bench/sipgo, the test binary holds
// nothing but the parser and the benchmarks (the sip package's own tests
// bring a megabyte of property-test tables, which every garbage collection
// would mark).
package sipedgebench

import (
	"bytes"
	"os"
	"testing"

	"github.com/sipedge/sipedge/sip"
)

const benchFixture = "../../sip/testdata/bench/webrtc-invite.sip"

type accessResult struct {
	ruriHost       string
	method         string
	viaTransport   string
	viaHost        string
	viaPort        int
	viaBranch      string
	viaRport       bool
	maxForwards    int
	routeHost      string
	routeLR        bool
	fromTag        string
	toHasTag       bool
	callID         string
	cseqNum        uint32
	cseqMethod     string
	contactUser    string
	contactHost    string
	contactInst    string
	contentLength  int
	hasProxyReqire bool
}

var (
	sinkAccess accessResult
	sinkBytes  int
)

// access reads what a proxy reads from an incoming request.
func access(m *sip.Message, r *accessResult) {
	r.ruriHost = m.RequestURI.Host
	r.method = m.Method
	v := m.TopVia()
	r.viaTransport, r.viaHost, r.viaPort = v.Transport, v.Host, v.Port
	r.viaBranch = v.Branch()
	_, r.viaRport = v.RPort()
	r.maxForwards, _ = m.MaxForwards()
	if rt, ok, _ := m.FirstAddr(sip.HeaderRoute); ok {
		r.routeHost = rt.URI.Host
		r.routeLR = rt.URI.Params.Has("lr")
	}
	r.fromTag = m.FromTag()
	r.toHasTag = m.ToTag() != ""
	r.callID = m.CallID()
	cs := m.CSeq()
	r.cseqNum, r.cseqMethod = cs.Seq, cs.Method
	if c, ok, _ := m.FirstAddr(sip.HeaderContact); ok {
		r.contactUser, r.contactHost = c.URI.User, c.URI.Host
		r.contactInst, _ = c.Params.Get("+sip.instance")
	}
	r.contentLength, _ = m.ContentLength()
	_, r.hasProxyReqire = m.Get("Proxy-Require")
}

func loadBenchFixture(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(benchFixture)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func BenchmarkParseAccess(b *testing.B) { benchAccess(b, false) }

// BenchmarkParseAccessOwned is BenchmarkParseAccess with ParseOwned, for a
// transport that hands each message a buffer of its own (a WebSocket
// frame): the parser then skips its copy.
func BenchmarkParseAccessOwned(b *testing.B) { benchAccess(b, true) }

// benchAccess parses the fixture (with ParseOwned when owned) and reads
// what a proxy reads, after checking once that it reads the right values.
func benchAccess(b *testing.B, owned bool) {
	data := loadBenchFixture(b)
	p := sip.NewParser(sip.Limits{})
	parse := func() *sip.Message {
		var m *sip.Message
		var err error
		if owned {
			m, err = p.ParseOwned(data)
		} else {
			m, err = p.Parse(data)
		}
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	want := accessResult{
		ruriHost: "example.org", method: "INVITE",
		viaTransport: "WSS", viaHost: "df7jal23ls0d.invalid", viaBranch: "z9hG4bK3719475", viaRport: true,
		maxForwards: 69, routeHost: "edge.example.org", routeLR: true,
		fromTag: "a73kszlfl8", callID: "o8ppaq1jq6pcdmuvjg3c7g", cseqNum: 6305, cseqMethod: "INVITE",
		contactUser: "k3ka4u7l", contactHost: "df7jal23ls0d.invalid",
		contactInst: "<urn:uuid:3f1c5e2a-8b4d-4c6e-9a7f-2d1e0b9c8a76>", contentLength: 1247,
	}
	var got accessResult
	access(parse(), &got)
	if got != want {
		b.Fatalf("values read differ from fixture:\n got  %+v\n want %+v", got, want)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		access(parse(), &sinkAccess)
	}
}

// editSerialize makes the edits of a stateful proxy forwarding the
// request (RFC 3261 §16.6) and serializes it into buf.
func editSerialize(p *sip.Parser, data, buf []byte) ([]byte, error) {
	m, err := p.Parse(data)
	if err != nil {
		return nil, err
	}
	m.SetTopViaReceived("192.0.2.1", 0)
	m.PrependVia(sip.Via{Transport: "UDP", Host: "198.51.100.7", Port: 5060, Params: ";branch=z9hG4bKsipedgebench.0001"})
	m.DecrementMaxForwards()
	m.RemoveFirst(sip.HeaderRoute)
	if err := m.Prepend(sip.HeaderRecordRoute, "<sip:198.51.100.7;lr>"); err != nil {
		return nil, err
	}
	return m.AppendTo(buf[:0]), nil
}

func BenchmarkParseEditSerialize(b *testing.B) {
	data := loadBenchFixture(b)
	p := sip.NewParser(sip.Limits{})
	buf := make([]byte, 0, 4096)
	out, err := editSerialize(p, data, buf)
	if err != nil {
		b.Fatal(err)
	}
	for _, want := range []string{
		"INVITE sip:bob@example.org SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKsipedgebench.0001\r\nVia: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK3719475;rport;received=192.0.2.1\r\n",
		"\r\nMax-Forwards: 68\r\n", "\r\nRoute: <sip:core.example.org;lr>\r\n", "\r\nRecord-Route: <sip:198.51.100.7;lr>\r\n",
	} {
		if !bytes.Contains(out, []byte(want)) {
			b.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	if !bytes.HasSuffix(out, data[bytes.Index(data, []byte("\r\n\r\n")):]) {
		b.Fatal("body changed")
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := editSerialize(p, data, buf)
		if err != nil {
			b.Fatal(err)
		}
		sinkBytes += len(out)
	}
}
