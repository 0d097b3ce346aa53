package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Bounds on what the reader accepts.
const (
	maxFileSize     = 1 << 20 // bytes per file
	maxLineLen      = 8 << 10 // bytes per line
	maxIncludeDepth = 8       // nested Include levels below the top file
	maxFiles        = 64      // files read in all, the top one included
	maxErrors       = 100     // errors reported before giving up
)

// commandLine is the File of positions that come from overrides.
const commandLine = "command line"

// entry is one Key = value as read, under its canonical key.
type entry struct {
	ref   keyRef
	value string
	pos   Pos
	seq   int  // order of reading, to name the first key of a block
	bad   bool // the value was refused already: count the key as set, but say nothing more about it
}

// reader collects entries and errors from the files and the overrides.
type reader struct {
	entries map[string]*entry // lower-case canonical key
	errs    []*Error
	full    bool // maxErrors reached
	files   int
	seq     int
	order   map[string]int // file name -> order of first reading, to sort errors
}

func newReader() *reader {
	return &reader{entries: make(map[string]*entry), order: make(map[string]int)}
}

// fail records an error unless too many have been seen already.
func (r *reader) fail(file string, line int, key, format string, args ...any) {
	if r.full {
		return
	}
	if len(r.errs) == maxErrors {
		r.errs = append(r.errs, &Error{File: file, Line: line, Msg: "too many errors; stopping here"})
		r.full = true
		return
	}
	r.errs = append(r.errs, &Error{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// readFile reads at most maxFileSize bytes of path. Included files must be
// regular files, so that an Include of a FIFO or a device cannot block or run
// forever; the top file may be anything readable (e.g. a shell's <(...)).
func readFile(path string, regularOnly bool) ([]byte, error) {
	if regularOnly {
		st, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if !st.Mode().IsRegular() {
			return nil, &fs.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// ioMessage renders a file error. With the path: "cannot read sub.config:
// no such file or directory"; without (when the error's File names it):
// "cannot read: no such file or directory".
func ioMessage(err error, withPath bool) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if withPath {
			return "cannot read " + pe.Path + ": " + pe.Err.Error()
		}
		return "cannot read: " + pe.Err.Error()
	}
	return err.Error()
}

// file reads the lines of one file; chain holds the absolute paths of the
// files that include it, outermost first, for cycle detection.
func (r *reader) file(name string, text []byte, chain []string) {
	r.files++
	if _, ok := r.order[name]; !ok {
		r.order[name] = len(r.order)
	}
	if len(text) > maxFileSize {
		r.fail(name, 0, "", "file is larger than 1 MiB")
		return
	}
	text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf"))
	for lineNo := 1; len(text) > 0 && !r.full; lineNo++ {
		var line []byte
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, nil
		}
		if len(line) > maxLineLen {
			r.fail(name, lineNo, "", "line is longer than 8 KiB")
			continue
		}
		r.line(name, lineNo, string(line), chain)
	}
}

// line handles one line of a file.
func (r *reader) line(name string, lineNo int, line string, chain []string) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return
	}
	eq := strings.IndexByte(line, '=')
	if eq < 0 {
		r.fail(name, lineNo, "", "%s is not a setting: want Key = value", quoteItem(line))
		return
	}
	key, value := strings.TrimSpace(line[:eq]), strings.TrimSpace(line[eq+1:])
	ref, ok := r.key(name, lineNo, key)
	if !ok {
		return
	}
	if ref.name == "Include" {
		r.include(name, lineNo, value, chain)
		return
	}
	low := strings.ToLower(ref.name)
	if prev, dup := r.entries[low]; dup {
		r.fail(name, lineNo, ref.name, "duplicate key (first set at %s:%d)", prev.pos.File, prev.pos.Line)
		return
	}
	ok = r.checkValue(name, lineNo, ref, value)
	r.seq++
	r.entries[low] = &entry{ref: ref, value: value, pos: Pos{File: name, Line: lineNo, Key: ref.name}, seq: r.seq, bad: !ok}
}

// key checks the shape of key and resolves it, reporting any problem.
func (r *reader) key(file string, line int, key string) (keyRef, bool) {
	if key == "" {
		r.fail(file, line, "", "no key before \"=\"")
		return keyRef{}, false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			r.fail(file, line, "", "%s is not a key: keys are letters and digits", quoteItem(key))
			return keyRef{}, false
		}
	}
	ref, msg := resolve(key)
	if msg != "" {
		name := ref.name
		if len(name) > maxSuggestLen {
			name = name[:maxSuggestLen] + "..."
		}
		r.fail(file, line, name, "%s", msg)
		return keyRef{}, false
	}
	return ref, true
}

// checkValue refuses a trailing comment: repro treats only whole lines as
// comments, so "UDPPort = 5060 # sip" would make the comment part of the
// value. Rather than keep it silently (or guess), sipedge says so. A regular
// expression that needs " #" can write it as "[ ]#".
func (r *reader) checkValue(file string, line int, ref keyRef, value string) bool {
	if i := strings.IndexByte(value, '#'); i > 0 && (value[i-1] == ' ' || value[i-1] == '\t') {
		r.fail(file, line, ref.name, "\"#\" after a value: comments go on a line of their own")
		return false
	}
	return true
}

// include reads the file named by an Include line, relative to the
// including file's directory.
func (r *reader) include(name string, lineNo int, value string, chain []string) {
	if value == "" {
		r.fail(name, lineNo, "Include", "no file named")
		return
	}
	path := value
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(name), path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		r.fail(name, lineNo, "Include", "%s: %v", path, err)
		return
	}
	for i, c := range chain {
		if c == abs {
			cycle := make([]string, 0, len(chain)-i+1)
			for _, p := range chain[i:] {
				cycle = append(cycle, filepath.Base(p))
			}
			cycle = append(cycle, filepath.Base(abs))
			r.fail(name, lineNo, "Include", "include cycle: %s", strings.Join(cycle, " -> "))
			return
		}
	}
	if len(chain) > maxIncludeDepth {
		r.fail(name, lineNo, "Include", "includes nested deeper than %d", maxIncludeDepth)
		return
	}
	if r.files >= maxFiles {
		r.fail(name, lineNo, "Include", "more than %d files in all", maxFiles)
		return
	}
	text, err := readFile(path, true)
	if err != nil {
		r.fail(name, lineNo, "Include", "%s", ioMessage(err, true))
		return
	}
	r.file(path, text, append(chain[:len(chain):len(chain)], abs))
}

// override applies one command-line item, "--Key=value" or "Key=value". It
// replaces the file's value; the same key twice on the command line is an error.
func (r *reader) override(item string, seen map[string]bool) {
	s := strings.TrimPrefix(item, "--")
	eq := strings.IndexByte(s, '=')
	if eq < 0 {
		r.fail(commandLine, 0, "", "%s is not a setting: want --Key=value", quoteItem(item))
		return
	}
	key, value := strings.TrimSpace(s[:eq]), strings.TrimSpace(s[eq+1:])
	if len(s) > maxLineLen {
		r.fail(commandLine, 0, "", "%s is longer than 8 KiB", quoteItem(item))
		return
	}
	ref, ok := r.key(commandLine, 0, key)
	if !ok {
		return
	}
	if ref.name == "Include" {
		r.fail(commandLine, 0, "Include", "not allowed on the command line: give the file with -c")
		return
	}
	low := strings.ToLower(ref.name)
	if seen[low] {
		r.fail(commandLine, 0, ref.name, "given twice on the command line")
		return
	}
	seen[low] = true
	seq := r.seq + 1
	if prev, ok := r.entries[low]; ok {
		seq = prev.seq // keep its place in a block
	} else {
		r.seq++
	}
	ok = r.checkValue(commandLine, 0, ref, value)
	r.entries[low] = &entry{ref: ref, value: value, pos: Pos{File: commandLine, Key: ref.name}, seq: seq, bad: !ok}
}

// sorted returns the errors in reading order: by file in the order the
// files were first read, then by line, the command line last. The sort is
// stable, so errors on one line keep the order they were found in.
func (r *reader) sorted() []error {
	rank := func(e *Error) int {
		if o, ok := r.order[e.File]; ok {
			return o
		}
		return len(r.order)
	}
	slices.SortStableFunc(r.errs, func(a, b *Error) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
	})
	out := make([]error, len(r.errs))
	for i, e := range r.errs {
		out[i] = e
	}
	return out
}

// quoteShort quotes s for a message, cut to a readable length.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
