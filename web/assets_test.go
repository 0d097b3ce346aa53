package web

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/testnet"
)

// TestAssetsUpToDate: the committed web/assets are byte for byte what
// webphone/build.mjs makes of webphone/src with the pinned esbuild and
// JsSIP (esbuild's output is deterministic for a given version and
// input). When it fails, run `make webphone` and commit web/assets with
// the source. It installs webphone/node_modules (npm ci) when missing;
// without node and npm it is skipped, except in CI.
func TestAssetsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bundle with node")
	}
	node := testnet.NeedTool(t, "node", "builds webphone/ with esbuild")
	npm := testnet.NeedTool(t, "npm", "installs webphone/node_modules from package-lock.json")
	src, err := filepath.Abs(filepath.Join("..", "webphone"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join(src, "node_modules", "esbuild")); err != nil {
		t.Log("webphone/node_modules is missing: npm ci")
		command(ctx, t, src, npm, "ci", "--no-audit", "--no-fund")
	}
	out := t.TempDir()
	command(ctx, t, src, node, "build.mjs", out)

	built, committed := files(t, out), files(t, "assets")
	if !slices.Equal(built, committed) {
		t.Fatalf("web/assets holds %v, the build makes %v: run `make webphone` and commit web/assets", committed, built)
	}
	for _, name := range built {
		a, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join("assets", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("web/assets/%s (%d bytes) is not what webphone/ builds (%d bytes): run `make webphone` and commit it", name, len(b), len(a))
		}
	}
}

// files lists the regular files under dir, as slash paths relative to it,
// sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// command runs name in dir and fails the test with its output when it
// does not exit 0.
func command(ctx context.Context, t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v in %s: %v\n%s", filepath.Base(name), args, dir, err, out)
	}
}
