package proxy

import (
	"regexp"

	"github.com/sipedge/sipedge/sip"
)

func mustRE(s string) *regexp.Regexp { return regexp.MustCompile(s) }

func mustURI(s string) sip.URI {
	u, err := sip.ParseURI(s)
	if err != nil {
		panic(err)
	}
	return u
}
