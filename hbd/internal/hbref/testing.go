//go:build linux

package hbref

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// Need skips the test, with the reason, unless real Heartbeat nodes can run
// here: what netlab.Skip needs, plus Debian's heartbeat package — which it
// installs with .ci/test-deps.sh when it is missing and we are root. Where
// these tests must run (CI, see testenv.Required), a missing package or a
// failed install fails the test instead.
func Need(t testing.TB) {
	t.Helper()
	netlab.Skip(t)
	if Installed() {
		return
	}
	script, err := findScript()
	if err != nil {
		testenv.Skip(t, "hbref: %v; %v", ErrNotInstalled, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, script).CombinedOutput()
	if err != nil {
		testenv.Skip(t, "hbref: %s failed (%v): %s", script, err, out)
	}
	if !Installed() {
		testenv.Skip(t, "hbref: heartbeat still missing after %s: %s", script, out)
	}
	t.Logf("hbref: installed test dependencies in %v: %s", time.Since(start).Round(time.Second), out)
}

// findScript finds .ci/test-deps.sh above the working directory (go
// test runs in the package's directory).
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 20 {
		p := filepath.Join(dir, ".ci", "test-deps.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New(".ci/test-deps.sh not found above the working directory")
}
