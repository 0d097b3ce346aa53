// Package web holds sipedge's HTTP handlers: what the WS and WSS listeners
// answer to requests that are not WebSocket upgrades: the embedded web
// phone (PhonePath), the self-test page (SelfTestPath) and the TURN
// credentials endpoint (TURNCredentialsPath). The server wires them in through
// transport.Config.HTTP, so that transport imports nothing above it.
package web

import (
	"errors"
	"net/http"
)

// Config lists the handlers to serve; a nil one is not served (404).
type Config struct {
	// TURN serves TURNCredentialsPath.
	TURN *TURNCredentials
	// Phone serves the web phone (NewPhone) at PhonePath and its files.
	Phone bool
	// SelfTest serves the self-test page (NewSelfTest) at SelfTestPath
	// and its files.
	SelfTest bool
}

// New returns the handler that routes requests to the handlers cfg names;
// every other path gets 404.
func New(cfg Config) (http.Handler, error) {
	if cfg.TURN == nil && !cfg.Phone && !cfg.SelfTest {
		return nil, errors.New("web: no handler to serve")
	}
	mux := http.NewServeMux()
	if cfg.TURN != nil {
		mux.Handle(TURNCredentialsPath, cfg.TURN)
	}
	if cfg.Phone {
		phone, err := NewPhone()
		if err != nil {
			return nil, err
		}
		// PhonePath is "/": the phone handler answers 404 itself for the
		// paths that are none of its files.
		mux.Handle(PhonePath, phone)
	}
	if cfg.SelfTest {
		if err := handleSelfTest(mux); err != nil {
			return nil, err
		}
	}
	return mux, nil
}
