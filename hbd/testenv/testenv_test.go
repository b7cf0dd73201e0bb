package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// recorder is a testing.TB that records Skip and Fatalf instead of ending
// the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skip(args ...any)                  { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestSkipFailsWhereRequired(t *testing.T) {
	cases := []struct {
		ci, require string
		wantFail    bool
	}{
		{"", "", false},
		{"false", "0", false},
		{"true", "", true},
		{"", "1", true},
		{"1", "", false}, // only CI=true, as .ci/run and most CI systems set it
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("CI=%q,REQUIRE=%q", tc.ci, tc.require), func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			t.Setenv("HBD_REQUIRE_ROOT_TESTS", tc.require)
			var r recorder
			Skip(&r, "needs %s", "root")
			if tc.wantFail {
				if r.failed == "" || r.skipped != "" || !strings.Contains(r.failed, "needs root") {
					t.Errorf("want a failure naming the reason, got skip %q, fail %q", r.skipped, r.failed)
				}
				return
			}
			if r.skipped != "needs root" || r.failed != "" {
				t.Errorf("want a skip, got skip %q, fail %q", r.skipped, r.failed)
			}
		})
	}
}

func TestNeedCommands(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("HBD_REQUIRE_ROOT_TESTS", "")
	var r recorder
	NeedCommands(&r, "sh")
	if r.skipped != "" {
		t.Errorf("sh is there, got a skip: %s", r.skipped)
	}
	NeedCommands(&r, "hbd-no-such-command")
	if !strings.Contains(r.skipped, "hbd-no-such-command is not installed") {
		t.Errorf("want a skip naming the command, got %q", r.skipped)
	}
}

func TestRegexpQuote(t *testing.T) {
	for in, want := range map[string]string{
		"TestA":         "TestA",
		"TestA/b.c":     `TestA$/^b\.c`,
		"TestA/x_(1)/y": `TestA$/^x_\(1\)$/^y`,
	} {
		if got := regexpQuote(in); got != want {
			t.Errorf("regexpQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRunAs runs itself as nobody: the child has nobody's uid, cannot
// write into a directory root owns, and sees the environment given.
func TestRunAs(t *testing.T) {
	if InChild(t) {
		if os.Getuid() != Nobody || os.Getgid() != Nobody {
			t.Fatalf("child runs as uid %d gid %d, want %d", os.Getuid(), os.Getgid(), Nobody)
		}
		err := os.WriteFile(filepath.Join(os.Getenv("ROOTDIR"), "x"), nil, 0o644)
		if !os.IsPermission(err) {
			t.Fatalf("writing into root's directory: %v, want permission denied", err)
		}
		return
	}
	NeedRoot(t, "to run a process as another user")
	dir := t.TempDir()
	OpenToAll(t, dir)
	out, err := RunAs(t, Nobody, Nobody, "ROOTDIR="+dir)
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// TestOpenToAllNamesAClosedAncestor: a directory above the two OpenToAll
// opens that others may not search skips the test, naming it.
func TestOpenToAllNamesAClosedAncestor(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("HBD_REQUIRE_ROOT_TESTS", "")
	closed := filepath.Join(t.TempDir(), "closed")
	dir := filepath.Join(closed, "a", "b")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	var r recorder
	OpenToAll(&r, dir)
	if !strings.Contains(r.skipped, closed+" (mode -rwx------) is not searchable") {
		t.Errorf("want a skip naming %s, got skip %q, fail %q", closed, r.skipped, r.failed)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if fi, err := os.Stat(d); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, want 0755", d, fi.Mode().Perm())
		}
	}
}

// TestRunAsWhateverTheUmask: the child runs under a umask that takes
// every execute bit off the files the process creates (as a umask set
// for a moment by another goroutine of the test binary would).
func TestRunAsWhateverTheUmask(t *testing.T) {
	if InChild(t) {
		return
	}
	NeedRoot(t, "to run a process as another user")
	old := syscall.Umask(0o177)
	defer syscall.Umask(old)
	if out, err := RunAs(t, Nobody, Nobody); err != nil {
		t.Fatalf("child under umask 0177: %v\n%s", err, out)
	}
}

// TestRunAsInParallel: tests running in parallel each run a child; one
// test's copy of the binary is never held open by another's child
// (its exec would fail with "text file busy"). Without the fork lock in
// copyExecutable this failed in about one run in seven.
func TestRunAsInParallel(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if InChild(t) {
				return
			}
			NeedRoot(t, "to run a process as another user")
			t.Parallel()
			if out, err := RunAs(t, Nobody, Nobody); err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
		})
	}
}

// TestRunAsReportsFailure: a child that fails is an error for the parent.
func TestRunAsReportsFailure(t *testing.T) {
	if InChild(t) {
		t.Fatal("the child fails on purpose")
	}
	NeedRoot(t, "to run a process as another user")
	out, err := RunAs(t, Nobody, Nobody)
	if err == nil || !strings.Contains(string(out), "the child fails on purpose") {
		t.Fatalf("want the child's failure, got %v:\n%s", err, out)
	}
}
