package auth

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/sip"
)

// FuzzCheck feeds arbitrary Authorization and Proxy-Authorization values to
// Check: it must never panic, and nothing but alice's right answer may be
// OK. The fixture's clock and secret are fixed, so that seeds holding a
// nonce minted by it stay valid.
func FuzzCheck(f *testing.F) {
	fx := newFixture(f, nil)
	req := register(f, testUser)
	for _, alg := range []Algorithm{SHA256, MD5} {
		c := challengeFor(f, fx.a.Challenge(req, testRealm, false, false), alg)
		f.Add(answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com"}.value(c))
		f.Add(answer{user: testUser, pass: "x", method: "REGISTER", uri: "sip:example.com", nc: "ffffffff"}.value(c))
	}
	f.Add(`Digest username="alice", realm="example.com"`)
	f.Add(`Basic YWxpY2U6c2VjcmV0`)
	f.Fuzz(func(t *testing.T, value string) {
		// scanParams agrees with the sip package on every list it accepts.
		if au, err := sip.ParseAuth(value); err == nil {
			firsts := map[string]bool{}
			ok := scanParams(&au, func(name, v string) {
				key := strings.ToLower(name)
				if firsts[key] {
					return
				}
				firsts[key] = true
				if want, _ := au.Param(name); v != want {
					t.Fatalf("param %s = %q, sip says %q in %q", name, v, want, value)
				}
			})
			if !ok {
				t.Fatalf("scanParams refused %q, which sip parsed", value)
			}
		}
		fx := newFixture(t, nil)
		for _, hdr := range []string{"Authorization", "Proxy-Authorization"} {
			m := req.Clone()
			if err := m.Add(hdr, value); err != nil {
				return
			}
			next, err := parseWire(m.AppendTo(nil))
			if err != nil {
				return
			}
			proxy := hdr == "Proxy-Authorization"
			res := fx.a.Check(context.Background(), next, testRealm, proxy, fx.src)
			if res.Outcome == OK && (res.User != testUser || res.Realm != testRealm) {
				t.Fatalf("OK for %+v from %q", res, value)
			}
			// A second use of the same credentials is never OK.
			if res.Outcome == OK {
				if again := fx.a.Check(context.Background(), next, testRealm, proxy, fx.src); again.Outcome == OK {
					t.Fatalf("replay accepted: %q", value)
				}
			}
		}
	})
}

// TestWriteFuzzSeeds rewrites the seed corpus when SIPEDGE_WRITE_SEEDS is
// set; the seeds carry nonces of the fixture's fixed secret and clock.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("SIPEDGE_WRITE_SEEDS") == "" {
		t.Skip("set SIPEDGE_WRITE_SEEDS=1 to rewrite testdata/fuzz/FuzzCheck")
	}
	fx := newFixture(t, nil)
	req := register(t, testUser)
	sha := challengeFor(t, fx.a.Challenge(req, testRealm, false, false), SHA256)
	md := challengeFor(t, fx.a.Challenge(req, testRealm, false, false), MD5)
	good := answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com"}
	seeds := map[string]string{
		"ok-sha256":   good.value(sha),
		"ok-md5":      good.value(md),
		"wrong-pw":    answer{user: testUser, pass: "nope", method: "REGISTER", uri: "sip:example.com"}.value(sha),
		"no-qop":      answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com", qop: "-"}.value(md),
		"other-realm": answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com", realm: "x.org"}.value(sha),
		"bad-nc":      strings.Replace(good.value(sha), "nc=00000001", "nc=zz", 1),
		"quoted":      `Digest username="al\"ice", realm="example.com", nonce="", uri="sip:example.com", response="", qop=auth, nc=00000001, cnonce="\\"`,
		"unknown-alg": strings.Replace(good.value(sha), "algorithm=SHA-256", "algorithm=SHA-512-256", 1),
		"empty":       `Digest`,
		"junk":        `Digest ,,,=,"`,
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzCheck")
	for name, v := range seeds {
		body := "go test fuzz v1\nstring(" + strconvQuote(v) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFuzzSeedsValid keeps the ok-* seeds meaningful: they still
// authenticate under the fixture's secret and clock.
func TestFuzzSeedsValid(t *testing.T) {
	for _, name := range []string{"ok-sha256", "ok-md5"} {
		b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzCheck", name))
		if err != nil {
			t.Fatal(err)
		}
		_, line, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		value, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fx := newFixture(t, nil)
		next := authorize(t, register(t, testUser), "Authorization", value)
		if res := fx.a.Check(context.Background(), next, testRealm, false, fx.src); res.Outcome != OK {
			t.Errorf("seed %s: %+v", name, res)
		}
	}
}
