package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/sipedge/sipedge/store"
)

func domainCommand(args []string, stdout, stderr io.Writer) int {
	sub, cmd, ok := subcommand("domain", args, stderr, "add", "remove", "list")
	if !ok {
		return 2
	}
	a, ok := parseStoreArgs(cmd, args[1:], false, stderr)
	if !ok {
		return 2
	}
	var domain string
	if sub == "list" {
		if len(a.positional) != 0 {
			fmt.Fprintf(stderr, "sipedge: %s takes no DOMAIN\n", cmd)
			return 2
		}
	} else {
		if len(a.positional) != 1 {
			fmt.Fprintf(stderr, "sipedge: %s takes one DOMAIN\n", cmd)
			return 2
		}
		d, err := store.CanonicalDomain(a.positional[0])
		if err != nil {
			fmt.Fprintf(stderr, "sipedge: %s: %v\n", cmd, err)
			return 2
		}
		domain = d
	}

	ctx := context.Background()
	cfg, db, code := openStore(ctx, a.load, stderr)
	if db == nil {
		return code
	}
	defer db.Close()
	inConfig := slices.Contains(configDomains(cfg), domain)

	switch sub {
	case "add":
		err := db.AddDomain(ctx, domain)
		if errors.Is(err, store.ErrExists) {
			fmt.Fprintf(stderr, "sipedge: domain %s is in the store already\n", domain)
			return 1
		}
		if err != nil {
			fmt.Fprintf(stderr, "sipedge: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "domain %s added to %s\n", domain, db.Path())
		return 0
	case "remove":
		err := db.RemoveDomain(ctx, domain)
		if errors.Is(err, store.ErrDomainInUse) {
			users, _ := db.Users(ctx, domain)
			fmt.Fprintf(stderr, "sipedge: domain %s still has %d users (sipedge user list %s); remove them first\n", domain, len(users), domain)
			return 1
		}
		if errors.Is(err, store.ErrNotFound) {
			if inConfig {
				fmt.Fprintf(stderr, "sipedge: domain %s is not in the store; it is in the configuration's Domains (%s), which only an edit of the file changes\n", domain, cfg.Source)
			} else {
				fmt.Fprintf(stderr, "sipedge: no domain %s in %s\n", domain, db.Path())
			}
			return 1
		}
		if err != nil {
			fmt.Fprintf(stderr, "sipedge: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "domain %s removed\n", domain)
		if inConfig {
			fmt.Fprintf(stdout, "it is still one of the configuration's Domains (%s)\n", cfg.Source)
		}
		return 0
	default:
		domains, err := db.Domains(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "sipedge: %v\n", err)
			return 1
		}
		for _, d := range domains {
			fmt.Fprintln(stdout, d)
		}
		for _, d := range configDomains(cfg) {
			if !slices.Contains(domains, d) {
				fmt.Fprintf(stdout, "%s (configuration only)\n", d)
			}
		}
		return 0
	}
}
