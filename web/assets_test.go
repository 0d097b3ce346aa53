package web

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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
	// Built twice: a difference between the two builds is the build's
	// fault (not deterministic), not a stale web/assets.
	out, again := t.TempDir(), t.TempDir()
	command(ctx, t, src, node, "build.mjs", out)
	command(ctx, t, src, node, "build.mjs", again)
	if diff := compareDirs(t, out, again); diff != "" {
		t.Fatalf("two builds of webphone/ differ (the build is not deterministic): %s", diff)
	}
	if diff := compareDirs(t, out, "assets"); diff != "" {
		t.Fatalf("%s: run `make webphone` and commit web/assets with the source", diff)
	}
}

// compareDirs says how the files of dir b differ from those of a, ""
// when they are the same names with the same bytes.
func compareDirs(t *testing.T, a, b string) string {
	t.Helper()
	na, nb := files(t, a), files(t, b)
	if !slices.Equal(na, nb) {
		return fmt.Sprintf("the build makes %v, web/assets holds %v", na, nb)
	}
	var diffs []string
	for _, name := range na {
		x, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			diffs = append(diffs, fmt.Sprintf("%s (%d bytes built, %d there)", name, len(x), len(y)))
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	return "not the same bytes: " + strings.Join(diffs, ", ")
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
