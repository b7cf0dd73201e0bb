// Package testenv is what tests across the tree share about the machine
// they run on: a skip for a missing prerequisite (root, network
// namespaces, a tool, Heartbeat, keepalived) that turns into a failure
// where those tests must run, and a way to run a test again as an
// unprivileged user.
//
// CI runs as root with every prerequisite installed (.ci/test-deps.sh):
// there a skip would hide a test that never ran behind a green build. With
// CI=true (as .ci/run sets it) or HBD_REQUIRE_ROOT_TESTS=1, Skip fails
// the test instead.
package testenv

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Required reports whether tests that need root, namespaces or installed
// daemons must run here: CI=true or HBD_REQUIRE_ROOT_TESTS=1.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("HBD_REQUIRE_ROOT_TESTS") == "1"
}

// Skip ends the test because something it needs is missing here: a skip
// with the reason, or a failure when Required.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (this test must run here: CI=true or HBD_REQUIRE_ROOT_TESTS=1)", reason)
		return
	}
	t.Skip(reason)
}

// NeedRoot skips (or fails, see Skip) the test unless it runs as root;
// why says what root is needed for.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root (%s)", why)
	}
}

// NeedCommands skips (or fails, see Skip) the test unless every command
// is on PATH.
func NeedCommands(t testing.TB, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			Skip(t, "%s is not installed (run .ci/test-deps.sh as root)", c)
		}
	}
}

// childEnv names, in a child started by RunAs, the test it is to run.
const childEnv = "HBD_TESTENV_CHILD"

// Nobody is the unprivileged uid and gid RunAs uses in tests.
const Nobody = 65534

// InChild reports whether this process is the child RunAs started for t
// or for one of its subtests: the test then does its unprivileged part
// (and skips what only the parent does, such as NeedRoot).
func InChild(t testing.TB) bool {
	c := os.Getenv(childEnv)
	return c != "" && (c == t.Name() || strings.HasPrefix(c, t.Name()+"/"))
}

// RunAs runs test t again in a child process of the test binary with the
// given uid and gid, no supplementary groups and no capabilities, with env
// added to its environment, and returns the child's output (its -test.v
// log) and error. The caller must be root; the test binary is copied where
// the user can run it. In the child, InChild(t) is true.
func RunAs(t *testing.T, uid, gid uint32, env ...string) ([]byte, error) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if uid == 0 {
		// root owns t.TempDir's parents and may search them whatever
		// their mode: only the two private directories are opened.
		openDirs(t, dir)
	} else {
		OpenToAll(t, dir)
	}
	bin := filepath.Join(dir, filepath.Base(self))
	if err := copyExecutable(self, bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+regexpQuote(t.Name())+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	// A child built with -race would sleep a second before it exits.
	gorace := "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
	cmd.Env = append(append(os.Environ(), childEnv+"="+t.Name(), gorace), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err == nil && !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		err = fmt.Errorf("the test did not run in the child")
	}
	return out, err
}

// OpenToAll makes dir and its parent directory (t.TempDir makes both
// private) searchable and readable by every user. A directory above them
// that other users may not search (a TMPDIR of mode 0700, under /root)
// keeps them out all the same: the test is skipped (see Skip), naming it,
// rather than run as another user who would be refused for that reason
// instead of the one under test.
func OpenToAll(t testing.TB, dir string) {
	t.Helper()
	openDirs(t, dir)
	for d := filepath.Dir(filepath.Dir(dir)); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			Skip(t, "%s (mode %v) is not searchable by other users, so none reaches %s: set TMPDIR to a directory they may search, such as /tmp", d, fi.Mode().Perm(), dir)
			return
		}
		if d == filepath.Dir(d) {
			return
		}
	}
}

// openDirs makes dir and its parent directory searchable and readable
// by every user.
func openDirs(t testing.TB, dir string) {
	t.Helper()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// regexpQuote quotes a test name for -test.run, whose pattern is split
// at slashes (subtests) before each part is matched.
func regexpQuote(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		var b strings.Builder
		for _, r := range p {
			if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, "$/^")
}

// WriteExecutable writes data to the file path (made, or emptied first)
// with exactly mode whatever the umask (another goroutine may have set it
// for the whole process), for a test to run it. The file is open for
// writing under syscall.ForkLock held for reading, which every fork of
// this process waits for: a program started meanwhile (by a test running
// in parallel) would otherwise inherit the descriptor until its own exec
// closed it, and an exec of the file would fail with "text file busy"
// (https://github.com/golang/go/issues/22315).
func WriteExecutable(path string, data []byte, mode os.FileMode) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyExecutable copies the executable from to the new file to, mode 0755
// whatever the umask, open for writing under syscall.ForkLock as
// WriteExecutable's file is.
func copyExecutable(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("copy test binary: %w", err)
	}
	defer in.Close()
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return fmt.Errorf("copy test binary: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(0o755)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy test binary: %w", err)
	}
	return nil
}
