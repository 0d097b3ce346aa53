// Package web holds sipedge's HTTP handlers: what the WS and WSS listeners
// answer to requests that are not WebSocket upgrades. For now that is the
// TURN credentials endpoint (TURNCredentialsPath); the server wires it in
// through transport.Config.HTTP, so that transport imports nothing above
// it.
package web

import (
	"errors"
	"net/http"
)

// Config lists the handlers to serve; a nil one is not served (404).
type Config struct {
	// TURN serves TURNCredentialsPath.
	TURN *TURNCredentials
}

// New returns the handler that routes requests to the handlers cfg names;
// every other path gets 404.
func New(cfg Config) (http.Handler, error) {
	if cfg.TURN == nil {
		return nil, errors.New("web: no handler to serve")
	}
	mux := http.NewServeMux()
	mux.Handle(TURNCredentialsPath, cfg.TURN)
	return mux, nil
}
