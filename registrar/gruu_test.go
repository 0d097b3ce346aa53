package registrar

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/sip"
)

const supGRUU = "Supported: path, gruu, outbound"

// gruus returns, per Contact URI of resp, its pub-gruu and temp-gruu
// parsed back with sip.ParseAddr (nil when absent).
func gruus(t *testing.T, resp *sip.Message) map[string][2]*sip.URI {
	t.Helper()
	out := map[string][2]*sip.URI{}
	for a, err := range resp.Contacts() {
		if err != nil {
			t.Fatalf("Contact: %v", err)
		}
		var pair [2]*sip.URI
		for i, v := range []string{a.PubGRUU(), a.TempGRUU()} {
			if !a.Params.Has([]string{"pub-gruu", "temp-gruu"}[i]) {
				continue
			}
			// The value is a URI: bare, ParseAddr would read ";gr=..." as
			// a header parameter (RFC 3261 §20.10), so it goes in brackets.
			g, err := sip.ParseAddr("<" + v + ">")
			if err != nil {
				t.Fatalf("GRUU %q does not parse: %v", v, err)
			}
			if u, err := sip.ParseURI(v); err != nil || !u.Equal(&g.URI) {
				t.Fatalf("GRUU %q: ParseURI gives %v, %v", v, u, err)
			}
			pair[i] = &g.URI
		}
		out[a.URI.String()] = pair
	}
	return out
}

func lookupString(t *testing.T, r *Registrar, uri string) ([]string, bool) {
	t.Helper()
	u, err := sip.ParseURI(uri)
	if err != nil {
		t.Fatalf("ParseURI(%q): %v", uri, err)
	}
	bs, gruu := r.LookupURI(&u)
	var out []string
	for _, b := range bs {
		out = append(out, b.Contact.URI.String())
	}
	return out, gruu
}

func gruuRegistrar(t *testing.T, mod func(*Config)) (*Registrar, *clock) {
	return newRegistrar(t, func(c *Config) {
		c.GRUU, c.Outbound = true, true
		if mod != nil {
			mod(c)
		}
	})
}

func TestGRUUInResponse(t *testing.T) {
	r, _ := gruuRegistrar(t, nil)
	resp := register(t, r, "c1", 1, "Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;"+inst1, supGRUU)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d\n%s", resp.StatusCode, resp)
	}
	// RFC 5627 §5.4: both quoted.
	v, _ := resp.Get("Contact")
	if !strings.Contains(v, `;pub-gruu="sip:bob@biloxi.com;gr=`+instance1+`"`) || !strings.Contains(v, `;temp-gruu="sip:tgruu.`) {
		t.Fatalf("Contact = %s", v)
	}
	g := gruus(t, resp)["sip:a@a.invalid;transport=ws"]
	pub, temp := g[0], g[1]
	if pub == nil || temp == nil {
		t.Fatalf("GRUUs missing:\n%s", resp)
	}
	if gr, _ := pub.Params.Get("gr"); pub.String() != "sip:bob@biloxi.com;gr="+instance1 || gr != instance1 {
		t.Fatalf("pub-gruu = %s", pub)
	}
	if gr, ok := temp.Params.Get("gr"); !ok || gr != "" || temp.Host != "biloxi.com" || !strings.HasPrefix(temp.User, tempGRUUPrefix) ||
		len(temp.User) < len(tempGRUUPrefix)+26 {
		t.Fatalf("temp-gruu = %s", temp)
	}
	if strings.Contains(temp.User, "bob") {
		t.Fatalf("temp-gruu %s reveals the AOR", temp)
	}
	bs := r.Lookup(bobAOR)
	if len(bs) != 1 || len(bs[0].TempGRUUs) != 1 || bs[0].TempGRUUs[0] != temp.User {
		t.Fatalf("binding = %+v", bs)
	}
	if !resp.HasToken(sip.HeaderSupported, "gruu") || !resp.HasToken(sip.HeaderSupported, "outbound") || !resp.HasToken(sip.HeaderSupported, "path") {
		v, _ := resp.Get("Supported")
		t.Fatalf("Supported: %q", v)
	}
	// Both resolve to the instance.
	for _, u := range []*sip.URI{pub, temp} {
		got, gruu := lookupString(t, r, u.String())
		if !gruu || len(got) != 1 || got[0] != "sip:a@a.invalid;transport=ws" {
			t.Fatalf("LookupURI(%s) = %q, %v", u, got, gruu)
		}
	}
	// A query shows the GRUUs again, with no new temp-gruu.
	resp = register(t, r, "c9", 1, supGRUU)
	if again := gruus(t, resp)["sip:a@a.invalid;transport=ws"]; again[1] == nil || again[1].User != temp.User {
		t.Fatalf("query: %s", resp)
	}
	if n := r.temp.len(); n != 1 {
		t.Fatalf("index holds %d", n)
	}
}

func TestGRUURefresh(t *testing.T) {
	r, clk := gruuRegistrar(t, nil)
	contact := "Contact: <sip:a@a.invalid;transport=ws>;expires=600;" + inst1
	var issued []string
	for i := range TempGRUUsPerBinding + 4 {
		clk.Add(time.Second)
		resp := register(t, r, "c1", i+1, contact, supGRUU)
		temp := gruus(t, resp)["sip:a@a.invalid;transport=ws"][1]
		if resp.StatusCode != 200 || temp == nil {
			t.Fatalf("refresh %d:\n%s", i, resp)
		}
		for _, old := range issued {
			if old == temp.User {
				t.Fatalf("refresh %d reissued %s", i, old)
			}
		}
		issued = append(issued, temp.User)
		// The old one still resolves.
		if i == 1 {
			got, gruu := lookupString(t, r, "sip:"+issued[0]+"@biloxi.com;gr")
			if !gruu || len(got) != 1 {
				t.Fatalf("first temp-gruu after a refresh: %q %v", got, gruu)
			}
		}
	}
	bs := r.Lookup(bobAOR)
	if len(bs) != 1 || len(bs[0].TempGRUUs) != TempGRUUsPerBinding || bs[0].TempGRUUs[TempGRUUsPerBinding-1] != issued[len(issued)-1] {
		t.Fatalf("binding keeps %q", bs[0].TempGRUUs)
	}
	// The oldest beyond the bound have lapsed; the others resolve.
	for i, u := range issued {
		got, gruu := lookupString(t, r, "sip:"+u+"@biloxi.com;gr")
		want := i >= len(issued)-TempGRUUsPerBinding
		if !gruu || (len(got) == 1) != want {
			t.Fatalf("temp-gruu %d: %q %v, want found %v", i, got, gruu, want)
		}
	}
	if n := r.temp.len(); n != TempGRUUsPerBinding {
		t.Fatalf("index holds %d, want %d", n, TempGRUUsPerBinding)
	}
	// A new Call-ID is a restarted UA: earlier temp-gruus lapse (RFC 5627
	// §5.1), the pub-gruu stays.
	resp := register(t, r, "rebooted", 1, contact, supGRUU)
	fresh := gruus(t, resp)["sip:a@a.invalid;transport=ws"][1]
	if got, _ := lookupString(t, r, "sip:"+issued[len(issued)-1]+"@biloxi.com;gr"); got != nil {
		t.Fatalf("temp-gruu of the previous Call-ID still resolves: %q", got)
	}
	if got, _ := lookupString(t, r, fresh.String()); len(got) != 1 {
		t.Fatalf("new temp-gruu: %q", got)
	}
	if got, _ := lookupString(t, r, "sip:bob@biloxi.com;gr="+instance1); len(got) != 1 {
		t.Fatalf("pub-gruu: %q", got)
	}
	if n := r.temp.len(); n != 1 {
		t.Fatalf("index holds %d after the restart", n)
	}
}

func TestLookupURI(t *testing.T) {
	r, clk := gruuRegistrar(t, nil)
	// Instance 1 over two flows, instance 2 once, and a desk phone.
	resp1 := registerFrom(t, r, flowA, "i1a", 1, "Contact: <sip:a@a.invalid;transport=ws>;reg-id=1;expires=600;"+inst1, supGRUU)
	resp2 := registerFrom(t, r, flowB, "i1b", 1, "Contact: <sip:b@b.invalid;transport=ws>;reg-id=2;expires=600;"+inst1, supGRUU)
	resp3 := register(t, r, "i2", 1, "Contact: <sip:c@c.invalid;transport=ws>;expires=900;"+inst2, supGRUU)
	register(t, r, "desk", 1, "Contact: <sip:bob@192.0.2.9>;expires=900", supGRUU)
	temp1 := gruus(t, resp1)["sip:a@a.invalid;transport=ws"][1]
	temp1b := gruus(t, resp2)["sip:b@b.invalid;transport=ws"][1]
	temp2 := gruus(t, resp3)["sip:c@c.invalid;transport=ws"][1]
	// The 200 to instance 2 lists every binding; instance 1's carry its newest temp-gruu.
	all := gruus(t, resp3)
	if all["sip:a@a.invalid;transport=ws"][1].User != temp1b.User || all["sip:bob@192.0.2.9"][0] != nil {
		t.Fatalf("GRUUs of the other bindings: %s", resp3)
	}
	inst1Both := []string{"sip:a@a.invalid;transport=ws", "sip:b@b.invalid;transport=ws"}
	tests := []struct {
		uri  string
		want []string // as a set
		gruu bool
	}{
		{"sip:bob@biloxi.com;gr=" + instance1, inst1Both, true},
		{"sips:bob@BILOXI.com;gr=" + strings.ToLower(instance1) + ";transport=tcp", inst1Both, true},
		{"sip:bob@biloxi.com;gr=urn:uuid:00000000-0000-1000-8000-000A95A0E128%3E", nil, true},
		{"sip:bob@biloxi.com;gr=urn%3Auuid%3A00000000-0000-1000-8000-000A95A0E128", inst1Both, true},
		{"sip:bob@biloxi.com;gr=" + instance2, []string{"sip:c@c.invalid;transport=ws"}, true},
		{"sip:bob@biloxi.com;gr=urn:uuid:99999999-0000-1000-8000-000000000000", nil, true},
		{"sip:alice@biloxi.com;gr=" + instance1, nil, true},
		{temp1.String(), inst1Both, true},
		{temp1b.String() + ";transport=ws", inst1Both, true},
		{temp2.String(), []string{"sip:c@c.invalid;transport=ws"}, true},
		{"sip:tgruu.aaaaaaaaaaaaaaaaaaaaaaaaaa@biloxi.com;gr", nil, true},
		{"sip:" + temp1.User + "@biloxi.com", nil, false}, // no gr: an AOR nobody registered
		{"sip:bob@biloxi.com", []string{"sip:a@a.invalid;transport=ws", "sip:b@b.invalid;transport=ws", "sip:c@c.invalid;transport=ws", "sip:bob@192.0.2.9"}, false},
		{"tel:+15551234", nil, false},
	}
	for _, tt := range tests {
		got, gruu := lookupString(t, r, tt.uri)
		if gruu != tt.gruu || !sameSet(got, tt.want) {
			t.Errorf("LookupURI(%s) = %q, %v; want %q, %v", tt.uri, got, gruu, tt.want, tt.gruu)
		}
	}
	if bs, gruu := r.LookupURI(nil); bs != nil || gruu {
		t.Error("LookupURI(nil)")
	}
	// Instance 1 expires (600 s), instance 2 not yet (900 s).
	clk.Add(600 * time.Second)
	for _, u := range []string{"sip:bob@biloxi.com;gr=" + instance1, temp1.String(), temp1b.String()} {
		if got, gruu := lookupString(t, r, u); got != nil || !gruu {
			t.Errorf("expired %s: %q %v", u, got, gruu)
		}
	}
	if got, _ := lookupString(t, r, temp2.String()); len(got) != 1 {
		t.Errorf("live temp-gruu: %q", got)
	}
	// The sweep drops the index entries of expired bindings.
	r.temp.sweep(clk.Now())
	if n := r.temp.len(); n != 1 {
		t.Errorf("index holds %d after the sweep", n)
	}
	// Removing a binding invalidates its temp-gruus at once.
	register(t, r, "i2", 2, "Contact: <sip:c@c.invalid;transport=ws>;expires=0;"+inst2, supGRUU)
	if got, gruu := lookupString(t, r, temp2.String()); got != nil || !gruu {
		t.Errorf("removed: %q %v", got, gruu)
	}
	if n := r.temp.len(); n != 0 {
		t.Errorf("index holds %d after the removal", n)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestNoGRUU(t *testing.T) {
	tests := []struct {
		name    string
		gruuOn  bool
		headers []string
		// pubFinds is how many bindings the instance's pub-gruu reaches:
		// it names the instance whether or not one was handed out; with
		// GRUU off the gr parameter is ignored and the AOR's one binding
		// comes back.
		pubFinds int
	}{
		{"without Supported: gruu", true, []string{"Contact: <sip:a@a.invalid;transport=ws>;" + inst1, "Supported: path, outbound"}, 1},
		{"without instance", true, []string{"Contact: <sip:a@a.invalid;transport=ws>", supGRUU}, 0},
		{"GRUU off", false, []string{"Contact: <sip:a@a.invalid;transport=ws>;" + inst1, supGRUU}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newRegistrar(t, func(c *Config) { c.GRUU = tt.gruuOn })
			resp := register(t, r, "c1", 1, tt.headers...)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for a := range resp.Contacts() {
				if a.Params.Has("pub-gruu") || a.Params.Has("temp-gruu") {
					t.Fatalf("GRUU given: %s", a.String())
				}
			}
			if bs := r.Lookup(bobAOR); len(bs) != 1 || bs[0].TempGRUUs != nil {
				t.Fatalf("bindings = %+v", bs)
			}
			got, gruu := lookupString(t, r, "sip:bob@biloxi.com;gr="+instance1)
			if gruu != tt.gruuOn || len(got) != tt.pubFinds {
				t.Fatalf("LookupURI = %q, %v", got, gruu)
			}
			if gruu {
				return
			}
			if resp.HasToken(sip.HeaderSupported, "gruu") {
				t.Fatal("Supported: gruu while GRUU is off")
			}
			if register(t, r, "c1", 2, "Contact: <sip:a@a.invalid>", "Require: gruu").StatusCode != 420 {
				t.Fatal("Require: gruu accepted while GRUU is off")
			}
		})
	}
}

func TestGRUUStoredContact(t *testing.T) {
	// A client echoing GRUUs in its Contact does not get them stored.
	r, _ := gruuRegistrar(t, nil)
	resp := register(t, r, "c1", 1, `Contact: <sip:a@a.invalid;transport=ws>;`+inst1+`;pub-gruu="sip:evil@biloxi.com;gr=x";temp-gruu="sip:tgruu.x@biloxi.com;gr"`, supGRUU)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	bs := r.Lookup(bobAOR)
	if len(bs) != 1 || bs[0].Contact.Params.Has("pub-gruu") || bs[0].Contact.Params.Has("temp-gruu") {
		t.Fatalf("stored %s", bs[0].Contact.String())
	}
	for a := range resp.Contacts() {
		if strings.Contains(a.PubGRUU(), "evil") || strings.Count(a.String(), "pub-gruu") != 1 {
			t.Fatalf("Contact = %s", a.String())
		}
	}
	if got, _ := lookupString(t, r, "sip:tgruu.x@biloxi.com;gr"); got != nil {
		t.Fatalf("a temp-gruu the client made up resolves: %q", got)
	}
}

func TestTempGRUUIndexFull(t *testing.T) {
	r, _ := gruuRegistrar(t, func(c *Config) { c.MaxTempGRUUs = 2 })
	for i := range 3 {
		resp := register(t, r, fmt.Sprintf("c%d", i), 1, fmt.Sprintf("Contact: <sip:u%d@a.invalid;transport=ws>;+sip.instance=\"<urn:uuid:%d>\"", i, i), supGRUU)
		g := gruus(t, resp)[fmt.Sprintf("sip:u%d@a.invalid;transport=ws", i)]
		if resp.StatusCode != 200 || g[0] == nil || (g[1] != nil) != (i < 2) {
			t.Fatalf("registration %d:\n%s", i, resp)
		}
	}
	if n := r.temp.len(); n != 2 {
		t.Fatalf("index holds %d", n)
	}
}

func TestNewTempGRUU(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := newTempGRUU()
		if seen[s] || !strings.HasPrefix(s, tempGRUUPrefix) || len(s) != len(tempGRUUPrefix)+26 {
			t.Fatalf("temp-gruu %q", s)
		}
		seen[s] = true
		if _, err := sip.ParseURI("sip:" + s + "@example.com;gr"); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
}

// TestTempGRUUsKept checks that the store, not the index, decides: a
// binding written behind the registrar's back loses its temp-gruus.
func TestTempGRUUsKept(t *testing.T) {
	r, clk := gruuRegistrar(t, nil)
	resp := register(t, r, "c1", 1, "Contact: <sip:a@a.invalid;transport=ws>;"+inst1, supGRUU)
	temp := gruus(t, resp)["sip:a@a.invalid;transport=ws"][1]
	err := r.store.Update(bobAOR, clk.Now(), func(cur []location.Binding) ([]location.Binding, error) {
		cur[0].TempGRUUs = nil
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, gruu := lookupString(t, r, temp.String()); got != nil || !gruu {
		t.Fatalf("LookupURI = %q %v", got, gruu)
	}
}
