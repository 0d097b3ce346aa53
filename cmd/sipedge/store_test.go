package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/store"
	"github.com/sipedge/sipedge/store/sqlite"
)

// sipedge runs the command line args with the data directory dir and stdin
// as standard input.
func sipedge(t *testing.T, dir, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--DataDirectory="+dir)
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// must runs a command that must succeed and returns its output.
func must(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	code, out, errs := sipedge(t, dir, stdin, args...)
	if code != 0 {
		t.Fatalf("sipedge %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
	}
	return out
}

// fails runs a command that must exit with code and print want on stderr.
func fails(t *testing.T, dir, stdin string, code int, want string, args ...string) string {
	t.Helper()
	got, _, errs := sipedge(t, dir, stdin, args...)
	if got != code || !strings.Contains(errs, want) {
		t.Fatalf("sipedge %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), got, errs, code, want)
	}
	return errs
}

func openDir(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestUserCommands(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")

	fails(t, dir, "secret\n", 1, "sipedge domain add example.com", "user", "add", "alice@example.com")
	if out := must(t, dir, "", "domain", "add", "Example.COM"); !strings.Contains(out, "domain example.com added") {
		t.Fatalf("domain add said %q", out)
	}
	out := must(t, dir, "secret\n", "user", "add", "alice@example.com")
	if !strings.Contains(out, `user alice@example.com added (realm "example.com")`) {
		t.Fatalf("user add said %q", out)
	}
	must(t, dir, "other secret\r\n", "user", "add", "bob@EXAMPLE.com")

	db := openDir(t, dir)
	alice, err := db.User(ctx, "alice", "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if alice.Realm != "example.com" || alice.HA1MD5 != store.HA1("MD5", "alice", "example.com", "secret") ||
		alice.HA1SHA256 != store.HA1("SHA-256", "alice", "example.com", "secret") {
		t.Fatalf("alice is %+v", alice)
	}
	bob, _ := db.User(ctx, "bob", "example.com")
	if bob.HA1MD5 != store.HA1("MD5", "bob", "example.com", "other secret") {
		t.Fatal("the line end was taken as part of bob's password")
	}

	list := must(t, dir, "", "user", "list")
	for _, want := range []string{"alice@example.com", "bob@example.com", "REALM"} {
		if !strings.Contains(list, want) {
			t.Errorf("user list lacks %q:\n%s", want, list)
		}
	}
	for _, secret := range []string{alice.HA1MD5, alice.HA1SHA256, bob.HA1MD5, "secret"} {
		if strings.Contains(list, secret) {
			t.Fatalf("user list shows a secret:\n%s", list)
		}
	}
	if l := must(t, dir, "", "user", "list", "example.org"); l != "" {
		t.Fatalf("user list of an empty domain: %q", l)
	}

	fails(t, dir, "again\n", 1, "exists already", "user", "add", "alice@example.com")
	if a, _ := db.User(ctx, "alice", "example.com"); a.HA1MD5 != alice.HA1MD5 {
		t.Fatal("a refused user add changed the password")
	}

	must(t, dir, "new secret\n", "user", "passwd", "alice@example.com")
	a, _ := db.User(ctx, "alice", "example.com")
	if a.HA1MD5 != store.HA1("MD5", "alice", "example.com", "new secret") || !a.Created.Equal(alice.Created) {
		t.Fatalf("after passwd: %+v (before %+v)", a, alice)
	}
	fails(t, dir, "x\n", 1, "no user carol@example.com", "user", "passwd", "carol@example.com")

	if out := must(t, dir, "", "user", "remove", "alice@example.com"); !strings.Contains(out, "removed") {
		t.Fatalf("user remove said %q", out)
	}
	fails(t, dir, "", 1, "no user alice@example.com", "user", "remove", "alice@example.com")
	if _, err := db.User(ctx, "alice", "example.com"); err == nil {
		t.Fatal("alice is still there")
	}
}

func TestUserRealm(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	must(t, dir, "", "domain", "add", "example.com")
	must(t, dir, "pw\n", "user", "add", "alice@example.com", "--realm", "sip.example.com")
	must(t, dir, "pw\n", "user", "add", "--realm=Other Realm", "bob@example.com")
	db := openDir(t, dir)
	if a, _ := db.User(ctx, "alice", "example.com"); a.Realm != "sip.example.com" || a.HA1MD5 != store.HA1("MD5", "alice", "sip.example.com", "pw") {
		t.Fatalf("alice %+v", a)
	}
	// passwd keeps the realm unless told otherwise.
	must(t, dir, "pw2\n", "user", "passwd", "bob@example.com")
	if b, _ := db.User(ctx, "bob", "example.com"); b.Realm != "Other Realm" || b.HA1MD5 != store.HA1("MD5", "bob", "Other Realm", "pw2") {
		t.Fatalf("bob %+v", b)
	}
	must(t, dir, "pw3\n", "user", "passwd", "bob@example.com", "--realm=example.com")
	if b, _ := db.User(ctx, "bob", "example.com"); b.Realm != "example.com" {
		t.Fatalf("bob %+v", b)
	}
	fails(t, dir, "pw\n", 2, "--realm", "user", "add", "carol@example.com", "--realm=a\"b")
	fails(t, dir, "pw\n", 2, "--realm needs a value", "user", "add", "carol@example.com", "--realm")
	fails(t, dir, "", 2, "takes no --realm", "user", "remove", "bob@example.com", "--realm=x")
	fails(t, dir, "", 2, "takes no --realm", "domain", "add", "example.org", "--realm=x")
}

// TestPasswordNeverAnArgument: a password is read, never taken from the
// command line, and a refused one is never echoed.
func TestPasswordRules(t *testing.T) {
	dir := t.TempDir()
	must(t, dir, "", "domain", "add", "example.com")
	for _, args := range [][]string{
		{"user", "add", "alice@example.com", "hunter2"},
		{"user", "passwd", "alice@example.com", "hunter2"},
		{"user", "add", "alice@example.com", "--password=hunter2"},
		{"user", "add", "alice@example.com", "--password", "hunter2"},
		{"user", "add", "alice@example.com", "-p", "hunter2"},
	} {
		errs := fails(t, dir, "", 2, "password", args...)
		if strings.Contains(errs, "hunter2") {
			t.Errorf("%q: the message repeats the password: %q", args, errs)
		}
	}
	fails(t, dir, "", 1, "empty password", "user", "add", "alice@example.com")
	fails(t, dir, "\n", 1, "empty password", "user", "add", "alice@example.com")
	fails(t, dir, "\r\n", 1, "empty password", "user", "add", "alice@example.com")
	fails(t, dir, strings.Repeat("x", maxPassword+1)+"\n", 1, "longer than", "user", "add", "alice@example.com")
	fails(t, dir, strings.Repeat("x", 100000), 1, "longer than", "user", "add", "alice@example.com")
	// Only the first line is the password.
	must(t, dir, strings.Repeat("x", maxPassword)+"\nmore\n", "user", "add", "alice@example.com")
	db := openDir(t, dir)
	if a, _ := db.User(context.Background(), "alice", "example.com"); a.HA1MD5 != store.HA1("MD5", "alice", "example.com", strings.Repeat("x", maxPassword)) {
		t.Fatal("password of the longest length not stored as given")
	}
	// No standard input at all.
	var out, errb bytes.Buffer
	if code := run([]string{"user", "add", "bob@example.com", "--DataDirectory=" + dir}, nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no password") {
		t.Fatalf("nil stdin: exit %d, %q", code, errb.String())
	}
}

func TestUserUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user"}, "user needs a command"},
		{[]string{"user", "frob"}, `unknown command "user frob"`},
		{[]string{"user", "add"}, "takes one USER@DOMAIN"},
		{[]string{"user", "remove", "a@example.com", "b@example.com"}, "takes one USER@DOMAIN"},
		{[]string{"user", "add", "alice"}, "not USER@DOMAIN"},
		{[]string{"user", "add", "alice@"}, "empty domain"},
		{[]string{"user", "add", "@example.com"}, "empty user part"},
		{[]string{"user", "add", "al ice@example.com"}, "not allowed"},
		{[]string{"user", "add", "alice@exa_mple.com"}, "not allowed"},
		{[]string{"user", "add", strings.Repeat("a", store.MaxUserLen+1) + "@example.com"}, "longer than"},
		{[]string{"user", "list", "a.com", "b.com"}, "at most one DOMAIN"},
		{[]string{"user", "list", "bad_domain"}, "not allowed"},
		{[]string{"user", "list", "--frob"}, "unknown option --frob"},
		{[]string{"domain"}, "domain needs a command"},
		{[]string{"domain", "frob"}, `unknown command "domain frob"`},
		{[]string{"domain", "add"}, "takes one DOMAIN"},
		{[]string{"domain", "add", "a.com", "b.com"}, "takes one DOMAIN"},
		{[]string{"domain", "list", "a.com"}, "takes no DOMAIN"},
		{[]string{"domain", "add", "bad-.com"}, "starts or ends"},
	} {
		fails(t, dir, "", 2, tc.want, tc.args...)
	}
	// Nothing was created by a refused command line.
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err == nil {
		t.Error("a usage error created the database")
	}
	// A configuration problem is reported as serve would report it.
	fails(t, dir, "", 1, "NoSuchKey", "domain", "list", "--NoSuchKey=1")
	fails(t, dir, "", 1, "", "domain", "list", "-c", filepath.Join(dir, "missing.config"))
}

func TestDomainCommands(t *testing.T) {
	dir := t.TempDir()
	must(t, dir, "", "domain", "add", "example.com")
	must(t, dir, "", "domain", "add", "[2001:DB8::1]")
	must(t, dir, "", "domain", "add", "10.0.0.1")
	fails(t, dir, "", 1, "in the store already", "domain", "add", "EXAMPLE.com.")
	if got := must(t, dir, "", "domain", "list"); got != "10.0.0.1\n[2001:db8::1]\nexample.com\n" {
		t.Fatalf("domain list = %q", got)
	}
	// The configuration's Domains are listed too, marked.
	if got := must(t, dir, "", "domain", "list", "--Domains=example.com, sip.example.org"); got != "10.0.0.1\n[2001:db8::1]\nexample.com\nsip.example.org (configuration only)\n" {
		t.Fatalf("domain list with Domains = %q", got)
	}

	must(t, dir, "pw\n", "user", "add", "alice@example.com")
	must(t, dir, "pw\n", "user", "add", "bob@example.com")
	fails(t, dir, "", 1, "still has 2 users", "domain", "remove", "example.com")
	must(t, dir, "", "user", "remove", "alice@example.com")
	must(t, dir, "", "user", "remove", "bob@example.com")
	if out := must(t, dir, "", "domain", "remove", "example.com", "--Domains=example.com"); !strings.Contains(out, "still one of the configuration's Domains") {
		t.Fatalf("domain remove of a configured domain said %q", out)
	}
	fails(t, dir, "", 1, "no domain example.com", "domain", "remove", "example.com")
	fails(t, dir, "", 1, "only an edit of the file changes", "domain", "remove", "example.com", "--Domains=example.com")
}

// TestUserOfConfiguredDomain: a user of one of the configuration's Domains
// needs no domain add; the domain enters the store with the user.
func TestUserOfConfiguredDomain(t *testing.T) {
	dir := t.TempDir()
	out := must(t, dir, "pw\n", "user", "add", "alice@sip.example.org", "--Domains=example.com,SIP.example.org")
	if !strings.Contains(out, "domain sip.example.org added to the store") {
		t.Fatalf("user add said %q", out)
	}
	if got := must(t, dir, "", "domain", "list"); got != "sip.example.org\n" {
		t.Fatalf("domain list = %q", got)
	}
}

// TestConfigFileDataDirectory: the commands open the database in the
// DataDirectory of the -c file, as serve would.
func TestConfigFileDataDirectory(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data dir")
	cfgFile := filepath.Join(tmp, "sipedge.config")
	if err := os.WriteFile(cfgFile, []byte("DataDirectory = "+data+"\nDomains = example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"user", "add", "-c", cfgFile, "alice@example.com"}, strings.NewReader("pw\n"), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	db := openDir(t, data)
	if _, err := db.User(context.Background(), "alice", "example.com"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(data)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory: %v, %v", fi, err)
	}
}

// TestRunningServerSeesChanges: a store handle kept open, as sipedge serve
// keeps one, sees the commands' changes through Version, without reopening.
func TestRunningServerSeesChanges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	server := openDir(t, dir)
	v0, err := server.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	must(t, dir, "", "domain", "add", "example.com")
	must(t, dir, "pw\n", "user", "add", "alice@example.com")
	v1, err := server.Version(ctx)
	if err != nil || v1 <= v0 {
		t.Fatalf("Version %d after the commands, was %d (%v)", v1, v0, err)
	}
	if u, err := server.User(ctx, "alice", "example.com"); err != nil || u.HA1MD5 != store.HA1("MD5", "alice", "example.com", "pw") {
		t.Fatalf("the open handle does not see alice: %+v, %v", u, err)
	}
	must(t, dir, "", "user", "remove", "alice@example.com")
	if v2, _ := server.Version(ctx); v2 <= v1 {
		t.Fatalf("Version %d after user remove, was %d", v2, v1)
	}
}
