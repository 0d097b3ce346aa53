package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/sipedge/sipedge/config"
	"github.com/sipedge/sipedge/store"
	"github.com/sipedge/sipedge/store/sqlite"
)

// maxPassword bounds a password read from standard input.
const maxPassword = 1024

// storeArgs is a user or domain command line: its positional arguments,
// what goes on to load (-c and --Key=value), and --realm.
type storeArgs struct {
	positional []string
	load       []string
	realm      string
}

// parseStoreArgs splits args (after "user add" and the like). --realm is
// taken only when realmOK; a --password in any form is refused, and so is
// anything that is neither an option nor a positional argument.
func parseStoreArgs(cmd string, args []string, realmOK bool, stderr io.Writer) (storeArgs, bool) {
	var a storeArgs
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		isOpt := strings.HasPrefix(arg, "-")
		switch {
		case isOpt && strings.EqualFold(name, "password") || arg == "-p":
			fmt.Fprintf(stderr, "sipedge: %s: a password is never given on the command line (other users can see it); "+
				"it is read from the terminal, or as one line of standard input\n", cmd)
			return a, false
		case isOpt && name == "realm":
			if !realmOK {
				fmt.Fprintf(stderr, "sipedge: %s takes no --realm\n", cmd)
				return a, false
			}
			if !hasValue {
				if i+1 >= len(args) || strings.HasPrefix(args[i+1], "-") {
					fmt.Fprintf(stderr, "sipedge: %s: --realm needs a value\n", cmd)
					return a, false
				}
				i++
				value = args[i]
			}
			if err := store.ValidRealm(value); err != nil {
				fmt.Fprintf(stderr, "sipedge: %s: --realm: %v\n", cmd, err)
				return a, false
			}
			a.realm = value
		case arg == "-c" || arg == "--c" || arg == "-config" || arg == "--config":
			a.load = append(a.load, arg)
			if i+1 < len(args) {
				i++
				a.load = append(a.load, args[i])
			}
		case strings.Contains(arg, "="):
			a.load = append(a.load, arg)
		case isOpt:
			fmt.Fprintf(stderr, "sipedge: %s: unknown option %s\n\n%s", cmd, arg, usage)
			return a, false
		default:
			a.positional = append(a.positional, arg)
		}
	}
	return a, true
}

// openStore loads the configuration as serve would and opens the store in
// its DataDirectory.
func openStore(ctx context.Context, loadArgs []string, stderr io.Writer) (*config.Config, *sqlite.DB, int) {
	cfg, code := load(loadArgs, stderr)
	if cfg == nil {
		return nil, nil, code
	}
	db, err := sqlite.Open(ctx, cfg.DataDirectory)
	if err != nil {
		fmt.Fprintf(stderr, "sipedge: %v\n", err)
		return nil, nil, 1
	}
	return cfg, db, 0
}

// parseAddress splits USER@DOMAIN, putting the domain in canonical form.
func parseAddress(s string) (user, domain string, err error) {
	user, domain, ok := strings.Cut(s, "@")
	if !ok {
		return "", "", fmt.Errorf("%q is not USER@DOMAIN", s)
	}
	if err := store.ValidUser(user); err != nil {
		return "", "", err
	}
	domain, err = store.CanonicalDomain(domain)
	if err != nil {
		return "", "", err
	}
	return user, domain, nil
}

// subcommand reads the sub-command of command (args[0]), one of subs,
// and returns it with the full command's name for messages; otherwise it
// says what is wrong on stderr.
func subcommand(command string, args []string, stderr io.Writer, subs ...string) (sub, cmd string, ok bool) {
	words := strings.Join(subs[:len(subs)-1], ", ") + " or " + subs[len(subs)-1]
	if len(args) == 0 || strings.HasPrefix(args[0], "-") || strings.Contains(args[0], "=") {
		fmt.Fprintf(stderr, "sipedge: %s needs a command: %s\n\n%s", command, words, usage)
		return "", "", false
	}
	sub, cmd = args[0], command+" "+args[0]
	if !slices.Contains(subs, sub) {
		fmt.Fprintf(stderr, "sipedge: unknown command %q (%s %s)\n\n%s", cmd, command, words, usage)
		return "", "", false
	}
	return sub, cmd, true
}

func userCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	sub, cmd, ok := subcommand("user", args, stderr, "add", "passwd", "remove", "list")
	if !ok {
		return 2
	}
	a, ok := parseStoreArgs(cmd, args[1:], sub == "add" || sub == "passwd", stderr)
	if !ok {
		return 2
	}
	if sub == "list" {
		if len(a.positional) > 1 {
			fmt.Fprintf(stderr, "sipedge: %s takes at most one DOMAIN\n", cmd)
			return 2
		}
	} else if len(a.positional) != 1 {
		if len(a.positional) > 1 && sub != "remove" {
			// Never repeat the extra argument: it may be a password.
			fmt.Fprintf(stderr, "sipedge: %s takes one USER@DOMAIN and no password: the password is read from "+
				"the terminal, or as one line of standard input\n", cmd)
		} else {
			fmt.Fprintf(stderr, "sipedge: %s takes one USER@DOMAIN\n", cmd)
		}
		return 2
	}

	var user, domain string
	if sub == "list" {
		if len(a.positional) == 1 {
			d, err := store.CanonicalDomain(a.positional[0])
			if err != nil {
				fmt.Fprintf(stderr, "sipedge: %s: %v\n", cmd, err)
				return 2
			}
			domain = d
		}
	} else {
		var err error
		user, domain, err = parseAddress(a.positional[0])
		if err != nil {
			fmt.Fprintf(stderr, "sipedge: %s: %v\n", cmd, err)
			return 2
		}
	}

	ctx := context.Background()
	cfg, db, code := openStore(ctx, a.load, stderr)
	if db == nil {
		return code
	}
	defer db.Close()

	switch sub {
	case "add":
		return userAdd(ctx, db, cfg, user, domain, a.realm, stdin, stdout, stderr)
	case "passwd":
		return userPasswd(ctx, db, user, domain, a.realm, stdin, stdout, stderr)
	case "remove":
		err := db.RemoveUser(ctx, user, domain)
		if errors.Is(err, store.ErrNotFound) {
			fmt.Fprintf(stderr, "sipedge: no user %s@%s in %s\n", user, domain, db.Path())
			return 1
		}
		if err != nil {
			fmt.Fprintf(stderr, "sipedge: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "user %s@%s removed\n", user, domain)
		return 0
	default:
		return userList(ctx, db, domain, stdout, stderr)
	}
}

func userAdd(ctx context.Context, db *sqlite.DB, cfg *config.Config, user, domain, realm string, stdin io.Reader, stdout, stderr io.Writer) int {
	if _, err := db.User(ctx, user, domain); err == nil {
		fmt.Fprintf(stderr, "sipedge: user %s@%s exists already (sipedge user passwd changes its password)\n", user, domain)
		return 1
	} else if !errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(stderr, "sipedge: %v\n", err)
		return 1
	}
	domains, err := db.Domains(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "sipedge: %v\n", err)
		return 1
	}
	addDomain := false
	if !slices.Contains(domains, domain) {
		if !slices.Contains(configDomains(cfg), domain) {
			fmt.Fprintf(stderr, "sipedge: domain %s is neither in the store nor in the configuration's Domains "+
				"(add it with: sipedge domain add %s)\n", domain, domain)
			return 1
		}
		addDomain = true
	}
	u, ok := askUser(stdin, stderr, user, domain, realm)
	if !ok {
		return 1
	}
	if addDomain {
		if err := db.AddDomain(ctx, domain); err != nil && !errors.Is(err, store.ErrExists) {
			fmt.Fprintf(stderr, "sipedge: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "domain %s added to the store (it is in the configuration's Domains)\n", domain)
	}
	if err := db.PutUser(ctx, u); err != nil {
		fmt.Fprintf(stderr, "sipedge: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "user %s@%s added (realm %q) to %s\n", user, domain, u.Realm, db.Path())
	return 0
}

// askUser reads user@domain's password and makes the user (its HA1 values
// in realm); a problem is printed, and ok is false.
func askUser(stdin io.Reader, stderr io.Writer, user, domain, realm string) (u store.User, ok bool) {
	password, err := readPassword(stdin, stderr, user+"@"+domain)
	if err == nil {
		u, err = store.NewUser(user, domain, realm, password)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sipedge: %v\n", err)
		return u, false
	}
	return u, true
}

func userPasswd(ctx context.Context, db *sqlite.DB, user, domain, realm string, stdin io.Reader, stdout, stderr io.Writer) int {
	old, err := db.User(ctx, user, domain)
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(stderr, "sipedge: no user %s@%s in %s (sipedge user add makes one)\n", user, domain, db.Path())
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "sipedge: %v\n", err)
		return 1
	}
	if realm == "" {
		realm = old.Realm
	}
	u, ok := askUser(stdin, stderr, user, domain, realm)
	if !ok {
		return 1
	}
	u.Created = old.Created
	if err := db.PutUser(ctx, u); err != nil {
		fmt.Fprintf(stderr, "sipedge: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "password of %s@%s changed (realm %q)\n", user, domain, u.Realm)
	return 0
}

func userList(ctx context.Context, db *sqlite.DB, domain string, stdout, stderr io.Writer) int {
	users, err := db.Users(ctx, domain)
	if err != nil {
		fmt.Fprintf(stderr, "sipedge: %v\n", err)
		return 1
	}
	if len(users) == 0 {
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tREALM\tCREATED\tUPDATED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s@%s\t%s\t%s\t%s\n", u.User, u.Domain, u.Realm,
			u.Created.Format("2006-01-02 15:04:05Z"), u.Updated.Format("2006-01-02 15:04:05Z"))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "sipedge: %v\n", err)
		return 1
	}
	return 0
}

// configDomains returns the configuration's Domains in the store's
// canonical form.
func configDomains(cfg *config.Config) []string {
	var out []string
	for _, d := range cfg.Domains {
		if c, err := store.CanonicalDomain(d); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// readPassword reads a password: from the terminal without echo, asked
// twice, when stdin is one; otherwise one line of stdin (at most
// maxPassword bytes, its line end removed). An empty password is refused.
func readPassword(stdin io.Reader, stderr io.Writer, who string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "Password for %s: ", who)
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if len(p1) == 0 {
			return "", errors.New("empty password refused")
		}
		if len(p1) > maxPassword {
			return "", fmt.Errorf("password longer than %d bytes", maxPassword)
		}
		fmt.Fprintf(stderr, "Password for %s again: ", who)
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords differ; nothing changed")
		}
		return string(p1), nil
	}
	if stdin == nil {
		return "", errors.New("no password: standard input is closed")
	}
	r := bufio.NewReaderSize(io.LimitReader(stdin, maxPassword+2), maxPassword+2)
	line, err := r.ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if len(line) > maxPassword {
		return "", fmt.Errorf("password longer than %d bytes", maxPassword)
	}
	if line == "" {
		return "", errors.New("empty password refused (give it on standard input, one line)")
	}
	return line, nil
}
