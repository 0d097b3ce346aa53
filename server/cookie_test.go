package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// TestWSCookieAuth runs repro's WebSocket cookie authentication end to end:
// a handshake with the site's signed cookies is accepted, and on it a
// request From the cookie's user passes while one From another user gets
// 403; a handshake without cookies gets HTTP 403.
func TestWSCookieAuth(t *testing.T) {
	const secret = "the site and sipedge share this"
	s := startServer(t, threeTransports+"WSCookieAuthSharedSecret = "+secret+"\n")
	addr := addr(t, s, transport.WS)
	now := time.Now()
	info := fmt.Sprintf("1:%d:%d:alice@example.com:*@example.com", now.Unix(), now.Add(time.Hour).Unix())
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(info + ":"))
	header := http.Header{"Cookie": {"WSSessionInfo=" + url.QueryEscape(info) + "; WSSessionExtra=; WSSessionMAC=" + hex.EncodeToString(mac.Sum(nil))}}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, _, err := (ws.Dialer{Protocols: []string{"sip"}}).Dial(ctx, "ws://"+addr.String()+"/"); err == nil {
		t.Fatal("handshake without cookies accepted")
	} else if !strings.Contains(err.Error(), "403") {
		t.Fatalf("handshake without cookies: %v, want HTTP 403", err)
	}
	conn, _, _, err := (ws.Dialer{Protocols: []string{"sip"}, Header: ws.HandshakeHeaderHTTP(header)}).Dial(ctx, "ws://"+addr.String()+"/")
	if err != nil {
		t.Fatalf("handshake with the cookies: %v", err)
	}
	defer conn.Close()
	ask := func(from, branch string) *sip.Message {
		t.Helper()
		msg := "MESSAGE sip:nobody@example.com SIP/2.0\r\nVia: SIP/2.0/WS c.invalid;branch=z9hG4bK" + branch + "\r\nMax-Forwards: 70\r\n" +
			"From: <sip:" + from + ">;tag=1\r\nTo: <sip:nobody@example.com>\r\nCall-ID: " + branch + "\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
		if err := wsutil.WriteClientText(conn, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := wsutil.ReadServerText(conn)
		if err != nil {
			t.Fatal(err)
		}
		m, err := sip.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := ask("alice@example.com", "ck1"); m.StatusCode != 480 {
		t.Fatalf("the cookie's own user: %d %s, want 480 (past the cookie check, nobody registered)", m.StatusCode, m.Reason)
	}
	if m := ask("mallory@example.com", "ck2"); m.StatusCode != 403 {
		t.Fatalf("another From: %d %s, want 403", m.StatusCode, m.Reason)
	}
}
