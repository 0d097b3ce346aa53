package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sipedge/sipedge/config"
	"github.com/sipedge/sipedge/server"
	"github.com/sipedge/sipedge/web"
)

// maxRESTUser bounds the user part of a REST user name (as auth bounds
// digest user names).
const maxRESTUser = 256

// turnCredentialsCommand is `sipedge turn-credentials USER [--host H]
// [-c file] [--Key=value ...]`: it prints the JSON /turn-credentials
// serves, signed with the configuration's secret, for an operator's own
// web application. USER is anything that names the credentials' holder
// (quotas count per USER); it need not be a SIP user.
func turnCredentialsCommand(args []string, stdout, stderr io.Writer) int {
	const use = "usage: sipedge turn-credentials USER [--host HOST] [-c file] [--Key=value ...]\n"
	var user, host string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--host" || a == "-host":
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "sipedge turn-credentials: %s needs a host name\n%s", a, use)
				return 2
			}
			i++
			host = args[i]
		case strings.HasPrefix(a, "--host="):
			host = strings.TrimPrefix(a, "--host=")
		case a == "-c" || a == "--c" || a == "-config" || a == "--config":
			rest = append(rest, a)
			if i+1 < len(args) {
				i++
				rest = append(rest, args[i])
			}
		case user == "" && !strings.HasPrefix(a, "-") && !strings.Contains(a, "="):
			user = a
		default:
			rest = append(rest, a)
		}
	}
	if user == "" || len(user) > maxRESTUser || strings.ContainsFunc(user, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		fmt.Fprintf(stderr, "sipedge turn-credentials: USER must be 1 to %d printable characters without spaces\n%s", maxRESTUser, use)
		return 2
	}
	cfg, code := load(rest, stderr)
	if cfg == nil {
		return code
	}
	if cfg.Turn.Port == 0 {
		fmt.Fprintln(stderr, "sipedge turn-credentials: TURN is off in this configuration (TurnPort = 0)")
		return 1
	}
	uris := cfg.Web.TurnURIs
	if len(uris) == 0 {
		if host == "" {
			host = defaultTURNHost(cfg)
		}
		if host == "" || !config.ValidHost(host) && !config.ValidHost("["+host+"]") {
			fmt.Fprintln(stderr, "sipedge turn-credentials: name the TURN server's host with --host NAME (or set TurnUris)")
			return 2
		}
		uris = web.URIsFor(host, cfg.Turn.Port, cfg.Turn.Port, cfg.Turn.TLSPort)
	}
	secret, err := server.RESTSecret(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "sipedge turn-credentials: %v\n", err)
		return 1
	}
	b, err := json.Marshal(web.MakeTURNResponse(secret, user, time.Now(), cfg.Web.TurnCredentialLifetime, uris))
	if err != nil {
		fmt.Fprintf(stderr, "sipedge turn-credentials: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return 0
}

// defaultTURNHost is the address clients reach TURN at, as far as the
// configuration says: TurnRelayAddress, else TurnAddress; "" when neither
// names one.
func defaultTURNHost(cfg *config.Config) string {
	if a := cfg.Turn.RelayAddress; a.IsValid() && !a.IsUnspecified() {
		return a.String()
	}
	if a := cfg.Turn.Addr; a.IsValid() && !a.IsUnspecified() {
		return a.String()
	}
	return ""
}
