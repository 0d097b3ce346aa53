package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIncludeNested(t *testing.T) {
	c, err := Load("testdata/include/main.config", []string{"--TCPPort=5072"})
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != slog.LevelDebug {
		t.Errorf("LogLevel = %v", c.LogLevel)
	}
	for key, want := range map[string]string{
		"loglevel": "testdata/include/sub/two.config:1: LogLevel",
		"UDPPort":  "testdata/include/main.config:3: UDPPort",
		"TCPPort":  "command line: TCPPort",
	} {
		if p, ok := c.Where(key); !ok || p.String() != want {
			t.Errorf("Where(%s) = %v, %v; want %s", key, p, ok, want)
		}
	}
	if _, ok := c.Where("WSPort"); ok {
		t.Error("Where(WSPort) reports a default as set")
	}
	if got := c.Listeners[2].Addr.Port(); got != 5072 {
		t.Errorf("TCP port = %d, want the override's 5072", got)
	}
}

func TestIncludeErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{"testdata/include/cycle/a.config", "testdata/include/cycle/b.config:2: Include: include cycle: a.config -> b.config -> a.config"},
		{"testdata/include/missing.config", "testdata/include/missing.config:2: Include: cannot read testdata/include/nope.config: no such file or directory"},
		{"testdata/include/dup.config", "testdata/include/dup.config:2: LogLevel: duplicate key (first set at testdata/include/sub/two.config:1)"},
		{"testdata/include/dir.config", "testdata/include/dir.config:1: Include: cannot read testdata/include/sub: not a regular file"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			_, err := Load(tt.file, nil)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
	if got := errText(t, "Include =\n"); got != "t.config:1: Include: no file named" {
		t.Errorf("empty Include: %s", got)
	}
}

// writeChain writes n files, each including the next, and returns the first.
func writeChain(t *testing.T, n int) string {
	dir := t.TempDir()
	for i := range n {
		text := "# level " + fmt.Sprint(i) + "\n"
		if i+1 < n {
			text += fmt.Sprintf("Include = f%d.config\n", i+1)
		} else {
			text += "UDPPort = 5999\n"
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.config", i)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "f0.config")
}

func TestIncludeDepth(t *testing.T) {
	// The top file and 8 levels of nesting below it load.
	c, err := Load(writeChain(t, 9), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := c.Where("UDPPort"); filepath.Base(p.File) != "f8.config" {
		t.Errorf("UDPPort set at %v", p)
	}
	// A ninth level does not.
	top := writeChain(t, 10)
	_, err = Load(top, nil)
	want := filepath.Join(filepath.Dir(top), "f8.config") + ":2: Include: includes nested deeper than 8"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestIncludeFileCount(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	for i := range maxFiles {
		name := fmt.Sprintf("r%d.config", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("# empty\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		sb.WriteString("Include = " + name + "\n")
	}
	top := filepath.Join(dir, "top.config")
	_, err := Parse(top, []byte(sb.String()), nil)
	want := fmt.Sprintf("%s:%d: Include: more than %d files in all", top, maxFiles, maxFiles)
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
