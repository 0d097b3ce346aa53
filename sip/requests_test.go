package sip

import (
	"strings"
	"testing"
)

func TestNewCancelAndAck(t *testing.T) {
	inv, err := Parse([]byte(utCRLF("INVITE sip:bob@example.com SIP/2.0\n" +
		"Via: SIP/2.0/UDP p.example.com;branch=z9hG4bKp1, SIP/2.0/UDP a.example.com;branch=z9hG4bKa1\n" +
		"Route: <sip:r1.example.com;lr>, <sip:r2.example.com;lr>\n" +
		"Max-Forwards: 69\nFrom: <sip:a@example.com>;tag=f\nTo: <sip:bob@example.com>\n" +
		"Call-ID: c@x\nCSeq: 7 INVITE\nContact: <sip:a@a.example.com>\nContent-Length: 0\n\n")))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCancel(inv)
	if err != nil {
		t.Fatal(err)
	}
	want := utCRLF("CANCEL sip:bob@example.com SIP/2.0\nVia: SIP/2.0/UDP p.example.com;branch=z9hG4bKp1\n" +
		"Max-Forwards: 70\nFrom: <sip:a@example.com>;tag=f\nTo: <sip:bob@example.com>\nCall-ID: c@x\nCSeq: 7 CANCEL\n" +
		"Route: <sip:r1.example.com;lr>\nRoute: <sip:r2.example.com;lr>\nContent-Length: 0\n\n")
	if got := c.String(); got != want {
		t.Fatalf("CANCEL:\n%s\nwant\n%s", got, want)
	}
	resp := NewResponse(inv, 486, "")
	resp.SetToTag("t9")
	a, err := NewAck(inv, resp)
	if err != nil {
		t.Fatal(err)
	}
	if a.Method != "ACK" || a.ToTag() != "t9" || a.CSeq().Method != "ACK" || a.CSeq().Seq != 7 || !strings.Contains(a.String(), "branch=z9hG4bKp1\r\n") {
		t.Fatalf("ACK:\n%s", a)
	}
	if _, err := Parse([]byte(a.String())); err != nil {
		t.Fatal(err)
	}
}
