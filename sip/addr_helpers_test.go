package sip

import "testing"

func TestAddrContactParams(t *testing.T) {
	a, err := ParseAddr(`<sip:k3ka4u7l@df7jal23ls0d.invalid;transport=ws;ob>;+sip.instance="<urn:uuid:3f1c5e2a-8b4d-4c6e-9a7f-2d1e0b9c8a76>";reg-id=1;expires=600;q=0.75;pub-gruu="sip:alice@example.org;gr=urn:uuid:3f1c5e2a";temp-gruu="sip:tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5@example.org;gr"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Instance(); got != "urn:uuid:3f1c5e2a-8b4d-4c6e-9a7f-2d1e0b9c8a76" {
		t.Errorf("Instance = %q", got)
	}
	if id, ok := a.RegID(); !ok || id != 1 {
		t.Errorf("RegID = %d, %v", id, ok)
	}
	if e, ok := a.Expires(); !ok || e != 600 {
		t.Errorf("Expires = %d, %v", e, ok)
	}
	if q, ok := a.Q(); !ok || q != 750 {
		t.Errorf("Q = %d, %v", q, ok)
	}
	if got := a.PubGRUU(); got != "sip:alice@example.org;gr=urn:uuid:3f1c5e2a" {
		t.Errorf("PubGRUU = %q", got)
	}
	if got := a.TempGRUU(); got != "sip:tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5@example.org;gr" {
		t.Errorf("TempGRUU = %q", got)
	}
	if !a.URI.Params.Has("ob") || a.URI.Transport() != "ws" {
		t.Errorf("URI params %q", a.URI.Params)
	}
	for _, tc := range []struct {
		q    string
		want int
		ok   bool
	}{{"1", 1000, true}, {"0", 0, true}, {"0.5", 500, true}, {"1.000", 1000, true}, {"1.5", 0, false}, {"0.1234", 0, false}, {"2", 0, false}, {"0.x", 0, false}} {
		b, err := ParseAddr("<sip:a@b>;q=" + tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := b.Q(); got != tc.want || ok != tc.ok {
			t.Errorf("q=%s: got %d, %v; want %d, %v", tc.q, got, ok, tc.want, tc.ok)
		}
	}
	for p, wantOK := range map[string]bool{"expires=4294967295": true, "expires=4294967296": false, "expires=-1": false} {
		b, _ := ParseAddr("<sip:a@b>;" + p)
		if _, ok := b.Expires(); ok != wantOK {
			t.Errorf("%s: Expires ok = %v, want %v", p, ok, wantOK)
		}
	}
	for p, wantOK := range map[string]bool{"reg-id=1": true, "reg-id=0": false, "reg-id=2147483648": false} {
		b, _ := ParseAddr("<sip:a@b>;" + p)
		if _, ok := b.RegID(); ok != wantOK {
			t.Errorf("%s: RegID ok = %v, want %v", p, ok, wantOK)
		}
	}
}
