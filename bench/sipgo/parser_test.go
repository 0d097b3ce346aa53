// Package sipgobench benchmarks github.com/emiago/sipgo's SIP parser on the
// same fixture and the same proxy workload as sipedge's own benchmarks in
// ../../sip (BenchmarkParseAccess, BenchmarkParseEditSerialize).
//
// It lives in its own module so sipgo never enters sipedge's go.mod.
package sipgobench

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

const fixturePath = "../../sip/testdata/bench/webrtc-invite.sip"

func loadFixture(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile(fixturePath)
	if err != nil {
		b.Fatalf("read fixture: %v", err)
	}
	return data
}

func parseRequest(p *sip.Parser, data []byte) (*sip.Request, error) {
	msg, err := p.ParseSIP(data)
	if err != nil {
		return nil, err
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return nil, errNotRequest
	}
	return req, nil
}

type benchErr string

func (e benchErr) Error() string { return string(e) }

const errNotRequest = benchErr("parsed message is not a request")

// accessResult is everything a proxy reads from an incoming request.
type accessResult struct {
	ruriHost       string
	method         string
	viaTransport   string
	viaHost        string
	viaPort        int
	viaBranch      string
	viaRport       bool
	maxForwards    uint32
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
	contentLength  uint32
	hasProxyReqire bool
}

var (
	sinkAccess accessResult
	sinkBytes  int
)

// access reads the fields; missing headers leave zero values, which the
// pre-loop check turns into a failure.
func access(req *sip.Request, r *accessResult) {
	r.ruriHost = req.Recipient.Host
	r.method = string(req.Method)
	if v := req.Via(); v != nil {
		r.viaTransport = v.Transport
		r.viaHost = v.Host
		r.viaPort = v.Port
		r.viaBranch, _ = v.Params.Get("branch")
		r.viaRport = v.Params.Has("rport")
	}
	if mf := req.MaxForwards(); mf != nil {
		r.maxForwards = mf.Val()
	}
	if rt := req.Route(); rt != nil {
		r.routeHost = rt.Address.Host
		r.routeLR = rt.Address.UriParams.Has("lr")
	}
	if f := req.From(); f != nil {
		r.fromTag, _ = f.Params.Get("tag")
	}
	if t := req.To(); t != nil {
		r.toHasTag = t.Params.Has("tag")
	}
	if c := req.CallID(); c != nil {
		r.callID = c.Value()
	}
	if cs := req.CSeq(); cs != nil {
		r.cseqNum = cs.SeqNo
		r.cseqMethod = string(cs.MethodName)
	}
	if ct := req.Contact(); ct != nil {
		r.contactUser = ct.Address.User
		r.contactHost = ct.Address.Host
		// sipgo keeps the DQUOTEs of a quoted header-param value.
		r.contactInst, _ = ct.Params.Get("+sip.instance")
	}
	if cl := req.ContentLength(); cl != nil {
		r.contentLength = uint32(*cl)
	}
	r.hasProxyReqire = req.GetHeader("Proxy-Require") != nil
}

func BenchmarkParseAccess(b *testing.B) {
	data := loadFixture(b)
	p := sip.NewParser()

	want := accessResult{
		ruriHost:       "example.org",
		method:         "INVITE",
		viaTransport:   "WSS",
		viaHost:        "df7jal23ls0d.invalid",
		viaPort:        0,
		viaBranch:      "z9hG4bK3719475",
		viaRport:       true,
		maxForwards:    69,
		routeHost:      "edge.example.org",
		routeLR:        true,
		fromTag:        "a73kszlfl8",
		toHasTag:       false,
		callID:         "o8ppaq1jq6pcdmuvjg3c7g",
		cseqNum:        6305,
		cseqMethod:     "INVITE",
		contactUser:    "k3ka4u7l",
		contactHost:    "df7jal23ls0d.invalid",
		contactInst:    `"<urn:uuid:3f1c5e2a-8b4d-4c6e-9a7f-2d1e0b9c8a76>"`,
		contentLength:  1247,
		hasProxyReqire: false,
	}
	req, err := parseRequest(p, data)
	if err != nil {
		b.Fatalf("parse: %v", err)
	}
	var got accessResult
	access(req, &got)
	if got != want {
		b.Fatalf("values read differ from fixture:\n got  %+v\n want %+v", got, want)
	}
	if n := len(req.Body()); uint32(n) != want.contentLength {
		b.Fatalf("body length %d, want %d", n, want.contentLength)
	}

	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, err := parseRequest(p, data)
		if err != nil {
			b.Fatal(err)
		}
		access(req, &sinkAccess)
	}
}

const (
	proxyHost   = "198.51.100.7"
	proxyPort   = 5060
	proxyBranch = "z9hG4bKsipedgebench.0001"
)

// editSerialize applies the edits of a stateful proxy forwarding the request
// (RFC 3261 16.6) and writes the result into buf.
func editSerialize(p *sip.Parser, data []byte, buf *bytes.Buffer) error {
	req, err := parseRequest(p, data)
	if err != nil {
		return err
	}
	// received= on the top Via (before our Via becomes the top one).
	if v := req.Via(); v != nil {
		v.Params.Add("received", "192.0.2.1")
	}
	// Our own Via on top.
	via := &sip.ViaHeader{
		ProtocolName:    "SIP",
		ProtocolVersion: "2.0",
		Transport:       "UDP",
		Host:            proxyHost,
		Port:            proxyPort,
		Params:          sip.HeaderParams{{K: "branch", V: proxyBranch}},
	}
	req.PrependHeader(via)
	if mf := req.MaxForwards(); mf != nil {
		mf.Dec()
	}
	// sipgo splits "Route: a, b" into one RouteHeader per entry, so removing the
	// first entry is RemoveHeader("Route"); the second is re-emitted on its own line.
	req.RemoveHeader("Route")
	// Prepended after the Via, as sipgo's ClientRequestAddRecordRoute does, so it
	// ends up as the first header line.
	req.PrependHeader(&sip.RecordRouteHeader{Address: sip.Uri{
		Scheme:    "sip",
		Host:      proxyHost,
		UriParams: sip.HeaderParams{{K: "lr", V: ""}},
	}})
	buf.Reset()
	req.StringWrite(buf)
	return nil
}

func checkEdited(out, fixture string) string {
	idx := func(s string) int { return strings.Index(out, s) }
	newVia := "\r\nVia: SIP/2.0/UDP 198.51.100.7:5060;branch=" + proxyBranch + "\r\n"
	oldVia := "\r\nVia: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK3719475;rport;received=192.0.2.1\r\n"
	switch {
	case !strings.HasPrefix(out, "INVITE sip:bob@example.org SIP/2.0\r\n"):
		return "request line"
	case idx(newVia) < 0:
		return "new Via missing"
	case idx("\r\nVia:") != idx(newVia):
		return "new Via is not the first Via"
	case idx(oldVia) < 0 || idx(oldVia) < idx(newVia):
		return "received param missing on former top Via, or Via order wrong"
	case !strings.Contains(out, "\r\nMax-Forwards: 68\r\n"):
		return "Max-Forwards: 68 missing"
	case strings.Contains(out, "edge.example.org"):
		return "first Route entry still present"
	case !strings.Contains(out, "<sip:core.example.org;lr>"):
		return "second Route entry missing"
	case strings.Count(out, "Record-Route:") != 1 || !strings.Contains(out, "\r\nRecord-Route: <sip:198.51.100.7;lr>\r\n"):
		return "Record-Route missing"
	}
	i := strings.Index(fixture, "\r\n\r\n")
	j := strings.Index(out, "\r\n\r\n")
	if i < 0 || j < 0 || out[j+4:] != fixture[i+4:] {
		return "body not intact"
	}
	return ""
}

func BenchmarkParseEditSerialize(b *testing.B) {
	data := loadFixture(b)
	p := sip.NewParser()
	var buf bytes.Buffer
	buf.Grow(2 * len(data))

	if err := editSerialize(p, data, &buf); err != nil {
		b.Fatalf("parse: %v", err)
	}
	if msg := checkEdited(buf.String(), string(data)); msg != "" {
		b.Fatalf("serialized output wrong: %s\n%s", msg, buf.String())
	}

	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := editSerialize(p, data, &buf); err != nil {
			b.Fatal(err)
		}
		sinkBytes += buf.Len()
	}
}
