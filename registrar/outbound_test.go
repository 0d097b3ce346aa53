package registrar

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// Two flows of the same browser: a page before and after a reload.
var (
	flowA = transport.Flow{ID: 101, Kind: transport.WSS, Local: netip.MustParseAddrPort("192.0.2.1:443"), Remote: netip.MustParseAddrPort("198.51.100.7:50001")}
	flowB = transport.Flow{ID: 102, Kind: transport.WSS, Local: netip.MustParseAddrPort("192.0.2.1:443"), Remote: netip.MustParseAddrPort("198.51.100.7:50002")}
)

const (
	instance1 = "urn:uuid:00000000-0000-1000-8000-000A95A0E128"
	instance2 = "urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF"
	inst1     = `+sip.instance="<` + instance1 + `>"`
	inst2     = `+sip.instance="<` + instance2 + `>"`
	supOB     = "Supported: path, outbound"
	proxyVia  = "Via: SIP/2.0/TCP ep1.biloxi.com;branch=z9hG4bKep1"
)

type obStep struct {
	src     transport.Flow // zero: flow
	advance time.Duration
	callID  string
	cseq    int
	headers []string
	status  int
	// want lists the response Contacts ("uri expires"), in order.
	want []string
	// require: "Require: outbound" expected in the response.
	require bool
	// flowTimer is the expected Flow-Timer ("" for none).
	flowTimer string
	// check runs on the bindings of bob after the step.
	check func(t *testing.T, bs []location.Binding)
}

func TestOutbound(t *testing.T) {
	on := func(c *Config) { c.Outbound = true }
	tests := []struct {
		name  string
		mod   func(*Config)
		steps []obStep
	}{
		{name: "same instance and reg-id over a new flow replaces the binding", mod: on, steps: []obStep{
			{src: flowA, callID: "page-1", cseq: 1, headers: []string{"Contact: <sip:a1@a.invalid;transport=ws>;reg-id=1;" + inst1, supOB},
				status: 200, require: true, want: []string{"sip:a1@a.invalid;transport=ws 3600"}},
			// The page reloads: new socket, new Contact, new Call-ID, CSeq from 1.
			{src: flowB, advance: time.Minute, callID: "page-2", cseq: 1,
				headers: []string{"Contact: <sip:b2@b.invalid;transport=ws>;reg-id=1;" + inst1, supOB},
				status:  200, require: true, want: []string{"sip:b2@b.invalid;transport=ws 3600"},
				check: func(t *testing.T, bs []location.Binding) {
					if len(bs) != 1 || bs[0].Flow != flowB || bs[0].CallID != "page-2" || !bs[0].Outbound || bs[0].RegID != 1 || bs[0].Instance != instance1 {
						t.Fatalf("bindings = %+v", bs)
					}
				}},
		}},
		{name: "two reg-ids give two flows", mod: on, steps: []obStep{
			{src: flowA, callID: "c1", cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.2;transport=tcp>;reg-id=1;" + inst1, supOB},
				status: 200, require: true, want: []string{"sip:bob@192.0.2.2;transport=tcp 3600"}},
			// RFC 5626 §9.2: the same Contact URI over a second flow, reg-id 2.
			{src: flowB, advance: time.Second, callID: "c2", cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.2;transport=tcp>;reg-id=2;" + inst1, supOB},
				status: 200, require: true, want: []string{"sip:bob@192.0.2.2;transport=tcp 3600", "sip:bob@192.0.2.2;transport=tcp 3599"},
				check: func(t *testing.T, bs []location.Binding) {
					if len(bs) != 2 || bs[0].RegID != 2 || bs[0].Flow != flowB || bs[1].RegID != 1 || bs[1].Flow != flowA {
						t.Fatalf("bindings = %+v", bs)
					}
				}},
			// Removing reg-id 1 leaves reg-id 2.
			{src: flowA, callID: "c1", cseq: 2, headers: []string{"Contact: <sip:bob@192.0.2.2;transport=tcp>;reg-id=1;expires=0;" + inst1, supOB},
				status: 200, require: true, want: []string{"sip:bob@192.0.2.2;transport=tcp 3600"},
				check: func(t *testing.T, bs []location.Binding) {
					if len(bs) != 1 || bs[0].RegID != 2 {
						t.Fatalf("bindings = %+v", bs)
					}
				}},
		}},
		{name: "outbound and RFC 3261 bindings side by side", mod: on, steps: []obStep{
			{callID: "desk", cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.9>"}, status: 200, want: []string{"sip:bob@192.0.2.9 3600"}},
			{src: flowA, advance: time.Second, callID: "web", cseq: 1, headers: []string{"Contact: <sip:w@a.invalid;transport=ws>;reg-id=1;" + inst1, supOB},
				status: 200, require: true, want: []string{"sip:w@a.invalid;transport=ws 3600", "sip:bob@192.0.2.9 3599"}},
			// A plain refresh of the desk phone does not say outbound.
			{advance: time.Second, callID: "desk", cseq: 2, headers: []string{"Contact: <sip:bob@192.0.2.9>"}, status: 200,
				want: []string{"sip:bob@192.0.2.9 3600", "sip:w@a.invalid;transport=ws 3599"}},
		}},
		{name: "same Call-ID and CSeq not higher is out of order", mod: on, steps: []obStep{
			{src: flowA, callID: "c1", cseq: 5, headers: []string{"Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;" + inst1, supOB},
				status: 200, require: true, want: []string{"sip:a@a.invalid;transport=ws 3600"}},
			{src: flowB, callID: "c1", cseq: 5, headers: []string{"Contact: <sip:b@b.invalid;transport=ws>;reg-id=1;" + inst1, supOB}, status: 500},
			{src: flowB, callID: "c1", cseq: 6, headers: []string{"Contact: <sip:b@b.invalid;transport=ws>;reg-id=1;" + inst1, supOB},
				status: 200, require: true, want: []string{"sip:b@b.invalid;transport=ws 3600"}},
		}},
		{name: "an outbound contact with other contacts is refused", mod: on, steps: []obStep{
			{callID: "c1", cseq: 1, headers: []string{"Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;" + inst1 + ", <sip:bob@192.0.2.9>", supOB}, status: 400},
			{callID: "c1", cseq: 2, headers: []string{"Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;" + inst1 + ", <sip:a@a.invalid;transport=ws>;reg-id=2;" + inst1, supOB}, status: 400},
			// Removing others in the same request is fine.
			{callID: "c1", cseq: 3, headers: []string{"Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;" + inst1 + ", <sip:bob@192.0.2.9>;expires=0", supOB},
				status: 200, require: true, want: []string{"sip:a@a.invalid;transport=ws 3600"}},
		}},
		{name: "Flow-Timer", mod: func(c *Config) { c.Outbound, c.FlowTimer = true, 120*time.Second }, steps: []obStep{
			{callID: "c1", cseq: 1, headers: []string{"Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;" + inst1, supOB},
				status: 200, require: true, flowTimer: "120", want: []string{"sip:a@a.invalid;transport=ws 3600"}},
			// Not an outbound registration: no Flow-Timer.
			{advance: time.Second, callID: "c2", cseq: 1, headers: []string{"Contact: <sip:bob@192.0.2.9>"}, status: 200,
				want: []string{"sip:bob@192.0.2.9 3600", "sip:a@a.invalid;transport=ws 3599"}},
		}},
		{name: "Flow-Timer only over a direct flow", mod: func(c *Config) { c.Outbound, c.FlowTimer = true, 120*time.Second }, steps: []obStep{
			{callID: "c1", cseq: 1, headers: []string{proxyVia, "Path: <sip:tok@ep1.biloxi.com;lr;ob>", "Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;" + inst1, supOB},
				status: 200, require: true, want: []string{"sip:a@a.invalid;transport=ws 3600"}},
		}},
		{name: "Flow-Timer below a second is 1", mod: func(c *Config) { c.Outbound, c.FlowTimer = true, 300*time.Millisecond }, steps: []obStep{
			{callID: "c1", cseq: 1, headers: []string{"Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;" + inst1, supOB},
				status: 200, require: true, flowTimer: "1", want: []string{"sip:a@a.invalid;transport=ws 3600"}},
		}},
		{name: "without Supported: outbound the reg-id is ignored", mod: on, steps: []obStep{
			{src: flowA, callID: "c1", cseq: 1, headers: []string{"Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;" + inst1, "Supported: path"},
				status: 200, want: []string{"sip:a@a.invalid;transport=ws 3600"}},
			{src: flowB, advance: time.Second, callID: "c2", cseq: 1, headers: []string{"Contact: <sip:b@b.invalid;transport=ws>;reg-id=1;" + inst1},
				status: 200, want: []string{"sip:b@b.invalid;transport=ws 3600", "sip:a@a.invalid;transport=ws 3599"},
				check: func(t *testing.T, bs []location.Binding) {
					for _, b := range bs {
						if b.Outbound || b.RegID != 1 {
							t.Fatalf("binding = %+v", b)
						}
					}
				}},
		}},
		{name: "reg-id without instance is ignored", mod: on, steps: []obStep{
			{callID: "c1", cseq: 1, headers: []string{"Contact: <sip:a@a.invalid;transport=ws>;reg-id=1", supOB}, status: 200, want: []string{"sip:a@a.invalid;transport=ws 3600"}},
			{callID: "c2", cseq: 1, headers: []string{"Contact: <sip:b@b.invalid;transport=ws>;reg-id=1", supOB}, status: 200,
				want: []string{"sip:a@a.invalid;transport=ws 3600", "sip:b@b.invalid;transport=ws 3600"}},
		}},
		{name: "Outbound off: RFC 3261 rules", steps: []obStep{
			{src: flowA, callID: "c1", cseq: 1, headers: []string{"Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;" + inst1, supOB},
				status: 200, want: []string{"sip:a@a.invalid;transport=ws 3600"}},
			{src: flowB, advance: time.Second, callID: "c2", cseq: 1, headers: []string{"Contact: <sip:b@b.invalid;transport=ws>;reg-id=1;" + inst1, supOB},
				status: 200, want: []string{"sip:b@b.invalid;transport=ws 3600", "sip:a@a.invalid;transport=ws 3599"},
				check: func(t *testing.T, bs []location.Binding) {
					for _, b := range bs {
						if b.Outbound || b.RegID != 1 || b.Instance != instance1 {
							t.Fatalf("binding = %+v", b)
						}
					}
				}},
			// Without outbound there is no 439 either.
			{advance: time.Second, callID: "c3", cseq: 1, headers: []string{proxyVia, "Contact: <sip:c@c.invalid;transport=ws>;reg-id=2;" + inst1, supOB},
				status: 200, want: []string{"sip:c@c.invalid;transport=ws 3600", "sip:b@b.invalid;transport=ws 3599", "sip:a@a.invalid;transport=ws 3598"}},
			{callID: "c4", cseq: 1, headers: []string{"Contact: <sip:d@d.invalid>", "Require: outbound"}, status: 420},
		}},
		{name: "Require: outbound is understood when on", mod: on, steps: []obStep{
			{callID: "c1", cseq: 1, headers: []string{"Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;" + inst1, supOB, "Require: outbound"},
				status: 200, require: true, want: []string{"sip:a@a.invalid;transport=ws 3600"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, clk := newRegistrar(t, tt.mod)
			runOBSteps(t, r, clk, tt.steps)
		})
	}
}

func runOBSteps(t *testing.T, r *Registrar, clk *clock, steps []obStep) {
	t.Helper()
	for i, s := range steps {
		clk.Add(s.advance)
		src := s.src
		if src == (transport.Flow{}) {
			src = flow
		}
		resp := registerFrom(t, r, src, s.callID, s.cseq, s.headers...)
		if resp.StatusCode != s.status {
			t.Fatalf("step %d: status %d %s, want %d\n%s", i, resp.StatusCode, resp.Reason, s.status, resp)
		}
		if got := contacts(t, resp); !slices.Equal(got, s.want) {
			t.Fatalf("step %d: contacts %q, want %q", i, got, s.want)
		}
		if got := resp.HasToken(sip.HeaderRequire, "outbound"); got != s.require {
			t.Fatalf("step %d: Require: outbound %v, want %v\n%s", i, got, s.require, resp)
		}
		if got, _ := resp.Get("Flow-Timer"); got != s.flowTimer {
			t.Fatalf("step %d: Flow-Timer %q, want %q", i, got, s.flowTimer)
		}
		if s.check != nil {
			s.check(t, r.Lookup(bobAOR))
		}
	}
}

// TestFirstHopLacksOutbound covers the 439 rule of RFC 5626 §6: with more
// than one Via the registrar is not the first hop, and the first hop's
// Path entry (the last one) must carry "ob" as a URI parameter.
func TestFirstHopLacksOutbound(t *testing.T) {
	contact := "Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;" + inst1
	tests := []struct {
		name    string
		assume  bool
		headers []string
		status  int
		require bool
	}{
		{name: "direct, no Path: we are the first hop", headers: []string{contact, supOB}, status: 200, require: true},
		{name: "direct, Path without ob: still the first hop", headers: []string{"Path: <sip:p@edge.example;lr>", contact, supOB}, status: 200, require: true},
		{name: "proxied, no Path", headers: []string{proxyVia, contact, supOB}, status: 439},
		{name: "proxied, Path without ob", headers: []string{proxyVia, "Path: <sip:tok@ep1.biloxi.com;lr>", contact, supOB}, status: 439},
		{name: "proxied, Path with ob", headers: []string{proxyVia, "Path: <sip:tok@ep1.biloxi.com;lr;ob>", contact, supOB}, status: 200, require: true},
		{name: "proxied, ob with another case", headers: []string{proxyVia, "Path: <sip:tok@ep1.biloxi.com;lr;OB>", contact, supOB}, status: 200, require: true},
		{name: "proxied, ob as a header parameter does not count", headers: []string{proxyVia, "Path: <sip:tok@ep1.biloxi.com;lr>;ob", contact, supOB}, status: 439},
		{name: "two Paths, the first hop's (last) with ob", headers: []string{proxyVia, proxyVia, "Path: <sip:p3@core.biloxi.com;lr>", "Path: <sip:tok@ep1.biloxi.com;lr;ob>", contact, supOB}, status: 200, require: true},
		{name: "two Paths in one field, last with ob", headers: []string{proxyVia, proxyVia, "Path: <sip:p3@core.biloxi.com;lr>, <sip:tok@ep1.biloxi.com;lr;ob>", contact, supOB}, status: 200, require: true},
		{name: "two Paths, only the later proxy's with ob", headers: []string{proxyVia, proxyVia, "Path: <sip:p3@core.biloxi.com;lr;ob>, <sip:tok@ep1.biloxi.com;lr>", contact, supOB}, status: 439},
		{name: "proxied, no Path, AssumeFirstHopSupportsOutbound", assume: true, headers: []string{proxyVia, contact, supOB}, status: 200, require: true},
		{name: "proxied, Path without ob, AssumeFirstHopSupportsOutbound", assume: true, headers: []string{proxyVia, "Path: <sip:tok@ep1.biloxi.com;lr>", contact, supOB}, status: 200, require: true},
		{name: "proxied, no Supported: outbound: reg-id ignored, no 439", headers: []string{proxyVia, contact, "Supported: path"}, status: 200},
		{name: "proxied, no reg-id: no 439", headers: []string{proxyVia, "Contact: <sip:a@a.invalid;transport=ws>;" + inst1, supOB}, status: 200},
		{name: "proxied, removal still needs the first hop", headers: []string{proxyVia, "Contact: <sip:a@a.invalid;transport=ws>;expires=0;reg-id=1;" + inst1, supOB}, status: 439},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newRegistrar(t, func(c *Config) { c.Outbound, c.AssumeFirstHopSupportsOutbound = true, tt.assume })
			resp := register(t, r, "c1", 1, tt.headers...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %s, want %d\n%s", resp.StatusCode, resp.Reason, tt.status, resp)
			}
			if got := resp.HasToken(sip.HeaderRequire, "outbound"); got != tt.require {
				t.Fatalf("Require: outbound %v, want %v", got, tt.require)
			}
			bs := r.Lookup(bobAOR)
			switch {
			case tt.status != 200:
				if len(bs) != 0 {
					t.Fatalf("refused REGISTER stored %+v", bs)
				}
			case len(bs) == 1 && bs[0].Outbound != tt.require:
				t.Fatalf("binding Outbound %v, want %v", bs[0].Outbound, tt.require)
			}
		})
	}
}

// TestOutboundReconnects is the browser case of the issue: a page that
// reloads (or whose socket reconnects) many times keeps one binding per
// reg-id, always on the newest flow.
func TestOutboundReconnects(t *testing.T) {
	r, clk := newRegistrar(t, func(c *Config) { c.Outbound = true })
	for i := range 10 {
		clk.Add(time.Second)
		src := flowA
		src.ID = transport.FlowID(1000 + i)
		resp := registerFrom(t, r, src, fmt.Sprintf("page-%d", i), 1,
			fmt.Sprintf("Contact: <sip:r%d@x%d.invalid;transport=ws>;reg-id=1;%s", i, i, inst1), supOB)
		if resp.StatusCode != 200 {
			t.Fatalf("round %d: %d", i, resp.StatusCode)
		}
	}
	bs := r.Lookup(bobAOR)
	if len(bs) != 1 || bs[0].Flow.ID != 1009 || bs[0].Contact.URI.User != "r9" {
		t.Fatalf("bindings = %+v", bs)
	}
	if r.store.Len() != 1 {
		t.Fatalf("store holds %d bindings", r.store.Len())
	}
}
