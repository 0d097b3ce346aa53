package wscookie

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary cookie values to Parse: it must not panic,
// must fail with one of the package's errors, and must never accept a
// value without the right MAC. Then the same values with a correct MAC:
// they must get past the MAC check, and what Parse accepts must be what
// the cookie says.
func FuzzParse(f *testing.F) {
	f.Add("1%3A1700000000%3A1700003600%3Aalice%40example.org%3A%2A%40example.org", "room%3D42", "2e719b28c50ae2aac59a3fb5e9cb63d850c8e29c")
	f.Add("1:1:1800000000:a@b:c@d", "", "")
	f.Add("2:1:1800000000:a@b:c@d", "", "")
	f.Add("1:1:1800000000:*@*:*@*:more:fields", "+", "00")
	f.Add("", "", "")
	f.Add("%", "%zz", "%4")
	v := &Verifier{Secret: []byte(secret), ExtraHeader: DefaultExtraHeader, Now: func() time.Time { return t0 }}
	f.Fuzz(func(t *testing.T, info, extra, mac string) {
		check := func(s *Session, err error) {
			if (s == nil) == (err == nil) {
				t.Fatalf("session %v and error %v", s, err)
			}
			if err != nil {
				if !errors.Is(err, ErrMissing) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrMAC) && !errors.Is(err, ErrExpired) {
					t.Fatalf("unexpected error %v", err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error repeats the secret: %v", err)
				}
			}
		}
		s, err := v.Parse(info, extra, mac)
		check(s, err)
		dInfo, err1 := url.QueryUnescape(info)
		dExtra, err2 := url.QueryUnescape(extra)
		if err1 != nil || err2 != nil {
			return
		}
		h := hmac.New(sha1.New, []byte(secret))
		h.Write([]byte(dInfo + ":" + dExtra))
		good := hex.EncodeToString(h.Sum(nil))
		if s != nil {
			if m, err := url.QueryUnescape(mac); err != nil || !strings.EqualFold(m, good) {
				t.Fatalf("accepted a wrong MAC %q", mac)
			}
		}
		s, err = v.Parse(info, extra, good)
		check(s, err)
		if errors.Is(err, ErrMAC) {
			t.Fatalf("correct MAC refused: %v", err)
		}
		if s != nil {
			if !strings.HasPrefix(dInfo, "1:") || !strings.Contains(dInfo, ":"+s.From+":"+s.To) || s.Extra != dExtra || s.Expires.Before(t0.Truncate(time.Second)) {
				t.Fatalf("session %+v from %q", s, dInfo)
			}
		}
	})
}
