package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestRefusal: a start CheckDirs refuses is a FilesError (hbd run exits
// 6, not retried) unless every error is a directory this process may not
// write (a file system still read-only at boot: exit 1, retried); the
// message has every error, on one line.
func TestRefusal(t *testing.T) {
	readOnly := notWritable{fmt.Errorf("state directory /var/lib/heartbeat is not writable: %w", unix.EROFS)}
	garbled := errors.New("hb_uuid: 3 bytes, want a 16-byte node uuid (remove it to make a new one)")
	ioErr := fmt.Errorf("state directory /var/lib/heartbeat: %w", &fs.PathError{Op: "stat", Path: "/var/lib/heartbeat", Err: unix.EIO})
	stale := fmt.Errorf("read settings: %w", &fs.PathError{Op: "open", Path: "/var/lib/heartbeat/hbd_settings", Err: unix.ESTALE})
	notDir := fmt.Errorf("read peer generations: %w", &fs.PathError{Op: "open", Path: "/var/lib/heartbeat/x", Err: unix.ENOTDIR})
	for _, tc := range []struct {
		name  string
		errs  []error
		files bool
	}{
		{"a directory not writable", []error{readOnly}, false},
		{"two not writable", []error{readOnly, readOnly}, false},
		{"a state file garbled", []error{garbled}, true},
		{"both", []error{readOnly, garbled}, true},
		{"an I/O error", []error{ioErr}, false},
		{"a stale mount and a directory not writable", []error{stale, readOnly}, false},
		{"an I/O error and a state file garbled", []error{ioErr, garbled}, true},
		{"a file where a directory should be", []error{notDir}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := refusal(tc.errs)
			var fe *FilesError
			if errors.As(err, &fe) != tc.files {
				t.Errorf("refusal(%v) = %#v, FilesError %v, want %v", tc.errs, err, !tc.files, tc.files)
			}
			for _, e := range tc.errs {
				if !strings.Contains(err.Error(), e.Error()) {
					t.Errorf("%q lacks %q", err, e)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("%q is more than one line", err)
			}
		})
	}
}

// TestNotWritableDirMayPass: a run or state directory this process may
// not write is the machine's state (exit 1, retried) however the kernel
// says so: access(2) refusing a directory that exists, or stat(2)
// refusing the way to one (a parent it may not search). As root, who
// may write anywhere, the checks run as nobody.
func TestNotWritableDirMayPass(t *testing.T) {
	if testenv.InChild(t) {
		for _, dir := range strings.Split(os.Getenv("DIRS"), ":") {
			err := checkWritableDir("run directory", dir)
			if err == nil {
				t.Errorf("uid %d: %s passes as writable", os.Getuid(), dir)
				continue
			}
			if !errors.Is(err, fs.ErrPermission) {
				t.Errorf("%s: %v, want permission denied", dir, err)
			}
			if !mayPass(err) {
				t.Errorf("%s: %v is a FilesError (exit 6), want one that may pass (exit 1)", dir, err)
			}
		}
		return
	}
	testenv.NeedRoot(t, "to run the checks as nobody")
	top := t.TempDir()
	testenv.OpenToAll(t, top)
	readOnly := filepath.Join(top, "read-only") // 0755 root's: not writable
	locked := filepath.Join(top, "locked")      // 0700 root's: not searchable
	must(t, os.Mkdir(readOnly, 0o755))
	must(t, os.Mkdir(locked, 0o700))
	dirs := []string{
		readOnly,                             // access(2): EACCES
		filepath.Join(readOnly, "heartbeat"), // to be created in it: access(2)
		filepath.Join(locked, "heartbeat"),   // stat(2): EACCES
	}
	if out, err := testenv.RunAs(t, testenv.Nobody, testenv.Nobody, "DIRS="+strings.Join(dirs, ":")); err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}

// TestFilesRefusals: each refusal FilesRefusals names (what `hbd run -h`
// and the docs say exits 6) is one: made here, the start refuses it with
// a FilesError.
func TestFilesRefusals(t *testing.T) {
	cfg, diags := config.Load(testenv.WriteConfigDir(t, reloadFiles), reloadLoad)
	if cfg == nil {
		t.Fatalf("the configuration does not load: %v", diags)
	}
	// checkDirs is the start's refusal by CheckDirs, nil when none.
	checkDirs := func(runDir, stateDir string) error {
		if errs, _ := CheckDirs(runDir, stateDir, cfg); len(errs) > 0 {
			return refusal(errs)
		}
		return nil
	}
	cases := map[string]func(t *testing.T) error{
		"a state file that cannot be read back": func(t *testing.T) error {
			state := t.TempDir()
			must(t, os.WriteFile(filepath.Join(state, uuidFile), []byte("abc"), 0o600))
			return checkDirs(t.TempDir(), state)
		},
		"a pid or lock file that is not a file": func(t *testing.T) error {
			run := t.TempDir()
			must(t, os.Mkdir(filepath.Join(run, ctl.PidFileName), 0o755))
			return checkDirs(run, t.TempDir())
		},
		"a file where a directory should be": func(t *testing.T) error {
			file := filepath.Join(t.TempDir(), "run")
			must(t, os.WriteFile(file, nil, 0o600))
			return checkDirs(filepath.Join(file, "heartbeat"), t.TempDir())
		},
		"a run directory too long for the control socket's path": func(t *testing.T) error {
			return checkDirs(filepath.Join(t.TempDir(), strings.Repeat("r", maxSocketPath)), t.TempDir())
		},
		"a scripts directory not owned by root or writable by others": func(t *testing.T) error {
			run := t.TempDir()
			scripts := filepath.Join(run, ScriptsDirName)
			must(t, os.Mkdir(scripts, 0o700))
			must(t, os.Chmod(scripts, 0o777))
			lg, _ := testLogger()
			d := &Daemon{opts: Options{RunDir: run}, log: &logging.Logger{Logger: lg}}
			return d.killLeftovers()
		},
	}
	for _, r := range FilesRefusals() {
		t.Run(r, func(t *testing.T) {
			mk, ok := cases[r]
			if !ok {
				t.Fatalf("FilesRefusals names %q, which this test does not make", r)
			}
			err := mk(t)
			var fe *FilesError
			if !errors.As(err, &fe) {
				t.Errorf("refused with %#v, want a FilesError (exit 6)", err)
			}
		})
		delete(cases, r)
	}
	for r := range cases {
		t.Errorf("this test makes %q, which FilesRefusals does not name", r)
	}
}
