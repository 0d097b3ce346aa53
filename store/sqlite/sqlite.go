// Package sqlite is the embedded store.Store: one SQLite file, by default
// <DataDirectory>/sipedge.db, through modernc.org/sqlite (pure Go, no cgo).
//
// The file is created with mode 0600 in a directory made with mode 0700, and
// a file that other users may read or write is refused (it holds HA1 values,
// which are as good as passwords for their realm). Connections use WAL mode
// (readers never wait for the writer), a busy timeout, foreign keys and
// immediate transactions, so that the sipedge user and domain commands can
// write while sipedge serve reads the same file.
//
// The schema is versioned: schema_migrations records each migration
// applied, and Open applies the missing ones, in order, in one transaction.
// A database whose schema is newer than this binary knows is refused.
//
// Changes are noticed through a counter: triggers on the users and domains
// tables raise changes.version with every row written, whoever writes it
// (this process, another one, or the sqlite3 shell), and Version reads it.
// SQLite's PRAGMA data_version was the other candidate; it is per
// connection, so it does not fit database/sql's pool, and PostgreSQL has no
// such thing, while a counter table works the same there.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/sipedge/sipedge/store"

	sqlite "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// FileName is the database's name in the data directory.
const FileName = "sipedge.db"

// BusyTimeout is how long a statement waits for another connection's or
// process's write lock before it fails.
const BusyTimeout = 5 * time.Second

// ErrSchemaTooNew: the database was migrated by a newer sipedge.
var ErrSchemaTooNew = errors.New("database schema is newer than this sipedge knows")

// migrations are the schema's steps, in order: migration i+1 is
// migrations[i]. Never edit one that has been released; append a new one.
var migrations = [][]string{
	// 1: domains, users and the change counter.
	{
		`CREATE TABLE domains (
			name    TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
			created TEXT NOT NULL
		)`,
		`CREATE TABLE users (
			username   TEXT NOT NULL CHECK (length(username) BETWEEN 1 AND 256),
			domain     TEXT NOT NULL REFERENCES domains (name) ON DELETE RESTRICT,
			realm      TEXT NOT NULL CHECK (length(realm) BETWEEN 1 AND 256),
			ha1_md5    TEXT NOT NULL CHECK (length(ha1_md5) = 32),
			ha1_sha256 TEXT NOT NULL CHECK (length(ha1_sha256) = 64),
			created    TEXT NOT NULL,
			updated    TEXT NOT NULL,
			PRIMARY KEY (domain, username)
		)`,
		`CREATE TABLE changes (
			id      INTEGER PRIMARY KEY CHECK (id = 1),
			version INTEGER NOT NULL
		)`,
		`INSERT INTO changes (id, version) VALUES (1, 0)`,
		`CREATE TRIGGER users_insert AFTER INSERT ON users BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END`,
		`CREATE TRIGGER users_update AFTER UPDATE ON users BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END`,
		`CREATE TRIGGER users_delete AFTER DELETE ON users BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END`,
		`CREATE TRIGGER domains_insert AFTER INSERT ON domains BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END`,
		`CREATE TRIGGER domains_update AFTER UPDATE ON domains BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END`,
		`CREATE TRIGGER domains_delete AFTER DELETE ON domains BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END`,
	},
}

// SchemaVersion is the schema version this binary creates and expects.
var SchemaVersion = int64(len(migrations))

// DB is the SQLite store. It implements store.Store.
type DB struct {
	db   *sql.DB
	path string
}

var _ store.Store = (*DB)(nil)

// Open opens, creating it when missing, the store in the data directory dir
// (the file FileName), and brings its schema up to date.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: data directory: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dir, FileName))
}

// OpenFile opens the store in the file path, which must be in an existing
// directory; the file is created (mode 0600) when missing.
func OpenFile(ctx context.Context, path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := prepareFile(abs); err != nil {
		return nil, err
	}
	// A file: URI, so that any character of the path is escaped and SQLite
	// sees mode=rw: the file is ours to create, with our permissions.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	q := url.Values{}
	q.Set("mode", "rw")
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL") // durable enough in WAL mode, and much faster
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate") // writers queue at BEGIN, under the busy timeout
	u.RawQuery = q.Encode()
	// url.URL writes "file:///path"; SQLite takes that form.
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", abs, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(2)
	s := &DB{db: db, path: abs}
	if err := s.migrateRetrying(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", abs, err)
	}
	return s, nil
}

// migrateRetrying is migrate, tried again while the database is busy, for
// at most BusyTimeout. The busy timeout does not cover every case: when
// several connections open a new file at once (two processes started
// together), switching it to WAL can find another connection's lock in a
// way SQLite answers SQLITE_BUSY at once, without waiting, to avoid a
// deadlock.
func (s *DB) migrateRetrying(ctx context.Context) error {
	deadline := time.Now().Add(BusyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := s.migrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (or an extended code
// of it).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 5
}

// prepareFile creates path with mode 0600 when it does not exist, and
// refuses one that is not a regular file or that other users may use.
func prepareFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("store: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("store: %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return fmt.Errorf("store: %s: permissions %04o are too open (other users could read the users' HA1 values): chmod 600 it", path, perm)
	}
	return nil
}

// migrate applies the migrations the database lacks, in one immediate
// transaction (a second process opening a new file waits, then finds them
// applied).
func (s *DB) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY NOT NULL,
		applied TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("schema_migrations: %w", err)
	}
	var cur int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if cur > SchemaVersion {
		return fmt.Errorf("%w: version %d, this sipedge knows up to %d (use the sipedge that migrated it)", ErrSchemaTooNew, cur, SchemaVersion)
	}
	if cur == SchemaVersion {
		return nil
	}
	now := timeText(time.Now())
	for v := cur + 1; v <= SchemaVersion; v++ {
		for _, stmt := range migrations[v-1] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, v, now); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	return tx.Commit()
}

// Path returns the database file's absolute path.
func (s *DB) Path() string { return s.path }

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// SchemaVersion returns the schema version of the open database.
func (s *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// Version implements store.Store.
func (s *DB) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM changes WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: version: %w", err)
	}
	return v, nil
}

const userColumns = `username, domain, realm, ha1_md5, ha1_sha256, created, updated`

// User implements store.Store. A user part or domain that no store could
// hold (too long, malformed) is simply not found.
func (s *DB) User(ctx context.Context, user, domain string) (store.User, error) {
	if store.ValidUser(user) != nil || store.ValidDomain(domain) != nil {
		return store.User{}, store.ErrNotFound
	}
	row := s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE domain = ? AND username = ?`, domain, user)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("store: user %s@%s: %w", user, domain, err)
	}
	return u, nil
}

// Users implements store.Store.
func (s *DB) Users(ctx context.Context, domain string) ([]store.User, error) {
	var rows *sql.Rows
	var err error
	if domain == "" {
		rows, err = s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY domain, username`)
	} else {
		if err := store.ValidDomain(domain); err != nil {
			return nil, err
		}
		rows, err = s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE domain = ? ORDER BY username`, domain)
	}
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return out, nil
}

// PutUser implements store.Store.
func (s *DB) PutUser(ctx context.Context, u store.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM domains WHERE name = ?`, u.Domain).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", store.ErrNoDomain, u.Domain)
		}
		if err != nil {
			return err
		}
		now := time.Now()
		created := u.Created
		if created.IsZero() {
			created = now
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (domain, username) DO UPDATE SET
				realm = excluded.realm, ha1_md5 = excluded.ha1_md5,
				ha1_sha256 = excluded.ha1_sha256, updated = excluded.updated`,
			u.User, u.Domain, u.Realm, u.HA1MD5, u.HA1SHA256, timeText(created), timeText(now))
		return err
	})
}

// RemoveUser implements store.Store.
func (s *DB) RemoveUser(ctx context.Context, user, domain string) error {
	if store.ValidUser(user) != nil || store.ValidDomain(domain) != nil {
		return store.ErrNotFound
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		return deleted(tx.ExecContext(ctx, `DELETE FROM users WHERE domain = ? AND username = ?`, domain, user))
	})
}

// AddDomain implements store.Store.
func (s *DB) AddDomain(ctx context.Context, domain string) error {
	if err := store.ValidDomain(domain); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO domains (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
			domain, timeText(time.Now()))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("domain %s: %w", domain, store.ErrExists)
		}
		return nil
	})
}

// RemoveDomain implements store.Store.
func (s *DB) RemoveDomain(ctx context.Context, domain string) error {
	if store.ValidDomain(domain) != nil {
		return store.ErrNotFound
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE domain = ?`, domain).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s has %d", store.ErrDomainInUse, domain, n)
		}
		return deleted(tx.ExecContext(ctx, `DELETE FROM domains WHERE name = ?`, domain))
	})
}

// Domains implements store.Store.
func (s *DB) Domains(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM domains ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: domains: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("store: domains: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: domains: %w", err)
	}
	return out, nil
}

// write runs f in an immediate transaction and commits it. Errors that are
// the store package's own pass through as they are.
func (s *DB) write(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		if isStoreErr(err) {
			return err
		}
		return fmt.Errorf("store: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func isStoreErr(err error) bool {
	for _, e := range []error{store.ErrNotFound, store.ErrExists, store.ErrNoDomain, store.ErrDomainInUse, store.ErrInvalid} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// deleted turns a DELETE's result into ErrNotFound when it removed nothing.
func deleted(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

type scanner interface{ Scan(...any) error }

func scanUser(r scanner) (store.User, error) {
	var u store.User
	var created, updated string
	if err := r.Scan(&u.User, &u.Domain, &u.Realm, &u.HA1MD5, &u.HA1SHA256, &created, &updated); err != nil {
		return store.User{}, err
	}
	var err error
	if u.Created, err = time.Parse(timeFormat, created); err != nil {
		return store.User{}, fmt.Errorf("created of %s@%s: %w", u.User, u.Domain, err)
	}
	if u.Updated, err = time.Parse(timeFormat, updated); err != nil {
		return store.User{}, fmt.Errorf("updated of %s@%s: %w", u.User, u.Domain, err)
	}
	return u, nil
}

// timeFormat is how times are kept: RFC 3339 in UTC with nanoseconds,
// readable in the sqlite3 shell and ordered as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func timeText(t time.Time) string { return t.UTC().Format(timeFormat) }
