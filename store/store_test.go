package store

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"testing"
)

// response is RFC 7616 §3.4.1's response for qop=auth, computed from HA1.
func response(h func() hash.Hash, ha1, method, uri, nonce, nc, cnonce string) string {
	hx := func(s string) string {
		d := h()
		d.Write([]byte(s))
		return hex.EncodeToString(d.Sum(nil))
	}
	ha2 := hx(method + ":" + uri)
	return hx(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2)
}

// TestHA1RFCExamples checks HA1 through the digest examples of RFC 7616
// §3.9.1 (MD5 and SHA-256) and RFC 2617 §3.5 (MD5): the HA1 values are not
// printed there, but the responses computed from them are.
func TestHA1RFCExamples(t *testing.T) {
	const (
		nonce7616  = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
		cnonce7616 = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	)
	for _, tc := range []struct {
		name, alg, realm, password, nonce, cnonce, want string
		h                                               func() hash.Hash
	}{
		{"RFC 7616 MD5", "MD5", "http-auth@example.org", "Circle of Life", nonce7616, cnonce7616,
			"8ca523f5e9506fed4657c9700eebdbec", md5.New},
		{"RFC 7616 SHA-256", "SHA-256", "http-auth@example.org", "Circle of Life", nonce7616, cnonce7616,
			"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", sha256.New},
		{"RFC 2617 MD5", "md5", "testrealm@host.com", "Circle Of Life", "dcd98b7102dd2f0e8b11d0f600bfb0c093", "0a4f113b",
			"6629fae49393a05397450978507c4ef1", md5.New},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ha1 := HA1(tc.alg, "Mufasa", tc.realm, tc.password)
			got := response(tc.h, ha1, "GET", "/dir/index.html", tc.nonce, "00000001", tc.cnonce)
			if got != tc.want {
				t.Fatalf("response from HA1 %s = %s, want %s", ha1, got, tc.want)
			}
		})
	}
	// The well-known HA1 of RFC 2617's example.
	if got := HA1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life"); got != "939e7578ed9e3c518a452acee763bce9" {
		t.Fatalf("RFC 2617 HA1 = %s", got)
	}
	if got := HA1("SHA-512-256", "a", "b", "c"); len(got) != 64 {
		t.Fatalf("SHA-512-256 HA1 %q", got)
	}
	if got := HA1("SHA-1", "a", "b", "c"); got != "" {
		t.Fatalf("unknown algorithm gave %q", got)
	}
}

func TestNewUser(t *testing.T) {
	u, err := NewUser("Mufasa", "Example.ORG", "", "Circle of Life")
	if err != nil {
		t.Fatal(err)
	}
	if u.Domain != "example.org" || u.Realm != "example.org" || u.User != "Mufasa" {
		t.Fatalf("user %+v", u)
	}
	if u.HA1MD5 != HA1("MD5", "Mufasa", "example.org", "Circle of Life") ||
		u.HA1SHA256 != HA1("SHA-256", "Mufasa", "example.org", "Circle of Life") {
		t.Fatalf("HA1 values %+v", u)
	}
	if u.HA1("md5") != u.HA1MD5 || u.HA1("SHA-256") != u.HA1SHA256 || u.HA1("SHA-512-256") != "" {
		t.Fatal("User.HA1 picks the wrong value")
	}
	if strings.Contains(strings.ToLower(strings.Join([]string{u.User, u.Domain, u.Realm, u.HA1MD5, u.HA1SHA256}, " ")), "circle") {
		t.Fatal("the password is kept")
	}
	u, err = NewUser("bob", "example.org", "http-auth@example.org", "pw")
	if err != nil || u.Realm != "http-auth@example.org" {
		t.Fatalf("explicit realm: %+v, %v", u, err)
	}
	for _, bad := range [][4]string{
		{"bob", "example.org", "", ""},
		{"", "example.org", "", "pw"},
		{"bob@x", "example.org", "", "pw"},
		{"bo b", "example.org", "", "pw"},
		{"bob", "exa_mple.org", "", "pw"},
		{"bob", "example.org", `a"b`, "pw"},
		{strings.Repeat("u", MaxUserLen+1), "example.org", "", "pw"},
		{"bob", "example.org", strings.Repeat("r", MaxRealmLen+1), "pw"},
	} {
		if _, err := NewUser(bad[0], bad[1], bad[2], bad[3]); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewUser%q: %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := NewUser(strings.Repeat("u", MaxUserLen), "example.org", "", "pw"); err != nil {
		t.Errorf("user part of %d bytes: %v", MaxUserLen, err)
	}
}

func TestValidate(t *testing.T) {
	u, _ := NewUser("alice", "example.com", "", "secret")
	if err := u.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(*User){
		"upper-case hex": func(u *User) { u.HA1MD5 = strings.ToUpper(u.HA1MD5) },
		"short md5":      func(u *User) { u.HA1MD5 = u.HA1MD5[:31] },
		"md5 as sha256":  func(u *User) { u.HA1SHA256 = u.HA1MD5 },
		"no realm":       func(u *User) { u.Realm = "" },
		"domain case":    func(u *User) { u.Domain = "Example.com" },
		"trailing dot":   func(u *User) { u.Domain = "example.com." },
	} {
		v := u
		f(&v)
		if err := v.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestCanonicalDomain(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":          "example.com",
		"EXAMPLE.com.":         "example.com",
		"sip-1.example.com":    "sip-1.example.com",
		"127.0.0.1":            "127.0.0.1",
		"::1":                  "[::1]",
		"[::1]":                "[::1]",
		"[2001:DB8:0:0::1]":    "[2001:db8::1]",
		"localhost":            "localhost",
		strings.Repeat("a", 9): strings.Repeat("a", 9),
	} {
		got, err := CanonicalDomain(in)
		if err != nil || got != want {
			t.Errorf("CanonicalDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	long := strings.Repeat(strings.Repeat("a", 63)+".", 4) // 256 bytes
	for _, bad := range []string{"", ".", "a..b", "-a.com", "a-.com", "a_b.com", "[::1", "::1]", "[1.2.3.4]",
		"fe80::1%eth0", "ex ample.com", "bob@example.com", strings.Repeat("a", 64) + ".com", long} {
		if got, err := CanonicalDomain(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CanonicalDomain(%q) = %q, %v; want ErrInvalid", bad, got, err)
		}
	}
	if err := ValidDomain("Example.com"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ValidDomain of a non-canonical domain: %v", err)
	}
}
