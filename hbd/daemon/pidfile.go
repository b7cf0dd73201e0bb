package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hbdproject/hbd/hbd/ctl"
	"golang.org/x/sys/unix"
)

// writePidFile records our pid in dir, refusing when another live
// process owns the file (two daemons in one run directory would fight
// over the control socket and the resources).
func writePidFile(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("run directory: %w", err)
	}
	path := filepath.Join(dir, ctl.PidFileName)
	if b, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid != os.Getpid() && alive(pid) {
			return "", fmt.Errorf("hbd is already running with pid %d (%s)", pid, path)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read pid file: %w", err)
	}
	if err := writeFileAtomic(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write pid file: %w", err)
	}
	return path, nil
}

// alive tells whether pid is a running process (EPERM means it exists).
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// ReadPid returns the pid recorded in dir's pid file, if that process runs.
func ReadPid(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, ctl.PidFileName))
	if err != nil {
		return 0, fmt.Errorf("hbd is not running: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("pid file %s: %w", filepath.Join(dir, ctl.PidFileName), err)
	}
	if !alive(pid) {
		return 0, fmt.Errorf("hbd is not running (stale pid %d)", pid)
	}
	return pid, nil
}
