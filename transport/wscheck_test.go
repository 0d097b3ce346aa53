package transport

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/wscookie"
)

// wsDialWith opens a WebSocket to local with header, offering protocols;
// on a refused handshake it returns the status and the response body.
func wsDialWith(t *testing.T, local string, header http.Header, protocols ...string) (net.Conn, int, string) {
	t.Helper()
	status, body := 0, ""
	d := ws.Dialer{
		Timeout:   5 * time.Second,
		Protocols: protocols,
		Header:    ws.HandshakeHeaderHTTP(header),
		OnStatusError: func(s int, _ []byte, resp io.Reader) {
			status = s
			// The whole response; the connection stays open, so the
			// body is read by its Content-Length.
			r, err := http.ReadResponse(bufio.NewReader(resp), nil)
			if err != nil {
				return
			}
			b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
			body = string(b)
		},
	}
	conn, _, _, err := d.Dial(context.Background(), "ws://"+local+"/")
	if err != nil {
		var se ws.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("dial: %v", err)
		}
		if status == 0 {
			status = int(se)
		}
		return nil, status, body
	}
	t.Cleanup(func() { conn.Close() })
	return conn, http.StatusSwitchingProtocols, ""
}

func TestWSCheckRefuses(t *testing.T) {
	var calls atomic.Int32
	_, box, local := newWS(t, Config{
		WSOrigins: []string{"https://phone.example"},
		WSCheck: func(r *http.Request) (any, error) {
			calls.Add(1)
			if r.Header.Get("Cookie") == "" {
				return nil, errors.New("wscookie: cookie missing: WSSessionInfo\r\nInjected: header")
			}
			return "ok", nil
		},
	})
	// A failing check: 403 with the reason, on one line, as the body.
	_, status, body := wsDialWith(t, local.String(), nil, "sip")
	if status != http.StatusForbidden || !strings.HasPrefix(body, "wscookie: cookie missing: WSSessionInfo  Injected: header") {
		t.Fatalf("failing check: status %d, body %q", status, body)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls", calls.Load())
	}
	// The Origin and subprotocol checks come first; the check never sees
	// what they refuse.
	_, status, _ = wsDialWith(t, local.String(), http.Header{"Origin": {"https://evil.example"}, "Cookie": {"a=b"}}, "sip")
	if status != http.StatusForbidden {
		t.Fatalf("other origin: status %d", status)
	}
	_, status, _ = wsDialWith(t, local.String(), http.Header{"Cookie": {"a=b"}}, "chat")
	if status != http.StatusBadRequest {
		t.Fatalf("no sip subprotocol: status %d", status)
	}
	if calls.Load() != 1 {
		t.Fatalf("the check ran for a handshake already refused: %d calls", calls.Load())
	}
	// A passing check.
	c, status, _ := wsDialWith(t, local.String(), http.Header{"Cookie": {"a=b"}}, "sip")
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("passing check: status %d", status)
	}
	sendFrame(t, c, ws.NewTextFrame([]byte(options)), false)
	if in := box.next(t); in.Session != "ok" {
		t.Fatalf("Session %v", in.Session)
	}
}

// TestWSCheckSessions checks that each connection's messages carry its own
// session, and that other flows carry none.
func TestWSCheckSessions(t *testing.T) {
	m, box, local := newWS(t, Config{
		WSCheck: func(r *http.Request) (any, error) {
			c, err := r.Cookie("user")
			if err != nil {
				return nil, nil // let through, without a session
			}
			return c.Value, nil
		},
	})
	udp, err := m.ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	alice, _, _ := wsDialWith(t, local.String(), http.Header{"Cookie": {"user=alice"}}, "sip")
	bob, _, _ := wsDialWith(t, local.String(), http.Header{"Cookie": {"user=bob"}}, "sip")
	anon, _, _ := wsDialWith(t, local.String(), nil, "sip")
	for i, tc := range []struct {
		c    net.Conn
		want any
	}{{alice, "alice"}, {bob, "bob"}, {alice, "alice"}, {anon, nil}} {
		msg := strings.Replace(options, "CSeq: 1", fmt.Sprintf("CSeq: %d", i+1), 1)
		sendFrame(t, tc.c, ws.NewTextFrame([]byte(msg)), false)
		if in := box.next(t); in.Session != tc.want {
			t.Fatalf("message %d: Session %v, want %v", i, in.Session, tc.want)
		}
	}
	u, err := net.Dial("udp", udp.String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := u.Write([]byte(options)); err != nil {
		t.Fatal(err)
	}
	if in := box.next(t); in.Session != nil || in.Flow.Kind != UDP {
		t.Fatalf("UDP: flow %v, Session %v", in.Flow.Kind, in.Session)
	}
}

// TestWSCheckCookies runs wscookie's Verifier as the check, with cookies
// made as repro's PHP example makes them.
func TestWSCheckCookies(t *testing.T) {
	secret := "correct horse battery staple"
	now := time.Now()
	cookies := func(key string, expires time.Time) http.Header {
		info := fmt.Sprintf("1:%d:%d:alice@example.org:*@example.org", now.Unix(), expires.Unix())
		h := hmac.New(sha1.New, []byte(key))
		h.Write([]byte(info + ":gold"))
		return http.Header{"Cookie": {"WSSessionInfo=" + url.QueryEscape(info) + "; WSSessionExtra=gold; WSSessionMAC=" + hex.EncodeToString(h.Sum(nil))}}
	}
	v := &wscookie.Verifier{Secret: []byte(secret)}
	_, box, local := newWS(t, Config{WSCheck: func(r *http.Request) (any, error) { return v.Check(r) }})

	c, status, _ := wsDialWith(t, local.String(), cookies(secret, now.Add(time.Hour)), "sip")
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("good cookie: status %d", status)
	}
	invite := "INVITE sip:bob@example.org SIP/2.0\r\nVia: SIP/2.0/WS abc.invalid;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n" +
		"From: <sip:alice@example.org>;tag=1\r\nTo: <sip:bob@example.org>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	sendFrame(t, c, ws.NewTextFrame([]byte(invite)), false)
	in := box.next(t)
	s, ok := in.Session.(*wscookie.Session)
	if !ok || s.From != "alice@example.org" || s.Extra != "gold" {
		t.Fatalf("Session %#v", in.Session)
	}
	if ok, reason := s.Allows(in.Msg); !ok {
		t.Fatalf("Allows: %s", reason)
	}
	bad := strings.Replace(invite, "sip:alice@", "sip:mallory@", 1)
	m, err := sip.Parse([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Allows(m); ok {
		t.Fatal("mallory allowed")
	}

	for _, tc := range []struct {
		name   string
		header http.Header
		want   string
	}{
		{"no cookie", nil, "wscookie: cookie missing: WSSessionInfo"},
		{"wrong secret", cookies("another secret", now.Add(time.Hour)), "wscookie: bad MAC: WSSessionMAC does not match"},
		{"expired", cookies(secret, now.Add(-time.Minute)), "wscookie: cookie expired at "},
	} {
		_, status, body := wsDialWith(t, local.String(), tc.header, "sip")
		if status != http.StatusForbidden || !strings.HasPrefix(body, tc.want) || strings.Contains(body, secret) {
			t.Errorf("%s: status %d, body %q", tc.name, status, body)
		}
	}
}
