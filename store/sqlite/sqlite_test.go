package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipedge/sipedge/store"
)

func open(t *testing.T, dir string) *DB {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newUser(t *testing.T, user, domain, password string) store.User {
	t.Helper()
	u, err := store.NewUser(user, domain, "", password)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCRUD(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())

	if err := s.PutUser(ctx, newUser(t, "alice", "example.com", "pw")); !errors.Is(err, store.ErrNoDomain) {
		t.Fatalf("user of a domain not in the store: %v, want ErrNoDomain", err)
	}
	for _, d := range []string{"example.com", "example.org"} {
		if err := s.AddDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddDomain(ctx, "example.com"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second AddDomain: %v, want ErrExists", err)
	}
	if err := s.AddDomain(ctx, "Example.net"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("AddDomain of a non-canonical domain: %v, want ErrInvalid", err)
	}
	if ds, err := s.Domains(ctx); err != nil || strings.Join(ds, ",") != "example.com,example.org" {
		t.Fatalf("Domains = %q, %v", ds, err)
	}

	alice := newUser(t, "alice", "example.com", "one")
	before := time.Now()
	if err := s.PutUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.User{newUser(t, "bob", "example.com", "two"), newUser(t, "Alice", "example.com", "three"), newUser(t, "carol", "example.org", "four")} {
		if err := s.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.User(ctx, "alice", "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.HA1MD5 != alice.HA1MD5 || got.HA1SHA256 != alice.HA1SHA256 || got.Realm != "example.com" {
		t.Fatalf("User = %+v, want the HA1 values of %+v", got, alice)
	}
	if got.Created.Before(before.Add(-time.Second)) || !got.Updated.Equal(got.Created) || got.Created.Location() != time.UTC {
		t.Fatalf("times %v %v", got.Created, got.Updated)
	}
	// User parts are case-sensitive; domains are canonical.
	if u, err := s.User(ctx, "Alice", "example.com"); err != nil || u.HA1MD5 == alice.HA1MD5 {
		t.Fatalf("Alice is not alice: %+v, %v", u, err)
	}
	for _, q := range [][2]string{{"alice", "example.org"}, {"dave", "example.com"}, {"alice", "Example.com"},
		{strings.Repeat("a", 10000), "example.com"}, {"alice", ""}} {
		if _, err := s.User(ctx, q[0], q[1]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("User(%.20q, %q): %v, want ErrNotFound", q[0], q[1], err)
		}
	}

	// Replacing keeps Created and moves Updated.
	time.Sleep(2 * time.Millisecond)
	changed, _ := store.NewUser("alice", "example.com", "other-realm", "new")
	if err := s.PutUser(ctx, changed); err != nil {
		t.Fatal(err)
	}
	got2, _ := s.User(ctx, "alice", "example.com")
	if got2.HA1MD5 != changed.HA1MD5 || got2.Realm != "other-realm" || !got2.Created.Equal(got.Created) || !got2.Updated.After(got.Updated) {
		t.Fatalf("after replace %+v (before %+v)", got2, got)
	}

	if us, err := s.Users(ctx, "example.com"); err != nil || names(us) != "Alice@example.com,alice@example.com,bob@example.com" {
		t.Fatalf("Users(example.com) = %s, %v", names(us), err)
	}
	if us, err := s.Users(ctx, ""); err != nil || names(us) != "Alice@example.com,alice@example.com,bob@example.com,carol@example.org" {
		t.Fatalf("Users() = %s, %v", names(us), err)
	}
	if us, err := s.Users(ctx, "example.net"); err != nil || len(us) != 0 {
		t.Fatalf("Users(example.net) = %s, %v", names(us), err)
	}

	if err := s.RemoveDomain(ctx, "example.org"); !errors.Is(err, store.ErrDomainInUse) {
		t.Fatalf("RemoveDomain with a user: %v, want ErrDomainInUse", err)
	}
	if err := s.RemoveUser(ctx, "carol", "example.org"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(ctx, "carol", "example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second RemoveUser: %v, want ErrNotFound", err)
	}
	if err := s.RemoveDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDomain(ctx, "example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second RemoveDomain: %v, want ErrNotFound", err)
	}

	bad := newUser(t, "eve", "example.com", "x")
	bad.HA1MD5 = "00"
	if err := s.PutUser(ctx, bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("PutUser with a bad HA1: %v, want ErrInvalid", err)
	}
}

func names(us []store.User) string {
	var b []string
	for _, u := range us {
		b = append(b, u.User+"@"+u.Domain)
	}
	return strings.Join(b, ",")
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, newUser(t, "alice", "example.com", "pw")); err != nil {
		t.Fatal(err)
	}
	v1, _ := s.Version(ctx)
	s.Close()

	s = open(t, dir)
	if u, err := s.User(ctx, "alice", "example.com"); err != nil || u.HA1MD5 != store.HA1("MD5", "alice", "example.com", "pw") {
		t.Fatalf("after reopen: %+v, %v", u, err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != SchemaVersion {
		t.Fatalf("schema version %d, %v", v, err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || int64(n) != SchemaVersion {
		t.Fatalf("%d rows in schema_migrations (%v), want one per migration", n, err)
	}
	if v, _ := s.Version(ctx); v != v1 {
		t.Fatalf("Version %d after reopen, was %d", v, v1)
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v", mode, err)
	}
	var fk int
	if err := s.db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys %d, %v", fk, err)
	}
	// The foreign key stands behind the checks of PutUser.
	_, err = s.db.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES ('x', 'nowhere.example', 'r', ?, ?, 't', 't')`,
		strings.Repeat("0", 32), strings.Repeat("0", 64))
	if err == nil {
		t.Fatal("a user of a missing domain was inserted: foreign keys are off")
	}
}

// rawDB opens path without the store, to set up what a test needs.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()

	t.Run("future schema refused", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		s.Close()
		db := rawDB(t, filepath.Join(dir, FileName))
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied) VALUES (?, 'later')`, SchemaVersion+1); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := Open(ctx, dir)
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
		}
		if !strings.Contains(err.Error(), FileName) {
			t.Fatalf("error %q does not name the file", err)
		}
	})

	t.Run("older schema brought up to date", func(t *testing.T) {
		// A database with the migrations table and nothing applied yet.
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		db := rawDB(t, path)
		if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL, applied TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		s := open(t, dir)
		if v, err := s.SchemaVersion(ctx); err != nil || v != SchemaVersion {
			t.Fatalf("schema version %d, %v", v, err)
		}
		if err := s.AddDomain(ctx, "example.com"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a failed migration leaves nothing", func(t *testing.T) {
		// A table in the way makes migration 1 fail; its transaction
		// must leave no schema_migrations row and no half schema.
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		db := rawDB(t, path)
		if _, err := db.Exec(`CREATE TABLE users (x)`); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "migration 1") {
			t.Fatalf("Open: %v, want a migration 1 error", err)
		}
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name IN ('domains', 'schema_migrations', 'changes')`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d tables left behind (%v)", n, err)
		}
	})

	t.Run("not a database", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), []byte(strings.Repeat("not sqlite\n", 100)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, dir); err == nil {
			t.Fatal("Open of a text file succeeded")
		}
	})
}

func TestFileModes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data", "sub")
	s := open(t, dir)
	if err := s.AddDomain(ctx, "example.com"); err != nil { // makes the -wal file
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, FileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		fi, err := os.Stat(filepath.Join(dir, FileName+suffix))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s%s: mode %04o, open to other users", FileName, suffix, fi.Mode().Perm())
		}
	}
	s.Close()

	// A file other users may read is refused, naming the fix.
	if err := os.Chmod(filepath.Join(dir, FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Open of a 0644 database: %v", err)
	}
	// So is a directory in the file's place.
	other := t.TempDir()
	if err := os.Mkdir(filepath.Join(other, FileName), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, other); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Open with a directory in place of the file: %v", err)
	}
}

func TestPathWithOddCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars&=")
	s := open(t, dir)
	if err := s.AddDomain(context.Background(), "example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("database not where expected: %v", err)
	}
}

// TestTwoHandles is the CLI writing while the server runs: two handles on
// one file (as two processes would have) see each other's writes, and the
// change counter tells the reader that there is something to see.
func TestTwoHandles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	server := open(t, dir)
	cli := open(t, dir)

	v0, err := server.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := server.Version(ctx); v != v0 {
		t.Fatal("Version moved without a change")
	}
	steps := []func() error{
		func() error { return cli.AddDomain(ctx, "example.com") },
		func() error { return cli.PutUser(ctx, newUser(t, "alice", "example.com", "pw")) },
		func() error { return cli.PutUser(ctx, newUser(t, "alice", "example.com", "new")) },
		func() error { return cli.RemoveUser(ctx, "alice", "example.com") },
		func() error { return cli.RemoveDomain(ctx, "example.com") },
	}
	last := v0
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		v, err := server.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v <= last {
			t.Fatalf("step %d: Version %d, not above %d", i, v, last)
		}
		last = v
		if i == 1 {
			if _, err := server.User(ctx, "alice", "example.com"); err != nil {
				t.Fatalf("the other handle does not see the new user: %v", err)
			}
		}
	}
	// A failed write changes nothing.
	if err := cli.RemoveUser(ctx, "nobody", "example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if v, _ := server.Version(ctx); v != last {
		t.Fatalf("Version %d after a failed write, was %d", v, last)
	}
}

func TestWatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	server := open(t, dir)
	cli := open(t, dir)

	changed := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() {
		done <- store.Watch(ctx, server, 5*time.Millisecond, func() { changed <- struct{}{} }, func(err error) { t.Errorf("watch: %v", err) })
	}()
	select {
	case <-changed:
		t.Fatal("changed called with nothing changed")
	case <-time.After(50 * time.Millisecond):
	}
	if err := cli.AddDomain(context.Background(), "example.com"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("the change was not noticed")
	}
	if err := cli.PutUser(context.Background(), newUser(t, "alice", "example.com", "pw")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("the second change was not noticed")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch returned %v", err)
	}
}

func TestWatchReportsErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.Close() // every Version now fails
	var errs atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- store.Watch(ctx, s, time.Millisecond, func() { t.Error("changed on a closed store") }, func(error) { errs.Add(1) })
	}()
	deadline := time.Now().Add(5 * time.Second)
	for errs.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if errs.Load() < 3 {
		t.Fatalf("%d errors reported", errs.Load())
	}
}

func TestContext(t *testing.T) {
	s := open(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Domains(ctx); err == nil {
		t.Error("Domains with a cancelled context succeeded")
	}
	if err := s.AddDomain(ctx, "example.com"); err == nil {
		t.Error("AddDomain with a cancelled context succeeded")
	}
	if _, err := Open(ctx, t.TempDir()); err == nil {
		t.Error("Open with a cancelled context succeeded")
	}
}

// TestConcurrent runs writers and readers on two handles at once (under
// -race in make test): every write must land, none may fail with "database
// is locked", and the versions seen only grow.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	// Several first opens of one new file at once, as two processes
	// started together would do: one migrates, the others wait.
	handles := make([]*DB, 4)
	var wg sync.WaitGroup
	errs := make(chan error, len(handles))
	for i := range handles {
		wg.Go(func() {
			s, err := Open(ctx, dir)
			if err != nil {
				errs <- err
				return
			}
			handles[i] = s
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range handles {
		t.Cleanup(func() { s.Close() })
	}
	if err := handles[0].AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}

	const writers, perWriter = 4, 25
	fail := make(chan error, writers*perWriter+16)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := 0; r < 2; r++ {
		s := handles[len(handles)-1-r]
		readers.Go(func() {
			var last int64
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := s.Version(ctx)
				if err != nil {
					fail <- err
					return
				}
				if v < last {
					fail <- fmt.Errorf("Version went back from %d to %d", last, v)
					return
				}
				last = v
				if _, err := s.Users(ctx, "example.com"); err != nil {
					fail <- err
					return
				}
			}
		})
	}
	var w sync.WaitGroup
	for i := 0; i < writers; i++ {
		s := handles[i%2]
		w.Go(func() {
			for j := 0; j < perWriter; j++ {
				u, _ := store.NewUser(fmt.Sprintf("u%d-%d", i, j), "example.com", "", "pw")
				if err := s.PutUser(ctx, u); err != nil {
					fail <- err
					return
				}
			}
		})
	}
	w.Wait()
	close(stop)
	readers.Wait()
	close(fail)
	for err := range fail {
		t.Fatal(err)
	}
	us, err := handles[3].Users(ctx, "example.com")
	if err != nil || len(us) != writers*perWriter {
		t.Fatalf("%d users, %v; want %d", len(us), err, writers*perWriter)
	}
}
