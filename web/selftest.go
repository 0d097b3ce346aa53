package web

import "net/http"

// SelfTestPath is where the self-test page is served: from the visitor's
// browser it checks the WebSocket, a REGISTER and TURN over UDP, TCP and
// TLS, and explains failures in plain words (webphone/src/selftest.js).
const SelfTestPath = "/selftest"

// selfTestFiles are the self-test page's URL paths and the files of
// assets they serve. The page links its script and style relative to
// SelfTestPath, so they sit beside it at the root, with the chunks the
// script shares with the phone's (withChunks), which it imports.
var selfTestFiles = withChunks(map[string]string{
	SelfTestPath:    "selftest.html",
	"/selftest.js":  "selftest.js",
	"/selftest.css": "selftest.css",
})

// NewSelfTest returns the handler of the self-test page and its script
// (with the shared chunks) and style: GET and HEAD only, with the phone's
// security headers (PageCSP). New routes it when Config.SelfTest is set.
func NewSelfTest() (http.Handler, error) {
	return newPages(selfTestFiles)
}

// handleSelfTest routes the self-test page's paths on mux; its files are
// read now, so that a missing one fails at start rather than as a 404.
func handleSelfTest(mux *http.ServeMux) error {
	h, err := NewSelfTest()
	if err != nil {
		return err
	}
	for p := range selfTestFiles {
		mux.Handle(p, h)
	}
	return nil
}
