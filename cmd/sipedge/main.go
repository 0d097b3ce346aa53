// Command sipedge is a SIP proxy, registrar and TURN server that lets web
// browsers make real-time calls over the open internet.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/sipedge/sipedge/config"
	"github.com/sipedge/sipedge/server"
)

// version is set at link time (-ldflags "-X main.version=...") for releases.
var version = "dev"

const usage = `usage: sipedge <command> [arguments]

commands:
  serve [-c file] [--Key=value ...]          run the proxy, registrar and edge
  check-config [-c file] [--Key=value ...]   check a configuration and print what it opens
  sample-config                              print the annotated sample configuration
  user add USER@DOMAIN [--realm R] [-c file] [--Key=value ...]
                                             add a user; the password is read from the
                                             terminal (asked twice) or one line of stdin
  user passwd USER@DOMAIN [--realm R] [...]  change a user's password the same way
  user remove USER@DOMAIN [...]              remove a user
  user list [DOMAIN] [...]                   list users (never their HA1 values)
  domain add|remove DOMAIN [...]             add or remove a domain of the user store
  domain list [...]                          list the domains
  turn-credentials USER [--host H] [...]     print TURN REST credentials and URIs as JSON,
                                             as /turn-credentials serves them
  version                                    print the version and exit

Without -c, serve runs the embedded default: SIP over UDP and TCP on
127.0.0.1:5060 and over WebSocket on 127.0.0.1:8080, data in ./sipedge-data.
--Key=value overrides a key of the file (repro's syntax), e.g. --UDPPort=5080.
user and domain use the database in the DataDirectory of the same -c file and
overrides that serve is given ([...] above); a running serve sees their changes.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "sipedge %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "sample-config":
		fmt.Fprint(stdout, config.Sample)
		return 0
	case "check-config":
		cfg, code := load(args[1:], stderr)
		if cfg == nil {
			return code
		}
		describe(cfg, stdout)
		return 0
	case "serve":
		cfg, code := load(args[1:], stderr)
		if cfg == nil {
			return code
		}
		return serve(cfg, stderr)
	case "user":
		return userCommand(args[1:], stdin, stdout, stderr)
	case "domain":
		return domainCommand(args[1:], stdout, stderr)
	case "turn-credentials":
		return turnCredentialsCommand(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "sipedge: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// load reads the configuration named by -c (the embedded default without
// one) with the command line's overrides; it prints every problem found.
func load(args []string, stderr io.Writer) (*config.Config, int) {
	path := ""
	var overrides []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-c" || a == "--c" || a == "-config" || a == "--config":
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "sipedge: %s needs a file name\n", a)
				return nil, 2
			}
			i++
			path = args[i]
		case strings.HasPrefix(a, "-c=") || strings.HasPrefix(a, "--config="):
			path = a[strings.IndexByte(a, '=')+1:]
		case strings.Contains(a, "="):
			overrides = append(overrides, a)
		default:
			fmt.Fprintf(stderr, "sipedge: unexpected argument %q (overrides are written --Key=value)\n\n%s", a, usage)
			return nil, 2
		}
	}
	cfg, err := config.Load(path, overrides)
	if err != nil {
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			for _, e := range joined.Unwrap() {
				fmt.Fprintf(stderr, "sipedge: %v\n", e)
			}
		} else {
			fmt.Fprintf(stderr, "sipedge: %v\n", err)
		}
		return nil, 1
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "sipedge: warning: %v\n", w)
	}
	return cfg, 0
}

// describe prints what a configuration opens, for check-config.
func describe(cfg *config.Config, w io.Writer) {
	fmt.Fprintf(w, "configuration %s is valid\n", cfg.Source)
	for _, l := range cfg.Listeners {
		rr := l.RecordRouteURI
		if rr == "" {
			rr = cfg.RecordRouteURI
		}
		if rr == "" {
			rr = "auto"
		}
		fmt.Fprintf(w, "  listen %-3s %-22s record-route %s\n", l.Type, l.Addr, rr)
	}
	domains := strings.Join(cfg.Domains, ", ")
	if domains == "" {
		domains = "(none: requests for our own IP addresses only)"
	}
	fmt.Fprintf(w, "  domains: %s\n", domains)
	if t := cfg.Turn; t.Port != 0 {
		addr := "0.0.0.0"
		if t.Addr.IsValid() {
			addr = t.Addr.String()
		}
		fmt.Fprintf(w, "  turn     %s:%d (UDP, TCP) realm %q relay ports %d-%d\n", addr, t.Port, t.Realm, t.PortMin, t.PortMax)
	}
	auth := "digest (on)"
	if cfg.DisableAuth {
		auth = "off (DisableAuth)"
	}
	fmt.Fprintf(w, "  authentication: %s\n", auth)
	fmt.Fprintf(w, "  data directory: %s\n", cfg.DataDirectory)
}

// serve runs the server until SIGTERM or SIGINT.
func serve(cfg *config.Config, stderr io.Writer) int {
	log := server.NewLogger(cfg, os.Stderr)
	srv, err := server.New(cfg, server.Options{Logger: log, Version: buildVersion()})
	if err != nil {
		fmt.Fprintf(stderr, "sipedge: %v\n", err)
		return 1
	}
	// Signals are caught before anything says "running": a SIGTERM right
	// after that line must stop sipedge gracefully, not kill it.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := srv.Start(); err != nil {
		fmt.Fprintf(stderr, "sipedge: %v\n", err)
		return 1
	}
	log.Info("sipedge running", "version", buildVersion(), "config", cfg.Source)
	if cfg.Source == "embedded default" {
		log.Info("this is the embedded default: loopback only. To accept other hosts, write a config " +
			"(sipedge sample-config > sipedge.config), set IPAddress or Transport<N>Interface and Domains, " +
			"and run sipedge serve -c sipedge.config")
	}
	// SIGHUP reloads the certificates (after a renewal) without dropping
	// a connection.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			waiting = false
		case <-hup:
			if err := srv.ReloadCertificates(); err != nil {
				log.Error("SIGHUP: certificates not reloaded; the ones in use stay", "err", err)
			} else {
				log.Info("SIGHUP: certificates reloaded")
			}
		}
	}
	stop()
	log.Info("stopping: no new calls; waiting for live transactions", "grace", cfg.ShutdownGrace)
	if err := srv.Shutdown(context.Background()); err != nil {
		log.Warn("stopped before every transaction finished", "err", err)
	}
	log.Info("stopped")
	return 0
}

// buildVersion prefers the link-time version, then the module version that
// `go install` records.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}
