package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/sipedge/sipedge/sip"
)

// Register sends REGISTER for the AOR with the UA's Contact (expires
// seconds; 0 removes the binding) and returns the final response. All
// registrations of a UA share one Call-ID with increasing CSeq (§10.2).
func (ua *UA) Register(ctx context.Context, expires int) (*sip.Message, error) {
	if expires < 0 {
		return nil, fmt.Errorf("client: REGISTER: negative expires %d", expires)
	}
	ruri, err := sip.ParseURI("sip:" + ua.cfg.Domain)
	if err != nil {
		return nil, fmt.Errorf("client: REGISTER: domain %q: %w", ua.cfg.Domain, err)
	}
	nextSeq := func() uint32 {
		ua.mu.Lock()
		defer ua.mu.Unlock()
		ua.regSeq++
		return ua.regSeq
	}
	req, err := ua.newRequest(mREGISTER, ruri, "<"+ua.aor.String()+">", ua.regCallID, randToken(10), nextSeq())
	if err != nil {
		return nil, err
	}
	if err := req.Add("Expires", strconv.Itoa(expires)); err != nil {
		return nil, fmt.Errorf("client: REGISTER: %w", err)
	}
	if ua.cfg.Instance != "" && ua.cfg.RegID > 0 {
		contact := fmt.Sprintf("<%s>;+sip.instance=\"<%s>\";reg-id=%d", ua.contact.String(), ua.cfg.Instance, ua.cfg.RegID)
		if err := req.Set("Contact", contact); err != nil {
			return nil, fmt.Errorf("client: REGISTER: %w", err)
		}
		if err := req.Add("Supported", "path, outbound, gruu"); err != nil {
			return nil, fmt.Errorf("client: REGISTER: %w", err)
		}
	}
	return ua.transact(ctx, req, nextSeq, nil, txHooks{})
}

// Request sends an out-of-dialog non-INVITE request (OPTIONS, MESSAGE,
// ...) to target ("sip:bob@example.com"), with a body when contentType or
// body is set, and returns the final response.
func (ua *UA) Request(ctx context.Context, method, target, contentType, body string) (*sip.Message, error) {
	switch method {
	case mINVITE, mACK, mCANCEL:
		return nil, fmt.Errorf("client: %s is not an out-of-dialog non-INVITE request", method)
	case "":
		return nil, errors.New("client: empty method")
	}
	ruri, err := sip.ParseURI(target)
	if err != nil {
		return nil, fmt.Errorf("client: %s target %q: %w", method, target, err)
	}
	seq := uint32(1)
	req, err := ua.newRequest(method, ruri, "<"+ruri.String()+">", randToken(20), randToken(10), seq)
	if err != nil {
		return nil, err
	}
	if contentType != "" || body != "" {
		req.SetBody(contentType, body)
	}
	// One goroutine runs transact, so the counter needs no lock.
	return ua.transact(ctx, req, func() uint32 { seq++; return seq }, nil, txHooks{})
}
