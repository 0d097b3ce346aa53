package registrar

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// clock is a fake Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var flow = transport.Flow{
	ID:     7,
	Kind:   transport.WSS,
	Local:  netip.MustParseAddrPort("127.0.0.1:443"),
	Remote: netip.MustParseAddrPort("127.0.0.1:50000"),
}

func newRegistrar(t testing.TB, mod func(*Config)) (*Registrar, *clock) {
	t.Helper()
	clk := &clock{t: t0}
	cfg := Config{Store: location.NewMemory(), Now: clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, clk
}

// register builds a REGISTER for bob (RFC 3261 §10.2 examples) with the
// given Call-ID, CSeq and extra header lines, applies it, and returns the
// response parsed again from its wire form.
func register(t testing.TB, r *Registrar, callID string, cseq int, extra ...string) *sip.Message {
	t.Helper()
	return registerFrom(t, r, flow, callID, cseq, extra...)
}

// registerFrom is register over the flow src.
func registerFrom(t testing.TB, r *Registrar, src transport.Flow, callID string, cseq int, extra ...string) *sip.Message {
	t.Helper()
	text := "REGISTER sip:registrar.biloxi.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7\r\n" +
		"Max-Forwards: 70\r\n" +
		"To: Bob <sip:bob@biloxi.com>\r\n" +
		"From: Bob <sip:bob@biloxi.com>;tag=456248\r\n" +
		"Call-ID: " + callID + "\r\n" +
		fmt.Sprintf("CSeq: %d REGISTER\r\n", cseq)
	for _, h := range extra {
		text += h + "\r\n"
	}
	text += "Content-Length: 0\r\n\r\n"
	req, err := sip.Parse([]byte(text))
	if err != nil {
		t.Fatalf("parse request: %v\n%s", err, text)
	}
	resp := r.Register(req, src)
	if resp == nil {
		t.Fatal("nil response")
	}
	again, err := sip.Parse([]byte(resp.String()))
	if err != nil {
		t.Fatalf("response does not parse: %v\n%s", err, resp)
	}
	if again.ToTag() == "" {
		t.Fatalf("response without To tag:\n%s", resp)
	}
	if again.CallID() != req.CallID() || again.CSeq() != req.CSeq() {
		t.Fatalf("response Call-ID/CSeq differ:\n%s", resp)
	}
	return again
}

// contacts returns the response's Contacts as "uri expires=N".
func contacts(t testing.TB, m *sip.Message) []string {
	t.Helper()
	var out []string
	for a, err := range m.Contacts() {
		if err != nil {
			t.Fatalf("response Contact: %v", err)
		}
		e, ok := a.Expires()
		if !ok {
			t.Fatalf("response Contact %s without expires", a.String())
		}
		out = append(out, fmt.Sprintf("%s %d", a.URI.String(), e))
	}
	return out
}

const bobAOR = "sip:bob@biloxi.com"

type step struct {
	advance time.Duration
	callID  string
	cseq    int
	headers []string
	status  int
	// want lists the response Contacts ("uri expires"), in order; nil
	// means none.
	want []string
	// check runs on the response.
	check func(t *testing.T, resp *sip.Message)
}

func TestRegister(t *testing.T) {
	const cid = "843817637684230@998sdasdh09"
	tests := []struct {
		name  string
		mod   func(*Config)
		steps []step
	}{
		{name: "add with expires param", steps: []step{
			{callID: cid, cseq: 1826, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=1800"}, status: 200,
				want: []string{"sip:bob@192.0.2.4 1800"}},
		}},
		{name: "Expires header applies to contacts without a param", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>, <sip:bob@192.0.2.5>;expires=600", "Expires: 7200"}, status: 200,
				want: []string{"sip:bob@192.0.2.4 3600", "sip:bob@192.0.2.5 600"}},
		}},
		{name: "default expiry", mod: func(c *Config) { c.DefaultExpires = 900 * time.Second }, steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>"}, status: 200, want: []string{"sip:bob@192.0.2.4 900"}},
		}},
		{name: "longer than max is cut", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=4294967295"}, status: 200, want: []string{"sip:bob@192.0.2.4 3600"}},
		}},
		{name: "too brief gets 423 with Min-Expires", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=30"}, status: 423,
				check: func(t *testing.T, resp *sip.Message) {
					if v, ok := resp.MinExpires(); !ok || v != 60 {
						t.Errorf("Min-Expires = %d, %v", v, ok)
					}
				}},
			{callID: cid, cseq: 2, headers: []string{"Contact: <sip:bob@192.0.2.4>", "Expires: 59"}, status: 423},
			{callID: cid, cseq: 3, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=60"}, status: 200, want: []string{"sip:bob@192.0.2.4 60"}},
		}},
		{name: "refresh", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=600"}, status: 200, want: []string{"sip:bob@192.0.2.4 600"}},
			{advance: 100 * time.Second, status: 200, want: []string{"sip:bob@192.0.2.4 500"}},
			{callID: cid, cseq: 2, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=600"}, status: 200,
				want: []string{"sip:bob@192.0.2.4 600"}},
			// §19.1.4: a transport parameter on one side only makes another URI.
			{callID: cid, cseq: 3, headers: []string{"Contact: <sip:bob@192.0.2.4;transport=udp>;expires=300"}, status: 200,
				want: []string{"sip:bob@192.0.2.4 600", "sip:bob@192.0.2.4;transport=udp 300"}},
		}},
		{name: "expired binding is gone", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=60"}, status: 200, want: []string{"sip:bob@192.0.2.4 60"}},
			{advance: 60 * time.Second, callID: cid, cseq: 2, status: 200},
		}},
		{name: "remove one", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>, <sip:bob@192.0.2.5>"}, status: 200,
				want: []string{"sip:bob@192.0.2.4 3600", "sip:bob@192.0.2.5 3600"}},
			{callID: cid, cseq: 2, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=0"}, status: 200, want: []string{"sip:bob@192.0.2.5 3600"}},
			{callID: cid, cseq: 3, headers: []string{"Contact: <sip:bob@192.0.2.5>", "Expires: 0"}, status: 200},
		}},
		{name: "removing an unknown contact is fine", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:nobody@192.0.2.9>;expires=0"}, status: 200},
		}},
		{name: "remove all with star", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>, <sip:bob@192.0.2.5>"}, status: 200,
				want: []string{"sip:bob@192.0.2.4 3600", "sip:bob@192.0.2.5 3600"}},
			{advance: time.Second, callID: "other-call", cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.6>"}, status: 200,
				want: []string{"sip:bob@192.0.2.6 3600", "sip:bob@192.0.2.4 3599", "sip:bob@192.0.2.5 3599"}},
			{callID: cid, cseq: 2, headers: []string{"Contact: *", "Expires: 0"}, status: 200},
			{callID: cid, cseq: 3, status: 200},
		}},
		{name: "star misuse", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>"}, status: 200, want: []string{"sip:bob@192.0.2.4 3600"}},
			{callID: cid, cseq: 2, headers: []string{"Contact: *"}, status: 400},
			{callID: cid, cseq: 3, headers: []string{"Contact: *", "Expires: 10"}, status: 400},
			{callID: cid, cseq: 4, headers: []string{"Contact: *, <sip:bob@192.0.2.4>", "Expires: 0"}, status: 400},
			{callID: cid, cseq: 5, headers: []string{"Contact: <sip:bob@192.0.2.4>", "Contact: *", "Expires: 0"}, status: 400},
			{callID: cid, cseq: 6, headers: []string{"Contact: *, *", "Expires: 0"}, status: 400},
			{callID: cid, cseq: 7, status: 200, want: []string{"sip:bob@192.0.2.4 3600"}},
		}},
		{name: "star out of order", steps: []step{
			{callID: cid, cseq: 5, headers: []string{"Contact: <sip:bob@192.0.2.4>"}, status: 200, want: []string{"sip:bob@192.0.2.4 3600"}},
			{callID: cid, cseq: 5, headers: []string{"Contact: *", "Expires: 0"}, status: 500},
			{callID: cid, cseq: 6, headers: []string{"Contact: *, *", "Expires: 0"}, status: 400},
			{callID: cid, cseq: 7, status: 200, want: []string{"sip:bob@192.0.2.4 3600"}},
		}},
		{name: "q order", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:a@192.0.2.1>;q=0.5, <sip:b@192.0.2.2>;q=0.9, <sip:c@192.0.2.3>, <sip:d@192.0.2.4>;q=0"}, status: 200,
				want: []string{"sip:c@192.0.2.3 3600", "sip:b@192.0.2.2 3600", "sip:a@192.0.2.1 3600", "sip:d@192.0.2.4 3600"},
				check: func(t *testing.T, resp *sip.Message) {
					for a := range resp.Contacts() {
						if a.URI.User == "a" && string(a.Params) != ";q=0.5;expires=3600" {
							t.Errorf("contact params = %q", a.Params)
						}
					}
				}},
		}},
		{name: "recent first at equal q", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:old@192.0.2.1>"}, status: 200, want: []string{"sip:old@192.0.2.1 3600"}},
			{advance: time.Second, callID: cid, cseq: 2, headers: []string{"Contact: <sip:new@192.0.2.2>"}, status: 200,
				want: []string{"sip:new@192.0.2.2 3600", "sip:old@192.0.2.1 3599"}},
		}},
		{name: "query", steps: []step{
			{callID: cid, cseq: 1, status: 200},
			{callID: cid, cseq: 2, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=120"}, status: 200, want: []string{"sip:bob@192.0.2.4 120"}},
			{advance: 20 * time.Second, callID: "another", cseq: 1, status: 200, want: []string{"sip:bob@192.0.2.4 100"},
				check: func(t *testing.T, resp *sip.Message) {
					if _, ok := resp.Get("Date"); !ok {
						t.Error("no Date")
					}
				}},
		}},
		{name: "out of order CSeq", steps: []step{
			{callID: cid, cseq: 10, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=600"}, status: 200, want: []string{"sip:bob@192.0.2.4 600"}},
			{callID: cid, cseq: 10, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=0"}, status: 500},
			{callID: cid, cseq: 9, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=900"}, status: 500},
			// A contact not bound yet is not subject to the rule...
			{callID: cid, cseq: 3, headers: []string{"Contact: <sip:bob@192.0.2.5>;expires=600"}, status: 200,
				want: []string{"sip:bob@192.0.2.4 600", "sip:bob@192.0.2.5 600"}},
			// ...but the whole request fails when one contact is out of order.
			{callID: cid, cseq: 8, headers: []string{"Contact: <sip:bob@192.0.2.6>, <sip:bob@192.0.2.4>"}, status: 500},
			{callID: cid, cseq: 11, status: 200, want: []string{"sip:bob@192.0.2.4 600", "sip:bob@192.0.2.5 600"}},
		}},
		{name: "same contact from another Call-ID replaces", steps: []step{
			{callID: cid, cseq: 100, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=600"}, status: 200, want: []string{"sip:bob@192.0.2.4 600"}},
			{callID: "rebooted", cseq: 1, headers: []string{"Contact: <SIP:bob@192.0.2.4>;expires=300"}, status: 200, want: []string{"SIP:bob@192.0.2.4 300"}},
			{callID: "rebooted", cseq: 2, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=0"}, status: 200},
		}},
		{name: "duplicate contact in one request: the last wins", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=600, <sip:bob@192.0.2.4>;expires=300"}, status: 200,
				want: []string{"sip:bob@192.0.2.4 300"}},
		}},
		{name: "malformed", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=soon"}, status: 400},
			{callID: cid, cseq: 2, headers: []string{"Contact: <sip:bob@192.0.2.4>;expires=4294967296"}, status: 400},
			{callID: cid, cseq: 3, headers: []string{"Contact: <sip:bob@192.0.2.4>;q=1.5"}, status: 400},
			{callID: cid, cseq: 4, headers: []string{"Contact: <sip:bob@192.0.2.4>;reg-id=0"}, status: 400},
			{callID: cid, cseq: 5, headers: []string{"Contact: <sip:bob@192.0.2.4"}, status: 400},
			{callID: cid, cseq: 6, headers: []string{"Contact: <sip:bob@192.0.2.4>", "Path: <sip:p@edge;lr"}, status: 400},
			{callID: cid, cseq: 7, status: 200},
		}},
		{name: "too many bindings", mod: func(c *Config) { c.MaxBindingsPerAOR = 2 }, steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:a@192.0.2.1>, <sip:b@192.0.2.2>"}, status: 200,
				want: []string{"sip:a@192.0.2.1 3600", "sip:b@192.0.2.2 3600"}},
			{callID: cid, cseq: 2, headers: []string{"Contact: <sip:c@192.0.2.3>"}, status: 503},
			{callID: cid, cseq: 3, headers: []string{"Contact: <sip:a@192.0.2.1>, <sip:b@192.0.2.2>, <sip:c@192.0.2.3>"}, status: 503},
			// Replacing one within the cap works.
			{callID: cid, cseq: 4, headers: []string{"Contact: <sip:a@192.0.2.1>;expires=0, <sip:c@192.0.2.3>"}, status: 200,
				want: []string{"sip:b@192.0.2.2 3600", "sip:c@192.0.2.3 3600"}},
		}},
		{name: "Require", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>", "Require: path, foo"}, status: 420,
				check: func(t *testing.T, resp *sip.Message) {
					if v, _ := resp.Get("Unsupported"); v != "foo" {
						t.Errorf("Unsupported = %q", v)
					}
				}},
			{callID: cid, cseq: 2, headers: []string{"Contact: <sip:bob@192.0.2.4>", "Require: path"}, status: 200, want: []string{"sip:bob@192.0.2.4 3600"}},
		}},
		{name: "Path echoed when supported", steps: []step{
			{callID: cid, cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.4>", "Path: <sip:p1@edge.example;lr>", "Path: <sip:p2@core.example;lr>", "Supported: path"}, status: 200,
				want: []string{"sip:bob@192.0.2.4 3600"},
				check: func(t *testing.T, resp *sip.Message) {
					var got []string
					for v := range resp.Values(sip.HeaderPath) {
						got = append(got, v)
					}
					if !slices.Equal(got, []string{"<sip:p1@edge.example;lr>", "<sip:p2@core.example;lr>"}) {
						t.Errorf("Path = %q", got)
					}
				}},
			{callID: cid, cseq: 2, headers: []string{"Contact: <sip:bob@192.0.2.4>", "Path: <sip:p1@edge.example;lr>"}, status: 200,
				want: []string{"sip:bob@192.0.2.4 3600"},
				check: func(t *testing.T, resp *sip.Message) {
					if _, ok := resp.Get("Path"); ok {
						t.Error("Path returned to a client that does not support it")
					}
				}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, clk := newRegistrar(t, tt.mod)
			for i, s := range tt.steps {
				clk.Add(s.advance)
				callID := s.callID
				if callID == "" {
					callID = "query-" + fmt.Sprint(i)
				}
				cseq := s.cseq
				if cseq == 0 {
					cseq = 1
				}
				resp := register(t, r, callID, cseq, s.headers...)
				if resp.StatusCode != s.status {
					t.Fatalf("step %d: status %d %s, want %d\n%s", i, resp.StatusCode, resp.Reason, s.status, resp)
				}
				if got := contacts(t, resp); !slices.Equal(got, s.want) {
					t.Fatalf("step %d: contacts %q, want %q", i, got, s.want)
				}
				if s.status == 200 {
					if _, ok := resp.Get("Date"); !ok {
						t.Fatalf("step %d: 200 without Date", i)
					}
				}
				if s.check != nil {
					s.check(t, resp)
				}
			}
		})
	}
}

func TestBindingFields(t *testing.T) {
	r, _ := newRegistrar(t, nil)
	text := "REGISTER sip:biloxi.com SIP/2.0\r\n" +
		"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks\r\n" +
		"Max-Forwards: 70\r\n" +
		"To: <sips:B%6fb@BILOXI.com:5061;transport=tls>\r\n" +
		"From: <sip:bob@biloxi.com>;tag=1\r\n" +
		"Call-ID: reg-fields\r\n" +
		"CSeq: 42 REGISTER\r\n" +
		"Path: <sip:edge.example;lr>\r\n" +
		"Contact: \"Bob\" <sip:bob@df7jal23ls0d.invalid;transport=ws;ob>;expires=600;q=0.7;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\";reg-id=1;methods=\"INVITE,BYE\"\r\n" +
		"Content-Length: 0\r\n\r\n"
	req, err := sip.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if resp := r.Register(req, flow); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	bs := r.Lookup("sip:Bob@biloxi.com")
	if len(bs) != 1 {
		t.Fatalf("bindings = %d", len(bs))
	}
	b := bs[0]
	if b.AOR != "sip:Bob@biloxi.com" || b.Q != 700 || b.RegID != 1 || b.Instance != "urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF" ||
		b.CallID != "reg-fields" || b.CSeq != 42 || b.Flow != flow || !b.Updated.Equal(t0) || !b.Expires.Equal(t0.Add(600*time.Second)) ||
		!slices.Equal(b.Path, []string{"<sip:edge.example;lr>"}) {
		t.Fatalf("binding = %+v", b)
	}
	if got := b.Contact.String(); got != `"Bob" <sip:bob@df7jal23ls0d.invalid;transport=ws;ob>;q=0.7;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1;methods="INVITE,BYE"` {
		t.Fatalf("Contact = %s", got)
	}
	// The stored strings are not in the request's buffer.
	v, _ := req.Get("Contact")
	lo := uintptr(unsafe.Pointer(unsafe.StringData(v)))
	hi := lo + uintptr(len(v))
	for _, s := range []string{b.Contact.URI.User, b.Contact.URI.Host, string(b.Contact.Params), b.Instance, b.CallID, b.Path[0]} {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		if p >= lo && p < hi {
			t.Fatalf("%q shares the request's buffer", s)
		}
	}
	cid := req.CallID()
	if unsafe.StringData(cid) == unsafe.StringData(b.CallID) {
		t.Fatal("Call-ID shares the request's buffer")
	}
}

func TestNotRegister(t *testing.T) {
	r, _ := newRegistrar(t, nil)
	if r.Register(nil, flow) != nil {
		t.Fatal("response to nil")
	}
	req, err := sip.Parse([]byte("OPTIONS sip:biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nTo: <sip:bob@biloxi.com>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if resp := r.Register(req, flow); resp.StatusCode != 405 {
		t.Fatalf("OPTIONS: %d", resp.StatusCode)
	}
	if r.Register(sip.NewResponse(req, 200, ""), flow) != nil {
		t.Fatal("response to a response")
	}
	req, err = sip.Parse([]byte("REGISTER sip:biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nTo: <tel:+15551234>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if resp := r.Register(req, flow); resp.StatusCode != 404 {
		t.Fatalf("tel AOR: %d", resp.StatusCode)
	}
}

func TestNew(t *testing.T) {
	store := location.NewMemory()
	bad := []Config{
		{},
		{Store: store, MinExpires: -1},
		{Store: store, MinExpires: time.Hour, MaxExpires: time.Minute},
		{Store: store, MinExpires: 10 * time.Minute, DefaultExpires: time.Minute},
		{Store: store, DefaultExpires: 2 * time.Hour},
		{Store: store, MaxExpires: 200 * 365 * 24 * time.Hour},
		{Store: store, MinExpires: 1500 * time.Millisecond, DefaultExpires: 1500 * time.Millisecond, MaxExpires: 1500 * time.Millisecond},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("config %d accepted: %+v", i, c)
		}
	}
	good := []Config{
		{Store: store},
		{Store: store, MaxExpires: 300 * time.Second},
		{Store: store, MinExpires: time.Second, DefaultExpires: time.Second, MaxExpires: time.Second},
	}
	for i, c := range good {
		if _, err := New(c); err != nil {
			t.Errorf("config %d refused: %v", i, err)
		}
	}
}

func TestRun(t *testing.T) {
	r, clk := newRegistrar(t, nil)
	register(t, r, "run", 1, "Contact: <sip:bob@192.0.2.4>;expires=60")
	if r.store.Len() != 1 {
		t.Fatal("not stored")
	}
	clk.Add(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, time.Millisecond); close(done) }()
	for i := 0; i < 100000 && r.store.Len() != 0; i++ {
		time.Sleep(100 * time.Microsecond)
	}
	cancel()
	<-done
	if r.store.Len() != 0 {
		t.Fatalf("Run did not sweep: Len %d", r.store.Len())
	}
}

func TestAOR(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sip:alice@example.com", "sip:alice@example.com"},
		{"sips:alice@EXAMPLE.com:5061;transport=tls?subject=x", "sip:alice@example.com"},
		{"SIP:Alice@Example.COM", "sip:Alice@example.com"},
		{"sip:%61lice@example.com", "sip:alice@example.com"},
		{"sip:al%2fice@example.com", "sip:al%2Fice@example.com"},
		{"sip:a%7Eb%2d@example.com", "sip:a~b-@example.com"},
		{"sip:+1555;phone-context=x@example.com;user=phone", "sip:+1555;phone-context=x@example.com"},
		{"sip:example.com", "sip:example.com"},
		{"sip:bob@[2001:DB8::1]:5060", "sip:bob@[2001:db8::1]"},
		{"tel:+15551234", ""},
	}
	for _, tt := range tests {
		u, err := sip.ParseURI(tt.in)
		if err != nil {
			t.Fatalf("ParseURI(%q): %v", tt.in, err)
		}
		if got := AOR(&u); got != tt.want {
			t.Errorf("AOR(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if AOR(nil) != "" {
		t.Error("AOR(nil) not empty")
	}
}

func TestConcurrentRegister(t *testing.T) {
	r, _ := newRegistrar(t, func(c *Config) { c.MaxBindingsPerAOR = 100 })
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				resp := register(t, r, fmt.Sprintf("w%d", w), i+1, fmt.Sprintf("Contact: <sip:bob@192.0.2.%d>", w+1))
				if resp.StatusCode != 200 {
					t.Errorf("worker %d round %d: %d", w, i, resp.StatusCode)
					return
				}
				_ = r.Lookup(bobAOR)
			}
		}()
	}
	wg.Wait()
	if got := len(r.Lookup(bobAOR)); got != workers {
		t.Fatalf("bindings = %d, want %d", got, workers)
	}
	if !strings.HasPrefix(r.Lookup(bobAOR)[0].AOR, "sip:bob@") {
		t.Fatal("wrong AOR")
	}
}

// failing is a Store whose writes fail.
type failing struct{ location.Store }

func (failing) Update(string, time.Time, func([]location.Binding) ([]location.Binding, error)) error {
	return errors.New("disk on fire")
}

func TestStoreErrors(t *testing.T) {
	r, _ := newRegistrar(t, func(c *Config) { c.Store = location.NewMemoryCap(1) })
	if resp := register(t, r, "full", 1, "Contact: <sip:a@192.0.2.1>"); resp.StatusCode != 200 {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	for i := range 3 {
		resp := register(t, r, "full", 2+i, "Contact: <sip:b@192.0.2.2>")
		if v, _ := resp.Get("Retry-After"); resp.StatusCode != 503 || v == "" {
			t.Fatalf("past the store's cap: %d, Retry-After %q", resp.StatusCode, v)
		}
	}
	r, _ = newRegistrar(t, func(c *Config) { c.Store = failing{location.NewMemory()} })
	if resp := register(t, r, "fail", 1, "Contact: <sip:a@192.0.2.1>"); resp.StatusCode != 500 {
		t.Fatalf("failing store: %d", resp.StatusCode)
	}
	// A query does not write.
	if resp := register(t, r, "fail", 2); resp.StatusCode != 200 {
		t.Fatalf("query on failing store: %d", resp.StatusCode)
	}
}
