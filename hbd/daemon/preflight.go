package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"golang.org/x/sys/unix"
)

// CheckDirs says what `hbd run` refuses about its run directory and,
// with the Heartbeat backend, its state directory, without writing in
// either: a directory that cannot be created or written, a pid file or
// state lock file that is not a file, a control socket path too long
// to bind, a state file it cannot read back (hb_uuid, hb_generation,
// the operator settings, the peers' generations). Run
// calls it before anything else, so that `hbd check`, which calls it
// too, refuses the same with the same words. A running hbd is no
// refusal here: check is run beside one, to see what a reload would do.
// warnings are what run would start with and log (settings dropped over
// the caps of the settings table).
func CheckDirs(runDir, stateDir string, cfg *config.Config) (errs []error, warnings []string) {
	if err := checkWritableDir("run directory", runDir); err != nil {
		errs = append(errs, err)
	} else if err := checkLockFile(pidFileWhat, filepath.Join(runDir, ctl.PidFileName)); err != nil {
		errs = append(errs, err)
	}
	if sock := filepath.Join(runDir, ctl.SocketName); len(sock) > maxSocketPath {
		errs = append(errs, fmt.Errorf("control socket %s: %d bytes, more than the %d a unix socket's path may have; use a shorter run directory", sock, len(sock), maxSocketPath))
	}
	if cfg.Backend == config.BackendEtcd {
		return errs, nil
	}
	if err := checkWritableDir("state directory", stateDir); err != nil {
		return append(errs, err), nil
	}
	if err := checkLockFile(stateLockWhat, filepath.Join(stateDir, StateLockName)); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := readIdentity(stateDir); err != nil {
		errs = append(errs, err)
	}
	if _, warning, err := LoadSettings(stateDir, cfg); err != nil {
		errs = append(errs, err)
	} else if warning != "" {
		warnings = append(warnings, warning)
	}
	if _, err := LoadPeerGenerations(stateDir); err != nil {
		errs = append(errs, err)
	}
	return errs, warnings
}

// checkLockFile: path, one of the files takePidFile locks (what names
// it), is a regular file or not there yet; a symbolic link is refused
// too (the lock opens it with O_NOFOLLOW).
func checkLockFile(what, path string) error {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s %s is a %s, not a file; remove it", what, path, kind(fi.Mode()))
	}
	return nil
}

// FilesError is a start refused by CheckDirs for what a file is or says
// (a state file it cannot read back, a pid or lock file that is not a
// file, a file where a directory should be, a run directory too long for
// the control socket's path): a retry meets it again, so `hbd run` exits
// with the status the service manager does not retry, as for an error
// in the configuration. A directory hbd may not write (a file system
// still mounted read-only at boot) and a file system that fails the call
// itself (EIO, a mount not up yet) may pass, and are no FilesError.
type FilesError struct{ Err error }

func (e *FilesError) Error() string { return e.Err.Error() }
func (e *FilesError) Unwrap() error { return e.Err }

// FilesRefusals says, in the words of `hbd run -h` and of the docs' tables
// of exit statuses, what the start refuses as a FilesError beside the
// configuration's own errors: a retry meets it again (exit status 6).
// TestFilesRefusals makes each one and sees it so refused; the docs'
// test holds the help and the docs to this list.
func FilesRefusals() []string {
	return []string{
		"a state file that cannot be read back",
		"a pid or lock file that is not a file",
		"a file where a directory should be",
		"a run directory too long for the control socket's path",
		"a scripts directory not owned by root or writable by others",
	}
}

// notWritable is checkWritableDir's refusal of a directory this process
// may not write in or create: the state of the machine, which may pass.
type notWritable struct{ error }

func (e notWritable) Unwrap() error { return e.error }

// refusal is the error of a start CheckDirs refused for errs: a
// FilesError unless every one may pass (mayPass). One line: the log
// writes an error with its newlines escaped.
func refusal(errs []error) error {
	msgs := make([]string, len(errs))
	pass := true
	for i, e := range errs {
		msgs[i] = e.Error()
		pass = pass && mayPass(e)
	}
	err := errors.New(strings.Join(msgs, "; "))
	if pass {
		return err
	}
	return &FilesError{Err: err}
}

// mayPass says whether err is the machine's state rather than what a
// file is or says: a directory this process may not write (notWritable),
// or a file system that failed the call itself (an I/O error, a network
// or fuse mount not up yet or gone stale, a call interrupted or short of
// memory), which a retry may not meet again.
func mayPass(err error) bool {
	var nw notWritable
	if errors.As(err, &nw) {
		return true
	}
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case unix.EIO, unix.ESTALE, unix.ENOTCONN, unix.ETIMEDOUT, unix.EHOSTDOWN, unix.EHOSTUNREACH,
		unix.ENODEV, unix.ENXIO, unix.EAGAIN, unix.EINTR, unix.ENOMEM, unix.ENFILE, unix.EMFILE:
		return true
	}
	return false
}

// maxSocketPath is the longest path a unix socket may be bound to on
// Linux (sun_path, 108 bytes with the terminating zero).
const maxSocketPath = 107

// checkWritableDir: dir is a directory this process may write in, or
// one it may create (its nearest existing parent is). One it may not
// write in, create or reach (permission denied by access(2) or on the
// way by stat(2), a read-only file system) is notWritable.
func checkWritableDir(what, dir string) error {
	for p := dir; ; {
		fi, err := os.Stat(p)
		switch {
		case err == nil && !fi.IsDir():
			return fmt.Errorf("%s %s: %s is not a directory", what, dir, p)
		case err == nil:
			if err := unix.Access(p, unix.W_OK|unix.X_OK); err != nil {
				if p == dir {
					return notWritable{fmt.Errorf("%s %s is not writable: %w", what, dir, err)}
				}
				return notWritable{fmt.Errorf("%s %s cannot be created: %s is not writable: %w", what, dir, p, err)}
			}
			return nil
		case errors.Is(err, fs.ErrPermission):
			// A directory on the way this process may not search: as
			// much the machine's state as one it may not write in.
			return notWritable{fmt.Errorf("%s %s cannot be reached: %w", what, dir, err)}
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("%s %s: %w", what, dir, err)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return nil
		}
		p = parent
	}
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	}
	return "special file"
}
